//! The root-owned commands' view of the central's policies (§15): fetched again from the central
//! over the pinned TLS of the root-owned configuration and verified with the central's key.
//! Nothing the unprivileged kiosk wrote is trusted by a command that runs as root.

use std::path::Path;

use anyhow::Context;
use vistoria_core::central_client::{CentralClient, Endpoint};
use vistoria_core::config::Config;
use vistoria_core::policy::PolicyDocument;

/// The central's current policy of kind `T`, verified; `None` when it published none.
pub fn fetch_verified<T: PolicyDocument>(config_file: &Path) -> anyhow::Result<Option<T>> {
    let settings = Config::load(config_file)?;
    let client = CentralClient::new(&Endpoint {
        url: settings.central.url.clone(),
        token: settings.central.token.clone(),
        cert_sha256: settings.central.cert_sha256.clone(),
    })
    .context("configuração da central")?;
    let key = client
        .time()
        .context("consultando a central (chave de assinatura)")?
        .server_key;
    let label = T::KIND.label();
    let set = client
        .policies()
        .with_context(|| format!("consultando a {label} da central"))?;
    let Some(signed) = set.get(T::KIND) else {
        return Ok(None);
    };
    signed
        .verify::<T>(&key)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{label} recusada: {e}"))
}
