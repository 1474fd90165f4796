//! `vistoria [--config FILE]`: a real station. Validates the configuration, opens the store,
//! restores central time, closes what a crash left open, opens the devices the configuration
//! names and shows the kiosk window full-screen.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use vistoria_core::central_client::Endpoint;
use vistoria_core::config::Config;
use vistoria_core::paths::Paths;
use vistoria_core::store::Store;
use vistoria_drivers::camera::StillCamera;
use vistoria_drivers::camera::uvc::UvcCamera;
use vistoria_drivers::fingerprint::FingerprintReader;
use vistoria_drivers::fingerprint::uareu::UareU;
use vistoria_drivers::fingerprint::uareu::usb::RusbTransport;

use super::startup;
use crate::app::{self, Options};
use crate::kiosk::absent::Absent;
use crate::kiosk::{Kiosk, Panoramic, Parts, card, demo};

/// Runs the station named by the configuration.
pub fn run(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    crate::app::display::require()?;
    let paths = Paths::resolve(config, None);
    let mut config = Config::load(paths.config_file())?;
    // `Config::load` refused simulators unless `allow_simulated`; those allowed are marked in
    // every package this station sends.
    config.station.simulated_devices = config.simulated_devices();
    let _log = crate::logging::init(&paths.logs_dir()).context("iniciando o registro (log)")?;
    tracing::info!(station = %config.station.code, data = %paths.data_dir().display(), "station starting");
    let (mut store, report) = Store::open(paths.data_dir())?;
    let clock = startup::restore_clock(&store)?;
    let recovered = startup::recover(&mut store, &report, &clock)?;
    tracing::info!(%recovered, "recovery");
    let devices = &config.devices;
    let simulated = if devices.camera.backend == "sim" || devices.fingerprint.backend == "sim" {
        Some(demo::simulated(&store).map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    let (demo_devices, sim_camera, sim_reader) = match simulated {
        Some((d, c, r)) => (Some(d), Some(c), Some(r)),
        None => (None, None, None),
    };
    let camera: Box<dyn StillCamera + Send> = match (devices.camera.backend.as_str(), sim_camera) {
        ("sim", Some(c)) => c,
        ("uvc", _) => match UvcCamera::open(devices.camera.address.as_deref()) {
            Ok(c) => Box::new(c),
            Err(e) => Box::new(Absent::new("Câmera fotográfica", e.to_string())),
        },
        (backend, _) => Box::new(Absent::new(
            "Câmera fotográfica",
            format!("backend «{backend}» desconhecido"),
        )),
    };
    let reader: Box<dyn FingerprintReader + Send> =
        match (devices.fingerprint.backend.as_str(), sim_reader) {
            ("sim", Some(r)) => r,
            ("uareu", _) => match RusbTransport::open() {
                Ok(t) => Box::new(UareU::new(t)),
                Err(e) => Box::new(Absent::new("Leitor biométrico U.are.U", e.to_string())),
            },
            (backend, _) => Box::new(Absent::new(
                "Leitor biométrico",
                format!("backend «{backend}» desconhecido"),
            )),
        };
    // §14: the card's PKCS#11 middleware (the configured module, else the known locations)
    // and the ICP-Brasil roots kept beside the configuration, in `icp-brasil/`.
    let card = match devices.smartcard.backend.as_str() {
        "pcsc" => card::CardSetup::Pkcs11 {
            module: devices.smartcard.address.as_ref().map(std::path::PathBuf::from),
            token_label: None,
            roots: card::roots_in(
                &paths
                    .config_file()
                    .parent()
                    .unwrap_or(Path::new("/etc/vistoria"))
                    .join("icp-brasil"),
            ),
        },
        _ => card::CardSetup::Unavailable(
            "Nenhuma leitora de cartão e-CPF configurada nesta estação ([devices.smartcard] backend = \"pcsc\"); chame o técnico. A vistoria continua concluída e pode ser assinada depois."
                .to_owned(),
        ),
    };
    let kiosk = Kiosk::new(Parts {
        store,
        clock,
        endpoint: Endpoint {
            url: config.central.url.clone(),
            token: config.central.token.clone(),
            cert_sha256: config.central.cert_sha256.clone(),
        },
        station: config.station.clone(),
        camera,
        reader,
        demo: demo_devices,
        log_dir: paths.logs_dir(),
        printer: match (devices.printer.backend.as_str(), &devices.printer.address) {
            ("cups", Some(uri)) => Some(
                vistoria_drivers::printer::IppPrinter::new(uri)
                    .map_err(|e| anyhow::anyhow!("impressora: {e}"))?,
            ),
            _ => None,
        },
        panoramic: match (
            devices.panoramic.backend.as_str(),
            &devices.panoramic.address,
        ) {
            ("rtsp", Some(url)) => Some(Panoramic::new(url, paths.data_dir().join("panoramica"))),
            _ => None,
        },
        card,
    })
    .map_err(anyhow::Error::msg)?;
    let refilmed = kiosk.recover_panoramic();
    tracing::info!(recordings = refilmed.len(), "panoramic recovery");
    app::run(
        kiosk,
        Options {
            kiosk_mode: true,
            size: (1280.0, 800.0),
            started,
            exit_after_first_frame: false,
            tour: None,
        },
    )
    .context("janela do quiosque")?;
    Ok(ExitCode::SUCCESS)
}
