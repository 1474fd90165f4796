//! Opening a station: the one start-up every way of running the kiosk goes through (the window
//! on a configured station, demo mode, the window's tests): open the store, bring back central
//! time, close what the previous run left open, open the devices, wire the station, recover
//! the panoramic film a crash left behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vistoria_core::biometrics::vault::Vault;
use vistoria_core::central_client::Endpoint;
use vistoria_core::clock::{BootClock, Monotonic};
use vistoria_core::config::{Config, Devices, Station as StationConfig};
use vistoria_core::paths::Paths;
use vistoria_drivers::camera::StillCamera;
use vistoria_drivers::camera::uvc::UvcCamera;
use vistoria_drivers::fingerprint::FingerprintReader;
use vistoria_drivers::fingerprint::uareu::UareU;
use vistoria_drivers::fingerprint::uareu::usb::RusbTransport;

use crate::absent::Absent;
use crate::{Failure, Panoramic, Parts, Station, card, demo, startup};

/// Everything a station is opened from.
#[derive(Clone)]
pub struct Opening {
    /// The data folder (store, media, vault, recordings).
    pub data: PathBuf,
    /// Where the logs are written (for the support export).
    pub log_dir: PathBuf,
    /// The fingerprint templates' key file, outside `data` (issue 19).
    pub template_key: PathBuf,
    /// How to reach the central.
    pub endpoint: Endpoint,
    /// The station (goes into every tarja and package).
    pub station: StationConfig,
    /// Where the devices come from.
    pub devices: DeviceSetup,
}

/// Where the station's devices come from.
#[derive(Clone)]
pub enum DeviceSetup {
    /// The configuration's devices; `icp_roots` is the folder of ICP-Brasil roots an e-CPF
    /// must chain to.
    Configured {
        /// `[devices]` of the configuration.
        devices: Box<Devices>,
        /// `icp-brasil/` beside the configuration file.
        icp_roots: PathBuf,
    },
    /// Demo mode: simulated camera and reader, the demo staff enrolled, the demo SoftHSM2
    /// e-CPF token, and the bay filmed by the RTSP camera at `bay` when given.
    Demo {
        /// RTSP URL of the bay's (simulated) panoramic camera.
        bay: Option<String>,
        /// Where the demo token is kept (default `DATA/ecpf-demo`); the central must trust
        /// its `roots/`.
        token_dir: Option<PathBuf>,
    },
}

impl Opening {
    /// The template key of a demo or simulated station kept in `data`: beside that folder,
    /// never in it (`…/kiosk` → `…/kiosk.biometria.key`).
    pub fn demo_key_file(data: &Path) -> PathBuf {
        let name = data
            .file_name()
            .map_or_else(|| "vistoria".into(), |n| n.to_string_lossy().into_owned());
        data.with_file_name(format!(
            "{name}.{}",
            vistoria_core::biometrics::vault::KEY_FILE_NAME
        ))
    }

    /// A configured station: the paths resolved for the configuration file.
    pub fn configured(config: &Config, paths: &Paths) -> Opening {
        let mut station = config.station.clone();
        // `Config::load` refused simulators unless `allow_simulated`; those allowed are marked
        // in every package this station sends.
        station.simulated_devices = config.simulated_devices();
        Opening {
            data: paths.data_dir().to_path_buf(),
            log_dir: paths.logs_dir(),
            template_key: config.template_key_file(paths.config_file()),
            endpoint: Endpoint {
                url: config.central.url.clone(),
                token: config.central.token.clone(),
                cert_sha256: config.central.cert_sha256.clone(),
            },
            station,
            devices: DeviceSetup::Configured {
                devices: Box::new(config.devices.clone()),
                icp_roots: paths
                    .config_file()
                    .parent()
                    .unwrap_or(Path::new("/etc/vistoria"))
                    .join("icp-brasil"),
            },
        }
    }
}

impl Station {
    /// Opens the station: store, central time, recovery of the previous run, devices, and the
    /// film a crash left behind.
    pub fn open(opening: Opening) -> Result<Station, Failure> {
        Station::open_on(opening, Arc::new(BootClock::new()))
    }

