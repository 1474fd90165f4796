//! `station rotate` and `station revoke`: a station's token replaced or cancelled while the
//! server may be running. The database changes first, then the token epoch file, which makes a
//! running server drop its token cache at its next request (see `api::admission`).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::api::admission::bump_token_epoch;
use crate::api::token_hash;
use crate::storage::MetadataStore;

fn unknown(code: &str) -> anyhow::Error {
    anyhow::anyhow!("estação «{code}» não cadastrada; veja `vistoria-central station add`")
}

/// Gives the station a new token and returns it; the old one is refused from now on.
pub fn rotate(meta: &dyn MetadataStore, data: &Path, code: &str) -> anyhow::Result<String> {
    let secret: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(secret);
    if !meta.set_station_token(code, &token_hash(&token))? {
        return Err(unknown(code));
    }
    bump_token_epoch(data)?;
    Ok(token)
}

/// Cancels the station's token; nothing it sends is accepted until `rotate` gives it another.
pub fn revoke(meta: &dyn MetadataStore, data: &Path, code: &str) -> anyhow::Result<()> {
    if !meta.revoke_station(code)? {
        return Err(unknown(code));
    }
    bump_token_epoch(data)?;
    Ok(())
}
