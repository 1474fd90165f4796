//! `serve`: opens the data folder, binds, announces the URL and certificate pin on stdout's
//! first line, and serves the API over TLS (or plain HTTP on loopback when asked).

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Longest a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

use crate::api::{self, AppState, Limits};
use crate::keys::ServerKey;
use crate::registry::Registry;
use crate::storage::files::FileBlobs;
use crate::storage::sqlite::SqliteMetadata;
use crate::storage::{BlobStore, MetadataStore};
use crate::tls::TlsIdentity;

/// What `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Data folder.
    pub data: PathBuf,
    /// Address to bind (port 0: any free port).
    pub addr: SocketAddr,
    /// Plain HTTP (loopback only).
    pub insecure_http: bool,
    /// Vehicle registry file; `None` for the built-in demo registry.
    pub registry: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
}

/// The default backends in a data folder: `DIR/central.sqlite` and `DIR/media/`.
pub fn open_storage(data: &Path) -> anyhow::Result<(Arc<dyn MetadataStore>, Arc<dyn BlobStore>)> {
    crate::fsutil::create_dir_durable(data)
        .with_context(|| format!("não foi possível criar a pasta de dados {}", data.display()))?;
    // Packages hold citizens' data: the folder is the server user's alone (issue 17).
    crate::fsutil::restrict_to_owner(data).with_context(|| {
        format!(
            "não foi possível restringir a pasta de dados {} ao usuário do servidor (chmod 700)",
            data.display()
        )
    })?;
    let meta = SqliteMetadata::open(&data.join("central.sqlite"))
        .context("não foi possível abrir o banco de dados")?;
    let blobs =
        FileBlobs::open(&data.join("media")).context("não foi possível abrir a pasta de mídia")?;
    Ok((Arc::new(meta), Arc::new(blobs)))
}

/// Where the server listens and how to pin it: the first line of stdout.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Announcement {
    /// Base URL with the real port.
    pub url: String,
    /// SHA-256 of the certificate's DER (hex); `None` for plain HTTP.
    pub cert_sha256: Option<String>,
}

/// Runs the server until interrupted, announcing itself on stdout's first line.
pub async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    serve_with(options, announce).await
}

/// Runs the server until interrupted; `ready` receives the announcement once it listens (an
/// embedding program, such as the kiosk's demo mode, takes it instead of stdout).
pub async fn serve_with(
    options: ServeOptions,
    ready: impl FnOnce(&Announcement) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if options.insecure_http && !options.addr.ip().is_loopback() {
        anyhow::bail!(
            "HTTP sem TLS só é permitido em endereço de loopback (127.0.0.1 ou ::1), não em {}",
            options.addr
        );
    }
    let (meta, blobs) = open_storage(&options.data)?;
    let key = ServerKey::load_or_create(&options.data.join("keys"))
        .context("não foi possível carregar a chave do servidor")?;
    let registry = Registry::load(options.registry.as_deref())
        .context("não foi possível carregar o cadastro de veículos")?;
    let state = AppState::new(meta, blobs, registry, key, options.limits.clone());
    let app = api::router(state);

    let listener = TcpListener::bind(options.addr)
        .with_context(|| format!("não foi possível escutar em {}", options.addr))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("encerrando");
            shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        }
    });

    let service = app.into_make_service();
    if options.insecure_http {
        ready(&Announcement {
            url: format!("http://{local}"),
            cert_sha256: None,
        })?;
        tracing::warn!(%local, "servindo HTTP sem TLS (somente loopback)");
        let mut server = axum_server::from_tcp(listener).handle(handle);
        limit_header_time(server.http_builder());
        server.serve(service).await?;
    } else {
        let identity = TlsIdentity::load_or_create(&options.data.join("tls"))
            .context("não foi possível criar ou carregar o certificado TLS")?;
        let config = RustlsConfig::from_config(identity.server_config()?);
        ready(&Announcement {
            url: format!("https://{local}"),
            cert_sha256: Some(identity.fingerprint()),
        })?;
        tracing::info!(%local, "servindo HTTPS");
        let mut server = axum_server::from_tcp_rustls(listener, config).handle(handle);
        limit_header_time(server.http_builder());
        server.serve(service).await?;
    }
    Ok(())
}

/// A client that opens a connection and dribbles its headers cannot hold it forever.
fn limit_header_time(builder: &mut hyper_util::server::conn::auto::Builder<TokioExecutor>) {
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
}

fn announce(announcement: &Announcement) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(announcement)?)?;
    out.flush()?;
    Ok(())
}
