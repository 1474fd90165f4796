//! `vistoria-station`: the station service. Core and drivers wired together behind one handle,
//! [`Station`], that the kiosk window, `vistoria demo`, `vistoria simulate` and
//! `vistoria --config` all open the same way ([`Station::open`]).
//!
//! Every method blocks (store, devices, HTTP, OCR, matching) and is meant to be called off the
//! UI thread. State is split by what blocks: the store and its companions under one lock, each
//! device under its own, so a slow camera never holds up the outbox. Nothing here knows about
//! a UI: callers get plain data back.

pub mod absent;
mod borescope;
pub mod card;
pub mod demo;
pub mod demo_borescope;
mod devices;
#[cfg(any(test, feature = "embedded-central"))]
pub mod embedded_central;
mod failure;
mod inspection;
mod inventory;
mod laudo;
#[cfg(any(test, feature = "embedded-central"))]
pub mod link_proxy;
pub mod live_stream;
mod log_retention;
mod login;
mod opening;
mod outbox;
mod panoramic;
mod panoramic_bay;
mod panoramic_check;
mod panoramic_photo;
mod panoramic_recovery;
mod photos;
mod policy;
mod roles;
mod signing;
#[cfg(any(test, feature = "embedded-central"))]
pub mod signing_child;
mod staff;
pub mod startup;
mod status;
pub mod support;
pub mod tickets;
mod worker;

#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod retention_tests;
#[cfg(test)]
mod staff_tests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use vistoria_core::accounts::{LoginGuard, Role};
use vistoria_core::biometrics::vault::Vault;
use vistoria_core::capture::{QualityLimits, ReuseIndex, StationInfo};
use vistoria_core::central_client::{CentralClient, Endpoint};
use vistoria_core::clock::{CentralClock, CentralStamp};
use vistoria_core::ocr::{PlateReader, TesseractEngine};
use vistoria_core::outbox::DeliveryPolicy;
use vistoria_core::store::Store;
use vistoria_drivers::camera::StillCamera;
use vistoria_drivers::fingerprint::FingerprintReader;

pub use devices::{DeviceKind, DeviceRow};
pub use failure::Failure;
pub use inspection::{
    InspectionRow, OcrCheck, PhotoShot, Thumbnail, verdict_label as inspection_verdict,
};
pub use log_retention::DEFAULT_LOG_DAYS;
pub use opening::{DeviceSetup, Opening, fingerprint_reader};
pub use outbox::{Delivery, OutboxRow};
pub use panoramic::{Panoramic, PanoramicStatus};
pub use panoramic_bay::{BayNow, BayPresenceInfo, DEMO_SETTER, ReferenceInfo, SetBy};
pub use panoramic_check::PanoramicInfo;
pub use panoramic_photo::CaptureStart;
pub use photos::{PhotoDevice, PhotoRequest};
pub use policy::{
    PolicyStatus, RUNNING_VERSION, UPDATE_SPOOL, USB_POLICY_APPLIED, USB_POLICY_REQUEST, UsbApplied,
};
pub use signing::Signed;
pub use staff::{ENROLMENT_CONSENT, EnrolProgress};
pub use status::{Diagnostics, StatusSnapshot};
pub use tickets::{
    FeedbackDraft, ReplyDraft, TicketBoard, TicketDraft, TicketKey, TicketPass, TicketView,
};
pub use worker::{StationEvent, Worker, WorkerConfig};

/// Who is logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Login name.
    pub login: String,
    /// Full name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// CPF (for the signature, §14).
    pub cpf: String,
}

/// What the kiosk needs to start.
pub(crate) struct Parts {
    /// The opened store.
    pub store: Store,
    /// The opened template vault.
    pub vault: Vault,
    /// Central time.
    pub clock: CentralClock,
    /// How to reach the central.
    pub endpoint: Endpoint,
    /// The station.
    pub station: vistoria_core::config::Station,
    /// Still camera.
    pub camera: Box<dyn StillCamera + Send>,
    /// Fingerprint reader.
    pub reader: Box<dyn FingerprintReader + Send>,
    /// Demo mode: simulated devices, a demo finger picker.
    pub demo: Option<demo::DemoDevices>,
    /// Where the logs are written (for the support export).
    pub log_dir: PathBuf,
    /// The laudo printer (IPP), when the station has one.
    pub printer: Option<vistoria_drivers::printer::IppPrinter>,
    /// The panoramic camera (§17), when the station has one.
    pub panoramic: Option<Panoramic>,
    /// The borescope (§8, §18), when the station has one.
    pub borescope: Option<borescope::BorescopeSlot>,
    /// The inspector's e-CPF card (§14).
    pub card: card::CardSetup,
}

/// Store and what goes with it.
struct Core {
    store: Store,
    client: CentralClient,
    server_key: Option<String>,
    guard: LoginGuard,
    vault: Vault,
    reuse: ReuseIndex,
    ocr: Option<PlateReader<TesseractEngine>>,
    policy: DeliveryPolicy,
    /// The reader's previous image, for latent rejection (§16e).
    last_finger: Option<vistoria_core::biometrics::GrayImage>,
}

