//! The station's inventory (§15 b) and its comparison with the software policy. The same
//! comparison runs at the central (to flag the station) and at the station (to block it when
//! the policy says so), so both name the same offenders.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SoftwarePolicy, pattern_matches};
use crate::wire::rfc3339_ms;

/// An installed Debian package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstalledPackage {
    /// Package name (with `:arch` when dpkg shows it).
    pub name: String,
    /// Its version.
    pub version: String,
}

/// What a station holds, as it sends it (`POST /stations/self/inventory`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// When it was collected (central time).
    #[serde(with = "rfc3339_ms")]
    pub collected_at: DateTime<Utc>,
    /// The station software's own version.
    pub running_version: String,
    /// Installed packages.
    pub packages: Vec<InstalledPackage>,
    /// Paths of the running executables.
    pub executables: Vec<String>,
    /// Loaded kernel modules.
    pub modules: Vec<String>,
    /// USB devices attached, `vendor:product` in lowercase hex.
    pub usb: Vec<String>,
}

/// Which sort of thing an offender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffenderKind {
    /// An installed package.
    Package,
    /// A running executable.
    Executable,
    /// A loaded kernel module.
    Module,
    /// An attached USB device.
    Usb,
}

impl OffenderKind {
    /// In Portuguese, for Diagnóstico.
    pub fn label(self) -> &'static str {
        match self {
            OffenderKind::Package => "pacote",
            OffenderKind::Executable => "programa em execução",
            OffenderKind::Module => "módulo do kernel",
            OffenderKind::Usb => "dispositivo USB",
        }
    }
}

/// Something the software policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Offender {
    /// What sort of thing.
    pub kind: OffenderKind,
    /// Its name (package name and version, path, module, `vendor:product`).
    pub name: String,
}

impl std::fmt::Display for Offender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.label(), self.name)
    }
}

/// The central's answer to an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryAck {
    /// The software policy it was compared with (`None`: none published, nothing compared).
    pub policy_version: Option<u64>,
    /// What that policy does not allow.
    pub offenders: Vec<Offender>,
}

impl SoftwarePolicy {
    /// What in `inventory` no allow-list pattern matches, sorted.
    pub fn offenders(&self, inventory: &Inventory) -> Vec<Offender> {
        let allowed =
            |patterns: &[String], name: &str| patterns.iter().any(|p| pattern_matches(p, name));
        let mut out = Vec::new();
        for p in &inventory.packages {
            // Multi-arch names (`libc6:amd64`) are allowed by their bare name too.
            let bare = p.name.split(':').next().unwrap_or(&p.name);
            if !allowed(&self.packages, &p.name) && !allowed(&self.packages, bare) {
                out.push(Offender {
                    kind: OffenderKind::Package,
                    name: format!("{} {}", p.name, p.version),
                });
            }
        }
        let mut check = |kind, patterns: &[String], names: &[String]| {
            for name in names.iter().filter(|n| !allowed(patterns, n)) {
                out.push(Offender {
                    kind,
                    name: name.clone(),
                });
            }
        };
        check(
            OffenderKind::Executable,
            &self.executables,
            &inventory.executables,
        );
        check(OffenderKind::Module, &self.modules, &inventory.modules);
        check(OffenderKind::Usb, &self.usb, &inventory.usb);
        out.sort();
        out.dedup();
        out
    }
}
