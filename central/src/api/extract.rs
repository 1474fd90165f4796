//! Request bodies: JSON with a size cap, the right content type, and errors that name the field.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use vistoria_core::wire::{ErrorCode, MAX_MANIFEST_BYTES};

use super::error::ApiError;

/// A JSON body of at most [`MAX_MANIFEST_BYTES`], sent as `application/json`, parsed to a value.
pub struct JsonValue(pub Value);

/// Whether the `Content-Type` is `expected` (parameters such as `charset` allowed).
pub fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// 415 saying what was expected.
pub fn wrong_content_type(expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UnsupportedMediaType,
        format!("tipo de conteúdo não suportado; envie Content-Type: {expected}"),
    )
}

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        if !has_content_type(req.headers(), "application/json") {
            return Err(wrong_content_type("application/json"));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_MANIFEST_BYTES)
            .await
            .map_err(|e| {
                if std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        ErrorCode::PayloadTooLarge,
                        format!("corpo JSON maior que o limite de {MAX_MANIFEST_BYTES} bytes"),
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::InvalidJson,
                        "corpo da requisição incompleto ou interrompido",
                    )
                }
            })?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidJson,
                format!(
                    "JSON inválido (linha {}, coluna {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Ok(JsonValue(value))
    }
}

/// Decodes a JSON value into `T`; a failure is a 400 naming the field (`files[2].sha256`).
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        if let Some(rest) = inner.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            let field = if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            };
            return ApiError::field(
                field.clone(),
                format!("campo obrigatório ausente: «{field}»"),
            );
        }
        let field = if path == "." {
            "(corpo)".to_owned()
        } else {
            path
        };
        ApiError::field(
            field.clone(),
            format!("valor inválido no campo «{field}»: {inner}"),
        )
    })
}
