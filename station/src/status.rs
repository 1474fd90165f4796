//! What the status bar shows and what the technician's diagnostics measure.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use vistoria_core::store::OutboxState;

use super::{DeviceRow, Failure, Station};

/// The status bar's data, refreshed every few seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusSnapshot {
    /// Central time now, if the clock was ever synced this boot.
    pub central_time: Option<DateTime<Utc>>,
    /// Age of the last sync.
    pub sync_age: Option<Duration>,
    /// Devices at a glance.
    pub devices: Vec<DeviceRow>,
    /// Packages waiting or stuck.
    pub pending: usize,
    /// Packages stuck.
    pub stuck: usize,
    /// The panoramic camera, when the station has one.
    pub panoramic: Option<super::PanoramicStatus>,
}

/// The central connection as the technician sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralLink {
    /// Base URL.
    pub url: String,
    /// Round trip of a time request, or why it failed.
    pub latency: Result<Duration, Failure>,
    /// Central time minus this machine's clock, in seconds (the kiosk uses central time).
    pub clock_offset_s: Option<f64>,
    /// Pinned certificate SHA-256, if pinned.
    pub certificate: Option<String>,
}

/// Everything the diagnostics screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// Devices.
    pub devices: Vec<DeviceRow>,
    /// Central connection.
    pub central: CentralLink,
    /// Free and total bytes of the data disk.
    pub disk: Option<(u64, u64)>,
    /// Data folder.
    pub data_dir: PathBuf,
    /// Versions of the pieces.
    pub versions: Vec<(String, String)>,
    /// Whether the audit chain verifies, or the first problem.
    pub audit: Result<u64, String>,
    /// The panoramic camera (§17), when the station has one.
    pub panoramic: Option<super::PanoramicInfo>,
    /// The e-CPF signature (§14): what it goes through.
    pub card: String,
    /// PC/SC readers and whether each holds a card, or why they cannot be listed.
    pub readers: Result<Vec<(String, bool)>, Failure>,
    /// The central's policies in force, their problems and offenders (§15).
    pub policies: Result<Box<super::PolicyStatus>, Failure>,
}

impl Station {
    /// The status bar's data. Writes nothing.
    pub fn status(&self) -> StatusSnapshot {
        let now = self.0.clock.now().ok();
        let (pending, stuck) = {
            let core = self.core();
            let count = |state| core.store.outbox_count(state).unwrap_or(0);
            (count(OutboxState::Pending), count(OutboxState::Stuck))
        };
        StatusSnapshot {
            central_time: now.as_ref().map(|n| n.at),
            sync_age: now.map(|n| n.sync_age()),
            devices: self.devices(),
            pending,
            stuck,
            panoramic: self.panoramic_status(),
        }
    }

    /// Measures the central link (a time request: central time is left as the last sync
    /// made it) and gathers the rest of the diagnostics. Writes nothing.
    pub fn diagnostics(&self) -> Diagnostics {
        let client = self.core().client.clone();
        let started = std::time::Instant::now();
        let latency = client
            .time()
            .map(|_| started.elapsed())
            .map_err(Failure::from);
        let clock_offset_s = self
            .0
            .clock
            .now()
            .ok()
            .map(|n| (n.at - Utc::now()).num_milliseconds() as f64 / 1000.0);
        let data_dir = self.core().store.data_dir().to_path_buf();
        let disk = nix::sys::statvfs::statvfs(&data_dir).ok().map(|s| {
            let block = s.fragment_size();
            (s.blocks_available() * block, s.blocks() * block)
        });
        let audit = match self.core().store.verify_audit() {
            Ok(r) => match r.problem {
                None => Ok(r.rows),
                Some(p) => Err(p.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        let schema = vistoria_core::store::CURRENT_VERSION.to_string();
        Diagnostics {
            devices: self.devices(),
            central: CentralLink {
                url: self.0.central_url.clone(),
                latency,
                clock_offset_s,
                certificate: self.0.cert_pin.clone(),
            },
            disk,
            data_dir,
            versions: vec![
                ("Vistoria".into(), env!("CARGO_PKG_VERSION").into()),
                ("Esquema do banco".into(), schema),
                ("Interface (iced)".into(), "0.14".into()),
            ],
            audit,
            panoramic: self.panoramic_info(),
            card: self.0.card.describe(),
            readers: super::card::readers(),
            policies: self.policy_status().map(Box::new),
        }
    }

    /// Writes the logs, the audit check and the station's settings (without secrets) into a
    /// zip for the help desk; returns its path. Never evidence: see [`crate::support`].
    pub fn export_logs(&self) -> Result<PathBuf, Failure> {
        let diagnostics = self.diagnostics();
        let dir = diagnostics.data_dir.join("suporte");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::internal(format!("{}: {e}", dir.display())))?;
        let stamp = Utc::now().format("%Y%m%d-%H%M%S");
        let path = dir.join(format!("vistoria-{}-{stamp}.zip", self.0.station.code));
        let summary = format!(
            "estação: {} ({})\ncentral: {}\nlatência: {:?}\ndesvio do relógio (s): {:?}\n\
             disco livre/total: {:?}\nauditoria: {:?}\nversões: {:?}\ndispositivos: {:#?}\n",
            self.0.station.name,
            self.0.station.code,
            diagnostics.central.url,
            diagnostics.central.latency,
            diagnostics.central.clock_offset_s,
            diagnostics.disk,
            diagnostics.audit,
            diagnostics.versions,
            diagnostics.devices,
        );
        crate::support::write_zip(&path, &self.0.log_dir, &summary).map_err(|e| {
            let _ = std::fs::remove_file(&path);
            Failure::internal(format!("gerando o pacote de suporte: {e}"))
        })?;
        Ok(path)
    }
}
