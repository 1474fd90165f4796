//! Session cookies and CSRF tokens.
//!
//! The cookie is `__Host-vistoria_sessao`: `Secure; HttpOnly; SameSite=Strict; Path=/`, no
//! `Domain` (the `__Host-` prefix makes the browser refuse it otherwise), holding 32 random
//! bytes. Only their SHA-256 is stored, so a copy of the database opens no session. Every
//! session carries its own synchronizer token, embedded in each form and compared on the server
//! for every POST (`super::require_session`). The login form, before any session, is protected
//! by a double-submit token: a random `__Host-vistoria_entrada` cookie that the form repeats.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use vistoria_core::hashing::sha256_hex;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "__Host-vistoria_sessao";
/// The login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "__Host-vistoria_entrada";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// A session ends after this long without a request.
pub const IDLE: chrono::Duration = chrono::Duration::minutes(30);
/// A session ends this long after login, however used (one working day).
pub const ABSOLUTE: chrono::Duration = chrono::Duration::hours(10);

/// 32 random bytes, base64url: a session id or a CSRF token.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a session id.
pub fn id_hash(id: &str) -> String {
    sha256_hex(id.as_bytes())
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` for `name` with the portal's attributes; `max_age` in seconds (0: delete).
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    let text =
        format!("{name}={value}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}");
    // Values are base64url or empty: always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether two tokens are equal, compared through their hashes so the time taken does not
/// depend on where they first differ.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && sha256_hex(expected.as_bytes()) == sha256_hex(given.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-vistoria_sessao=abc; x__Host-vistoria_entrada=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), None);
    }

    #[test]
    fn the_cookie_has_the_host_prefix_attributes() {
        let value = set_cookie(SESSION_COOKIE, "abc", 60);
        let text = value.to_str().unwrap_or_default();
        for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!text.contains("Domain"));
    }

    #[test]
    fn tokens_match_only_themselves() {
        let token = random_token();
        assert!(tokens_match(&token, &token));
        assert!(!tokens_match(&token, ""));
        assert!(!tokens_match("", ""));
        assert_ne!(random_token(), token);
    }
}
