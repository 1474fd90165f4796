//! The reference central server run inside the kiosk process, on a loopback port: demo mode
//! and the benchmarks use it so nothing else needs starting.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use vistoria_central::api::Limits;
use vistoria_central::server::{self, Announcement, ServeOptions, StorageFlags};
use vistoria_central::trust::TrustOptions;

/// The token of station `code`, created on first use and kept beside the central's data.
pub fn station_token(central_data: &Path, code: &str) -> anyhow::Result<String> {
    station_token_in(central_data, &StorageFlags::default(), code)
}

/// [`station_token`] with the central's metadata where `storage` says (PostgreSQL for the
/// scale-out benchmark).
pub fn station_token_in(
    central_data: &Path,
    storage: &StorageFlags,
    code: &str,
) -> anyhow::Result<String> {
    let saved = central_data.join(format!("{code}.token"));
    if let Ok(token) = std::fs::read_to_string(&saved) {
        return Ok(token.trim().to_owned());
    }
    std::fs::create_dir_all(central_data)?;
    let (meta, _) = server::open_storage(central_data, storage)?;
    let token = vistoria_central::report::add_station(meta.as_ref(), code)?;
    std::fs::write(&saved, &token).context("guardando o token da estação")?;
    Ok(token)
}

/// Runs the reference central server on a loopback port in a background thread, trusting the
/// test PKI root(s) in `icp_roots` (demo mode's token or `simulate`'s PKI, which may be made
/// after the server starts: roots are read at each check). Test PKIs publish no LCR, hence
/// `lcr_optional`.
pub fn start(data: &Path, icp_roots: &Path) -> anyhow::Result<Announcement> {
    start_on(data, icp_roots, StorageFlags::default())
}

/// [`start`] with the metadata and media where `storage` says (the data folder by default;
/// PostgreSQL and an S3 bucket for the scale-out benchmark).
pub fn start_on(
    data: &Path,
    icp_roots: &Path,
    storage: StorageFlags,
) -> anyhow::Result<Announcement> {
    start_central(data, icp_roots, storage, true)
}

/// [`start_on`], with or without the help desk (`false`: the tickets' tests of a central
/// that runs none).
fn start_central(
    data: &Path,
    icp_roots: &Path,
    storage: StorageFlags,
    with_helpdesk: bool,
) -> anyhow::Result<Announcement> {
    // A help desk without GLPI or WhatsApp (issue 23): the kiosk's tickets are kept in the
    // central's store and answered from its console, as a real central's would be.
    let helpdesk = data.join("helpdesk.toml");
    if with_helpdesk && !helpdesk.exists() {
        std::fs::create_dir_all(data).context("pasta da central de demonstração")?;
        std::fs::write(
            &helpdesk,
            "# Help desk of the demo central: no GLPI, no WhatsApp; seed 003's hours and the\n\
             # default ticket types (see helpdesk/README.md).\n",
        )
        .context("configuração do help desk da central de demonstração")?;
    }
    let options = ServeOptions {
        // As `serve` by default: §9's five years are kept in demo mode too.
        purge_every: Some(std::time::Duration::from_secs(24 * 3600)),
        helpdesk: with_helpdesk.then_some(helpdesk),
        ..loopback_options(data, icp_roots, storage)
    };
    serve_in_thread(options, "demo-central")
        .context("o servidor central de demonstração não iniciou")
}

/// A central on a free loopback port with its own certificate, trusting the ICP-Brasil roots
/// in `icp_roots` without requiring their LCRs, with no purge, no help desk and a receipt key
/// of its own: what an embedded or benchmark central starts from.
pub fn loopback_options(data: &Path, icp_roots: &Path, storage: StorageFlags) -> ServeOptions {
    let mut trust = TrustOptions::new(icp_roots);
    trust.lcr_optional = true;
    ServeOptions {
        data: data.to_path_buf(),
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        insecure_http: false,
        registry: None,
        limits: Limits::default(),
        cert: None,
        trust,
        storage,
        key_file: None,
        purge_every: None,
        helpdesk: None,
    }
}

/// Runs a central server with `options` on a thread of its own (its own tokio runtime) for as
/// long as the process lives; what it announced once it listens.
pub fn serve_in_thread(options: ServeOptions, name: &str) -> anyhow::Result<Announcement> {
    let (tx, rx) = mpsc::channel();
    let thread = name.to_owned();
    std::thread::Builder::new()
        .name(thread.clone())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name(thread.clone())
                .build()
            {
                Ok(r) => r,
                Err(e) => return tracing::error!(%e, thread, "central: no runtime"),
            };
            let ready = tx.clone();
            let served = runtime.block_on(server::serve_with(options, move |a| {
                ready.send(Ok(a.clone())).ok();
                Ok(())
            }));
            if let Err(e) = served {
                tx.send(Err(e)).ok();
            }
        })?;
    rx.recv_timeout(Duration::from_secs(60))
        .context("o servidor central não iniciou em 60 s")?
}

/// The demo station kept in `root`: the embedded central (data in `root/central`, station
/// `code` registered there) and the station (data in `root/kiosk`) with the demo staff and
/// simulated devices, filmed by the RTSP camera at `bay` when given. Demo mode's window and
/// the tests start from it.
pub fn demo_station(root: &Path, code: &str, bay: Option<&str>) -> anyhow::Result<crate::Station> {
    crate::Station::open(demo_opening(root, code, bay)?).map_err(anyhow::Error::msg)
}

/// What [`demo_station`] opens, with the embedded central started: tests change a part of it
/// (the central's address behind a proxy, the clock) before opening.
pub fn demo_opening(root: &Path, code: &str, bay: Option<&str>) -> anyhow::Result<crate::Opening> {
    demo_opening_on(root, code, bay, true)
}

/// [`demo_opening`], its central with or without a help desk.
pub(crate) fn demo_opening_on(
    root: &Path,
    code: &str,
    bay: Option<&str>,
    with_helpdesk: bool,
) -> anyhow::Result<crate::Opening> {
    let central_data = root.join("central");
    let kiosk_dir = root.join("kiosk");
    let token = station_token(&central_data, code)?;
    // The central trusts the demo token's test root (made in the background on a first start).
    let central = start_central(
        &central_data,
        &crate::card::demo_token_dir(&kiosk_dir).join("roots"),
        StorageFlags::default(),
        with_helpdesk,
    )?;
    tracing::info!(url = %central.url, "demo central started");
    Ok(crate::Opening {
        data: kiosk_dir.clone(),
        log_dir: kiosk_dir.join("logs"),
        template_key: crate::Opening::demo_key_file(&kiosk_dir),
        endpoint: vistoria_core::central_client::Endpoint {
            url: central.url,
            token,
            cert_sha256: central.cert_sha256,
        },
        station: crate::demo::simulated_station(code),
        devices: crate::DeviceSetup::Demo {
            bay: bay.map(str::to_owned),
            token_dir: None,
        },
    })
}