    /// [`Station::open`] with central time carried forward by `mono` instead of the boot
    /// clock (tests that move time).
    pub fn open_on(opening: Opening, mono: Arc<dyn Monotonic>) -> Result<Station, Failure> {
        let (mut store, report) =
            vistoria_core::store::Store::open(&opening.data).map_err(Failure::from)?;
        let clock = startup::restore_clock_on(&store, mono).map_err(Failure::from)?;
        let recovered = startup::recover(&mut store, &report, &clock).map_err(Failure::from)?;
        let vault = Vault::open(&opening.data, &opening.template_key)
            .map_err(|e| Failure::from(e).context("cofre biométrico"))?;
        tracing::info!(station = %opening.station.code, %recovered, "station opening");
        let data = opening.data;
        let borescope = crate::borescope::open(&opening.devices);
        let (demo, camera, reader, printer, panoramic, card) = match opening.devices {
            DeviceSetup::Demo { bay, token_dir } => {
                let (devices, camera, reader) =
                    demo::prepare(&mut store, &vault).map_err(Failure::Internal)?;
                let card = card::demo_token_soon(
                    &token_dir.unwrap_or_else(|| card::demo_token_dir(&data)),
                    &demo::INSPECTOR_NAME.to_uppercase(),
                    demo::INSPECTOR_CPF,
                );
                let panoramic =
                    bay.map(|url| Panoramic::new(&url, vistoria_core::paths::film_dir_in(&data)));
                (Some(devices), camera, reader, None, panoramic, card)
            }
            DeviceSetup::Configured { devices, icp_roots } => {
                let opened = configured_devices(&store, &devices, &icp_roots, &data)?;
                (
                    opened.demo,
                    opened.camera,
                    opened.reader,
                    opened.printer,
                    opened.panoramic,
                    opened.card,
                )
            }
        };
        let station = Station::new(Parts {
            store,
            vault,
            clock,
            endpoint: opening.endpoint,
            station: opening.station,
            camera,
            reader,
            demo,
            log_dir: opening.log_dir,
            printer,
            panoramic,
            borescope,
            card,
        })?;
        station.load_bay_calibration();
        let refilmed = station.recover_panoramic();
        tracing::info!(recordings = refilmed.len(), "panoramic recovery");
        station.queue_ended();
        Ok(station)
    }
}

/// The fingerprint reader `[devices.fingerprint]` names: the U.are.U on USB, or with `sim`
/// the images of the folder in `address`. Also what `vistoria staff enrol` reads from.
pub fn fingerprint_reader(devices: &Devices) -> Result<Box<dyn FingerprintReader + Send>, Failure> {
    let section = &devices.fingerprint;
    match (section.backend.as_str(), &section.address) {
        ("uareu", _) => RusbTransport::open()
            .map(|t| Box::new(UareU::new(t)) as Box<dyn FingerprintReader + Send>)
            .map_err(|e| Failure::device(format!("leitor biométrico U.are.U: {e}"))),
        ("sim", Some(folder)) => {
            vistoria_drivers::fingerprint::sim::SimReader::open(Path::new(folder))
                .map(|r| Box::new(r) as Box<dyn FingerprintReader + Send>)
                .map_err(|e| Failure::device(format!("leitor biométrico simulado: {e}")))
        }
        (backend, _) => Err(Failure::device(format!(
            "[devices.fingerprint] backend «{backend}» sem leitor: configure \"uareu\", ou \"sim\" \
             com address = pasta de imagens"
        ))),
    }
}

/// The devices of a configured station.
struct Opened {
    demo: Option<demo::DemoDevices>,
    camera: Box<dyn StillCamera + Send>,
    reader: Box<dyn FingerprintReader + Send>,
    printer: Option<vistoria_drivers::printer::IppPrinter>,
    panoramic: Option<Panoramic>,
    card: card::CardSetup,
}

/// Opens what `[devices]` names; a device that cannot be opened is [`Absent`] with its reason
/// (the status bar and Diagnóstico show it), never a refusal to start.
fn configured_devices(
    store: &vistoria_core::store::Store,
    devices: &Devices,
    icp_roots: &Path,
    data: &Path,
) -> Result<Opened, Failure> {
    let simulated = if devices.camera.backend == "sim" || devices.fingerprint.backend == "sim" {
        Some(demo::simulated(store).map_err(Failure::Internal)?)
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
    let reader: Box<dyn FingerprintReader + Send> = match (
        devices.fingerprint.backend.as_str(),
        &devices.fingerprint.address,
        sim_reader,
    ) {
        // `sim` with a folder: its images (a training room, the tests' FVC impressions).
        ("sim", Some(_), _) | ("uareu", _, _) => match fingerprint_reader(devices) {
            Ok(r) => r,
            Err(e) => Box::new(Absent::new("Leitor biométrico", e.to_string())),
        },
        ("sim", None, Some(r)) => r,
        (backend, _, _) => Box::new(Absent::new(
            "Leitor biométrico",
            format!("backend «{backend}» desconhecido"),
        )),
    };
    // §14: the card's PKCS#11 middleware (the configured module, else the known locations)
    // and the ICP-Brasil roots kept beside the configuration.
    let card = match devices.smartcard.backend.as_str() {
        "pcsc" => card::CardSetup::Pkcs11 {
            module: devices.smartcard.address.as_ref().map(PathBuf::from),
            token_label: None,
            roots: card::roots_in(icp_roots),
        },
        _ => card::CardSetup::Unavailable(
            "Nenhuma leitora de cartão e-CPF configurada nesta estação ([devices.smartcard] backend = \"pcsc\"); chame o técnico. A vistoria continua concluída e pode ser assinada depois."
                .to_owned(),
        ),
    };
    let printer = match (devices.printer.backend.as_str(), &devices.printer.address) {
        ("cups", Some(uri)) => Some(
            vistoria_drivers::printer::IppPrinter::new(uri)
                .map_err(|e| Failure::device(format!("impressora: {e}")))?,
        ),
        _ => None,
    };
    let panoramic = match (
        devices.panoramic.backend.as_str(),
        &devices.panoramic.address,
    ) {
        ("rtsp", Some(url)) => Some(Panoramic::new(url, vistoria_core::paths::film_dir_in(data))),
        _ => None,
    };
    Ok(Opened {
        demo: demo_devices,
        camera,
        reader,
        printer,
        panoramic,
        card,
    })
}