impl Core {
    /// A stored inspection.
    fn inspection(
        &self,
        id: vistoria_core::domain::InspectionId,
    ) -> Result<vistoria_core::domain::Inspection, Failure> {
        self.store
            .inspection(id)
            .map_err(Failure::from)?
            .ok_or_else(|| Failure::rule("vistoria não encontrada"))
    }
}

struct Inner {
    core: Mutex<Core>,
    camera: Mutex<Box<dyn StillCamera + Send>>,
    reader: Mutex<Box<dyn FingerprintReader + Send>>,
    demo: Option<Mutex<demo::DemoDevices>>,
    /// The demo finger on the simulated reader, readable without waiting for the reader.
    demo_finger: std::sync::atomic::AtomicUsize,
    clock: CentralClock,
    station: vistoria_core::config::Station,
    central_url: String,
    cert_pin: Option<String>,
    log_dir: PathBuf,
    printer: Option<Mutex<vistoria_drivers::printer::IppPrinter>>,
    panoramic: Option<Panoramic>,
    borescope: Option<borescope::BorescopeSlot>,
    card: card::CardSetup,
    /// The worker's subscribers and alarm clock.
    hub: worker::Hub,
    /// Held for a whole delivery pass, so two passes never send the same package at once.
    delivering: Mutex<()>,
    /// A fingerprint enrolment under way at the Administração screen.
    enrolment: Mutex<Option<staff::PendingEnrolment>>,
    /// Why the reader's last image failed §16 a–c, until one passes (Diagnóstico shows it).
    reader_fault: Mutex<Option<String>>,
    /// The inspector list the central last took (`PUT /stations/self/inspectors`).
    inspectors_sent: Mutex<Option<vistoria_core::wire::InspectorList>>,
    /// Each logged-in person's last action, for the idle lock of the security policy (§15 c).
    last_action: Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// The handle the window holds: cheap to clone, safe to share with worker threads.
#[derive(Clone)]
pub struct Station(Arc<Inner>);

impl std::fmt::Debug for Station {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Station")
            .field("station", &self.0.station.code)
            .finish_non_exhaustive()
    }
}

/// One station is one running service: its identity is its handle's (iced keys the window's
/// subscription to the worker by it).
impl std::hash::Hash for Station {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state);
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic on a worker thread must not take the whole kiosk down with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Station {
    /// Wires the parts together. Opens the biometric vault and the reuse index in the store's
    /// data directory.
    fn new(parts: Parts) -> Result<Station, Failure> {
        let data = parts.store.data_dir().to_path_buf();
        let reuse = ReuseIndex::open(&data.join("phash.jsonl"))
            .map_err(|e| Failure::internal(format!("índice de fotos: {e}")))?;
        let client = CentralClient::new(&parts.endpoint).map_err(Failure::from)?;
        let server_key = parts.store.meta(SERVER_KEY).map_err(Failure::from)?;
        // The lock-out as the last run left it: a restart is not a way to more guesses.
        let guard = LoginGuard::load(&parts.store);
        Ok(Station(Arc::new(Inner {
            core: Mutex::new(Core {
                store: parts.store,
                client,
                server_key,
                guard,
                vault: parts.vault,
                reuse,
                ocr: None,
                policy: DeliveryPolicy::default(),
                last_finger: None,
            }),
            camera: Mutex::new(parts.camera),
            reader: Mutex::new(parts.reader),
            demo: parts.demo.map(Mutex::new),
            demo_finger: std::sync::atomic::AtomicUsize::new(0),
            clock: parts.clock,
            station: parts.station,
            central_url: parts.endpoint.url,
            cert_pin: parts.endpoint.cert_sha256,
            log_dir: parts.log_dir,
            printer: parts.printer.map(Mutex::new),
            panoramic: parts.panoramic,
            borescope: parts.borescope,
            card: parts.card,
            hub: worker::Hub::default(),
            delivering: Mutex::new(()),
            enrolment: Mutex::new(None),
            reader_fault: Mutex::new(None),
            inspectors_sent: Mutex::new(None),
            last_action: Mutex::new(std::collections::HashMap::new()),
        })))
    }

    /// Central time, without blocking (no lock, no I/O).
    pub fn clock(&self) -> &CentralClock {
        &self.0.clock
    }

    /// The station.
    pub fn station(&self) -> &vistoria_core::config::Station {
        &self.0.station
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.core().store.data_dir().to_path_buf()
    }

    /// Whether the devices are simulated.
    pub fn is_demo(&self) -> bool {
        self.0.demo.is_some()
    }

    /// Closes the store cleanly (the next start will not see a crash).
    pub fn shutdown(&self) {
        let mut core = lock(&self.0.core);
        if let Err(e) = core.store.mark_clean_exit() {
            tracing::warn!(%e, "could not record the clean exit");
        }
    }

    fn now(&self) -> Result<CentralStamp, Failure> {
        self.0.clock.now().map_err(Failure::from)
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.0.core)
    }

    fn capture_info(&self) -> StationInfo {
        let s = &self.0.station;
        StationInfo {
            name: s.name.clone(),
            code: s.code.clone(),
            latitude: s.latitude,
            longitude: s.longitude,
        }
    }

    fn quality_limits() -> QualityLimits {
        QualityLimits::default()
    }
}

/// The actor of what the kiosk does by itself.
const SYSTEM: &str = vistoria_core::session::SYSTEM_ACTOR;

pub use startup::SERVER_KEY;
