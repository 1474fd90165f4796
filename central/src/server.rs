//! `serve`: opens the data folder, binds, announces the URL and certificate pin on stdout's
//! first line, and serves the API over TLS (or plain HTTP on loopback when asked).

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use crate::api::{self, AppState, Limits};
use crate::keys::ServerKey;
use crate::registry::Registry;
use crate::storage::files::FileBlobs;
use crate::storage::sqlite::SqliteMetadata;
use crate::storage::{BlobStore, MetadataStore};
use crate::tls::TlsIdentity;
use crate::trust::{Trust, TrustOptions};

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
    /// A TLS certificate (PEM, leaf first) and key to use instead of the self-made one.
    pub cert: Option<(PathBuf, PathBuf)>,
    /// ICP-Brasil roots and LCR policy (§14).
    pub trust: TrustOptions,
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
    run(options, announce, true).await
}

/// Runs the server until interrupted; `ready` receives the announcement once it listens (an
/// embedding program, such as the kiosk's demo mode, takes it instead of stdout).
pub async fn serve_with(
    options: ServeOptions,
    ready: impl FnOnce(&Announcement) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // SIGTERM is the embedding program's own to handle; Ctrl-C stops the server as before.
    run(options, ready, false).await
}

/// `sigterm`: also stop gracefully on SIGTERM (the standalone server, under systemd).
async fn run(
    options: ServeOptions,
    ready: impl FnOnce(&Announcement) -> anyhow::Result<()>,
    sigterm: bool,
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
    let trust = Trust::new(options.trust.clone(), &options.data.join("lcr"));
    let state = AppState::with_data_folder(
        meta,
        blobs,
        registry,
        key,
        options.limits.clone(),
        trust,
        &options.data,
    );
    let app = api::router(Arc::clone(&state));

    let listener = TcpListener::bind(options.addr)
        .with_context(|| format!("não foi possível escutar em {}", options.addr))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;

    let (announcement, tls) = if options.insecure_http {
        let announcement = Announcement {
            url: format!("http://{local}"),
            cert_sha256: None,
        };
        (announcement, None)
    } else {
        let identity = match &options.cert {
            Some((cert, key)) => TlsIdentity::from_pem_files(cert, key).with_context(|| {
                format!(
                    "não foi possível usar o certificado {} e a chave {}",
                    cert.display(),
                    key.display()
                )
            })?,
            None => TlsIdentity::load_or_create(&options.data.join("tls"))
                .context("não foi possível criar ou carregar o certificado TLS")?,
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(identity.server_config()?);
        let announcement = Announcement {
            url: format!("https://{local}"),
            cert_sha256: Some(identity.fingerprint()),
        };
        (announcement, Some(acceptor))
    };

    tokio::spawn(api::expiry::run(Arc::clone(&state)));
    let stopper = Arc::clone(&state);
    tokio::spawn(async move {
        wait_for_stop_signal(sigterm).await;
        tracing::info!("encerrando: sem novas conexões; envios em andamento guardam o que chegou");
        stopper.begin_shutdown();
    });

    ready(&announcement)?;
    if tls.is_some() {
        tracing::info!(%local, "servindo HTTPS");
    } else {
        tracing::warn!(%local, "servindo HTTP sem TLS (somente loopback)");
    }
    crate::listener::run(listener, tls, app, options.limits, state.stopping()).await;
    tracing::info!("servidor encerrado");
    Ok(())
}

/// SIGINT (Ctrl-C), or also SIGTERM (systemd, `kill`) when `sigterm`.
async fn wait_for_stop_signal(sigterm: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let term = if sigterm {
        match signal(SignalKind::terminate()) {
            Ok(term) => Some(term),
            Err(e) => {
                tracing::error!(%e, "SIGTERM não pode ser tratado; só Ctrl-C encerra com calma");
                None
            }
        }
    } else {
        None
    };
    match term {
        Some(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn announce(announcement: &Announcement) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(announcement)?)?;
    out.flush()?;
    Ok(())
}
