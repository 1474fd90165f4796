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
use crate::storage::postgres::PgMetadata;
use crate::storage::s3::{S3Blobs, S3Location, S3Options};
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
    /// Where metadata and media live (the data folder unless told otherwise).
    pub storage: StorageFlags,
    /// The receipt-signing key shared by every instance; `DATA/keys/` (made on first start)
    /// when `None`.
    pub key_file: Option<PathBuf>,
    /// Time between retention purges (§9), the first at start; `None`: never (the `purge`
    /// command does it).
    pub purge_every: Option<std::time::Duration>,
    /// The help desk's configuration (TOML, issue 23); `None`: this central runs no help desk.
    pub helpdesk: Option<PathBuf>,
}

/// Where the metadata and the media live. By default both are in the data folder (SQLite and
/// plain files: one machine); a central of several instances shares a PostgreSQL database and
/// an S3 bucket instead (issue 21).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StorageFlags {
    /// PostgreSQL for the metadata instead of DATA/central.sqlite, as a libpq URL
    /// (`postgres://user:password@host:5432/vistoria`); every instance points at the same one.
    #[arg(long, env = "VISTORIA_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// Connections each instance keeps open to PostgreSQL.
    #[arg(long, default_value_t = 16)]
    pub database_connections: u32,
    /// An S3-compatible bucket for the media instead of DATA/media: `s3://BUCKET[/PREFIX]`;
    /// credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]")]
    pub blobs: Option<String>,
    /// Endpoint of the S3-compatible store (SeaweedFS, MinIO, Ceph…); AWS's if absent. Plain
    /// http:// only to this machine.
    #[arg(long, requires = "blobs")]
    pub s3_endpoint: Option<String>,
    /// Region of the bucket.
    #[arg(long, default_value = "us-east-1")]
    pub s3_region: String,
}

impl StorageFlags {
    /// The media store these flags name, if it is S3.
    fn s3(&self) -> anyhow::Result<Option<S3Blobs>> {
        let Some(url) = &self.blobs else {
            return Ok(None);
        };
        let location = S3Location::parse(url).map_err(anyhow::Error::msg)?;
        let credential = |name: &str| {
            std::env::var(name).with_context(|| {
                format!("defina {name} com a credencial do bucket S3 de --blobs {url}")
            })
        };
        let options = S3Options {
            location,
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: credential("AWS_ACCESS_KEY_ID")?,
            secret_access_key: credential("AWS_SECRET_ACCESS_KEY")?,
        };
        Ok(Some(S3Blobs::open(&options).context(
            "não foi possível preparar o armazenamento S3 de --blobs",
        )?))
    }
}

/// Opens the metadata and media stores `flags` name, the data folder's by default.
pub fn open_storage(
    data: &Path,
    flags: &StorageFlags,
) -> anyhow::Result<(Arc<dyn MetadataStore>, Arc<dyn BlobStore>)> {
    if flags.database.is_none() && flags.blobs.is_none() {
        return open_data_folder(data);
    }
    prepare_data_folder(data)?;
    let meta: Arc<dyn MetadataStore> = match &flags.database {
        Some(url) => Arc::new(PgMetadata::connect(url, flags.database_connections).context(
            "não foi possível abrir o banco PostgreSQL de --database (confira endereço, usuário e \
             senha)",
        )?),
        None => Arc::new(
            SqliteMetadata::open(&data.join("central.sqlite"))
                .context("não foi possível abrir o banco de dados")?,
        ),
    };
    let blobs: Arc<dyn BlobStore> = match flags.s3()? {
        Some(s3) => Arc::new(s3),
        None => Arc::new(
            FileBlobs::open(&data.join("media"))
                .context("não foi possível abrir a pasta de mídia")?,
        ),
    };
    Ok((meta, blobs))
}

/// Creates the data folder and makes it the server user's alone: it holds keys and citizens'
/// data (issue 17).
fn prepare_data_folder(data: &Path) -> anyhow::Result<()> {
    crate::fsutil::create_dir_durable(data)
        .with_context(|| format!("não foi possível criar a pasta de dados {}", data.display()))?;
    crate::fsutil::restrict_to_owner(data).with_context(|| {
        format!(
            "não foi possível restringir a pasta de dados {} ao usuário do servidor (chmod 700)",
            data.display()
        )
    })?;
    Ok(())
}

/// The embedded backends in a data folder: `DIR/central.sqlite` and `DIR/media/`.
fn open_data_folder(data: &Path) -> anyhow::Result<(Arc<dyn MetadataStore>, Arc<dyn BlobStore>)> {
    prepare_data_folder(data)?;
    let meta = SqliteMetadata::open(&data.join("central.sqlite"))
        .context("não foi possível abrir o banco de dados")?;
    let blobs =
        FileBlobs::open(&data.join("media")).context("não foi possível abrir a pasta de mídia")?;
    // A data folder written before packages were keyed by station keeps its media: each folder
    // moves under the station its package records.
    let owners: std::collections::HashMap<uuid::Uuid, String> = meta
        .packages()
        .context("não foi possível ler os pacotes registrados")?
        .into_iter()
        .map(|p| (p.inspection_id, p.station))
        .collect();
    let moved = blobs
        .adopt_unscoped(&|id| owners.get(&id).cloned())
        .context("não foi possível mover a mídia para as pastas das estações")?;
    if moved > 0 {
        tracing::info!(moved, "mídia movida para as pastas das estações");
    }
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
    // The stores block (the PostgreSQL client runs its own runtime): open them off the
    // async threads, as every later call is made.
    let (meta, blobs) = {
        let (data, storage) = (options.data.clone(), options.storage.clone());
        tokio::task::spawn_blocking(move || open_storage(&data, &storage)).await??
    };
    let key = match &options.key_file {
        Some(path) => ServerKey::load_file(path),
        None => ServerKey::load_or_create(&options.data.join("keys")),
    }
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
    // Alive before the first request: the leases it takes count from the start. The data
    // folder's own SQLite file has no other instance: a killed predecessor's leases end now.
    {
        let state = Arc::clone(&state);
        let sole = options.storage.database.is_none();
        tokio::task::spawn_blocking(move || {
            if sole {
                state.sole_instance()?;
            }
            state.heartbeat()
        })
        .await?
        .context("não foi possível registrar a instância no banco")?;
    }
    let helpdesk = match &options.helpdesk {
        Some(file) => {
            Some(crate::helpdesk::RunningHelpdesk::start(&state, &options.data, file).await?)
        }
        None => None,
    };
    let app = api::router(Arc::clone(&state));
    let app = match &helpdesk {
        Some(h) => h.mount(app),
        None => app,
    };

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
    if let Some(every) = options.purge_every {
        tokio::spawn(api::retention::run(Arc::clone(&state), every));
    }
    tokio::spawn(api::admission::watch_stations(Arc::clone(&state)));
    tokio::spawn(crate::cross_flags::run(Arc::clone(&state)));
    tokio::spawn(api::keep_alive(Arc::clone(&state)));
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
    if let Some(h) = helpdesk {
        h.stop().await;
    }
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
