//! §15 of Anexo II at the station: the central's signed version, software and security
//! policies, fetched at every clock sync, verified with the key the station trusts for
//! receipts, and applied below the screens.
//!
//! - A policy is put in force only when its signature holds and its version is above the one
//!   in force; anything else is ignored, kept as a problem Diagnóstico shows and written to the
//!   audit log (once per distinct problem, not at every sync).
//! - The documents in force are kept signed in the store (`policy.*` settings) and verified
//!   again whenever they are read, so an edited setting is not a policy.
//! - [`Station::policy_block`] is what stops a new inspection: a running version below the
//!   minimum (§15 a) or, when the software policy says so, anything it does not allow in the
//!   station's last inventory (§15 b). What is open finishes: only the opening asks.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use vistoria_core::accounts::LockPolicy;
use vistoria_core::central_client::CentralClient;
use vistoria_core::policy::{
    Acceptance, InventoryAck, Offender, PolicyDocument, PolicyKind, SecurityPolicy, SignedPolicy,
    SoftwarePolicy, VersionPolicy, accept,
};
use vistoria_core::store::{AuditAction, AuditEvent};

use super::{Failure, SYSTEM, Station};

/// The version of the software running here (the package's version: the workspace's).
pub const RUNNING_VERSION: &str = env!("CARGO_PKG_VERSION");

use vistoria_core::policy::setting_key as setting;

/// The last refresh's problems (JSON list of text).
const PROBLEMS: &str = "policy.problems";
/// The offenders of the last inventory, with the software policy version they were found by.
const OFFENDERS: &str = "policy.offenders";

/// What the last inventory found against the software policy in force then.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct FoundOffenders {
    policy_version: Option<u64>,
    offenders: Vec<Offender>,
}

/// The policies in force and what is wrong, for Diagnóstico.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyStatus {
    /// This software's version.
    pub running_version: String,
    /// §15 a in force.
    pub version: Option<VersionPolicy>,
    /// §15 b in force.
    pub software: Option<SoftwarePolicy>,
    /// §15 c in force.
    pub security: Option<SecurityPolicy>,
    /// Policies the central sent that were not applied, and why.
    pub problems: Vec<String>,
    /// What the last inventory held that the software policy does not allow.
    pub offenders: Vec<Offender>,
    /// Why new inspections are refused, if they are.
    pub block: Option<String>,
    /// What the root-owned applier last did with the USB-storage setting (its JSON report),
    /// if it ran: the setting is in the kernel's way only once it has.
    pub usb_applied: Option<UsbApplied>,
}

/// The report of `vistoria policy apply-usb` (`DATA/policy/usb-storage.applied`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UsbApplied {
    /// USB storage may be used now.
    pub usb_storage: bool,
    /// The security policy applied (`None`: none published, or it could not be fetched).
    pub policy_version: Option<u64>,
    /// When (RFC 3339).
    pub applied_at: String,
    /// What went wrong (USB storage then stays off).
    #[serde(default)]
    pub error: Option<String>,
}

impl PolicyStatus {
    /// `version:software:security` versions in force, for the manifest and the status bar.
    pub fn versions(&self) -> serde_json::Value {
        json!({
            "version": self.version.as_ref().map(|p| p.version),
            "software": self.software.as_ref().map(|p| p.version),
            "security": self.security.as_ref().map(|p| p.version),
        })
    }
}

impl Station {
    /// The policy of `T`'s kind in force, verified again with the stored central key.
    fn policy_in_force<T: PolicyDocument>(&self) -> Result<Option<T>, Failure> {
        let core = self.core();
        let Some(text) = core.store.meta(&setting(T::KIND)).map_err(Failure::from)? else {
            return Ok(None);
        };
        let Some(key) = core.server_key.clone() else {
            return Ok(None);
        };
        drop(core);
        let signed: SignedPolicy = serde_json::from_str(&text)
            .map_err(|e| Failure::internal(format!("{} gravada ilegível: {e}", T::KIND.label())))?;
        match signed.verify::<T>(&key) {
            Ok(document) => Ok(Some(document)),
            Err(e) => {
                // A rotated central key, or an edited setting: not in force until the next
                // refresh brings one that verifies.
                tracing::warn!(%e, kind = T::KIND.as_str(), "stored policy no longer verifies");
                Ok(None)
            }
        }
    }

    /// The security policy in force (§15 c), if the central published one.
    pub fn security_policy(&self) -> Result<Option<SecurityPolicy>, Failure> {
        self.policy_in_force()
    }

    /// The lock-out in force (§15 c) for the login guard; the defaults without a policy.
    pub(crate) fn lock_policy(&self) -> LockPolicy {
        match self.security_policy() {
            Ok(Some(p)) => LockPolicy {
                max_failures: p.failures_before_lock,
                lock_time: Duration::from_secs(u64::from(p.lock_minutes) * 60),
            },
            _ => LockPolicy::default(),
        }
    }

    /// §15 c: a new password at least as long as the central's security policy asks (the
    /// store's own floor of 8 characters applies anyway).
    pub(crate) fn check_password_policy(&self, password: &str) -> Result<(), Failure> {
        if let Some(p) = self.security_policy()?
            && password.chars().count() < p.password_min_length as usize
        {
            return Err(Failure::rule(format!(
                "A senha deve ter pelo menos {} caracteres (política de segurança da central, \
                 versão {}). Escolha uma senha mais longa.",
                p.password_min_length, p.version
            )));
        }
        Ok(())
    }

    /// §15 c: how long the window may stay untouched before it locks the session (`None`: no
    /// policy, the window's own rule).
    pub fn idle_lock_after(&self) -> Option<Duration> {
        self.security_policy()
            .ok()
            .flatten()
            .map(|p| Duration::from_secs(u64::from(p.idle_minutes) * 60))
    }

    /// Fetches the central's policies and puts in force each that is signed by `key` and newer
    /// than the one in force. Returns whether the software policy changed (the inventory is
    /// then compared again).
    pub(crate) fn refresh_policies(
        &self,
        client: &CentralClient,
        key: &str,
    ) -> Result<bool, Failure> {
        let set = client
            .policies()
            .map_err(|e| Failure::from(e).context("buscando as políticas da central"))?;
        let mut problems = Vec::new();
        let mut software_changed = false;
        let mut security_changed = false;
        for kind in PolicyKind::ALL {
            let Some(offered) = set.get(kind) else {
                continue;
            };
            let applied = match kind {
                PolicyKind::Version => self.consider::<VersionPolicy>(offered, key, |_| Ok(()))?,
                PolicyKind::Software => {
                    self.consider::<SoftwarePolicy>(offered, key, |_| Ok(()))?
                }
                PolicyKind::Security => {
                    self.consider::<SecurityPolicy>(offered, key, SecurityPolicy::check)?
                }
            };
            match applied {
                Ok(changed) => {
                    software_changed |= changed && kind == PolicyKind::Software;
                    security_changed |= changed && kind == PolicyKind::Security;
                }
                Err(problem) => problems.push(problem),
            }
        }
        if security_changed {
            self.request_usb_policy()?;
        }
        let text =
            serde_json::to_string(&problems).map_err(|e| Failure::internal(e.to_string()))?;
        let mut core = self.core();
        let before = core.store.meta(PROBLEMS).map_err(Failure::from)?;
        if before.as_deref() != Some(text.as_str()) {
            // Audited once per distinct set of problems (not at every sync).
            let mut event =
                AuditEvent::new(self.0.clock.now().ok(), SYSTEM, AuditAction::PolicyRefused);
            event.detail = json!({ "problems": problems });
            if problems.is_empty() {
                core.store
                    .set_meta(PROBLEMS, &text)
                    .map_err(Failure::from)?;
            } else {
                core.store
                    .set_meta_audited(PROBLEMS, &text, event)
                    .map_err(Failure::from)?;
            }
        }
        Ok(software_changed)
    }

    /// Tells the root-owned applier of the USB-storage setting (§15 c) that a new security
    /// policy is in force: `vistoria-usb-policy.path` watches this file and starts
    /// `vistoria policy apply-usb`, which trusts nothing in it (it fetches and verifies the
    /// policy from the central itself); the content is for people reading the folder.
    fn request_usb_policy(&self) -> Result<(), Failure> {
        let Some(policy) = self.policy_in_force::<SecurityPolicy>()? else {
            return Ok(());
        };
        let path = self.data_dir().join(USB_POLICY_REQUEST);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let partial = path.with_extension("part");
            let body = json!({ "version": policy.version, "usb_storage": policy.usb_storage });
            std::fs::write(&partial, format!("{body}\n"))?;
            std::fs::rename(&partial, &path)
        };
        write().map_err(|e| Failure::internal(format!("{}: {e}", path.display())))
    }

    /// One offered policy: `Ok(true)` put in force, `Ok(false)` already in force, `Err` the
    /// problem to show.
    fn consider<T: PolicyDocument>(
        &self,
        offered: &SignedPolicy,
        key: &str,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<Result<bool, String>, Failure> {
        let in_force = self.policy_in_force::<T>()?.map(|p| p.version());
        let label = T::KIND.label();
        match accept::<T>(offered, in_force, key, check) {
            Acceptance::Same => Ok(Ok(false)),
            Acceptance::New(document) => {
                let text =
                    serde_json::to_string(offered).map_err(|e| Failure::internal(e.to_string()))?;
                let mut event =
                    AuditEvent::new(self.0.clock.now().ok(), SYSTEM, AuditAction::PolicyApplied);
                event.detail = json!({
                    "kind": T::KIND.as_str(),
                    "version": document.version(),
                    "previous": in_force,
                });
                self.core()
                    .store
                    .set_meta_audited(&setting(T::KIND), &text, event)
                    .map_err(Failure::from)?;
                tracing::info!(
                    kind = T::KIND.as_str(),
                    version = document.version(),
                    "policy in force"
                );
                Ok(Ok(true))
            }
            Acceptance::Older { offered, in_force } => Ok(Err(format!(
                "{label} versão {offered} da central é mais antiga que a em vigor ({in_force}); \
                 ignorada (não se volta a uma política anterior)"
            ))),
            Acceptance::Refused(e) => Ok(Err(e.to_string())),
        }
    }

    /// Why a new inspection may not start now, in Portuguese with the way forward; `None`
    /// when it may.
    pub fn policy_block(&self) -> Result<Option<String>, Failure> {
        if let Some(version) = self.policy_in_force::<VersionPolicy>()?
            && version.below_minimum(RUNNING_VERSION)
        {
            return Ok(Some(format!(
                "Esta versão do Vistoria ({RUNNING_VERSION}) está abaixo da mínima exigida pela \
                 central ({}): as vistorias abertas podem ser concluídas, mas nenhuma nova. Peça ao \
                 técnico que instale a atualização {} em Diagnóstico.",
                version.minimum, version.current
            )));
        }
        if let Some(software) = self.policy_in_force::<SoftwarePolicy>()?
            && software.block
        {
            let found = self.found_offenders()?;
            if !found.offenders.is_empty() && found.policy_version == Some(software.version) {
                let list: Vec<String> = found.offenders.iter().map(ToString::to_string).collect();
                return Ok(Some(format!(
                    "Há software não autorizado pela central nesta estação ({}): nenhuma vistoria \
                     nova até que seja removido. A lista está em Diagnóstico; chame o técnico.",
                    list.join(", ")
                )));
            }
        }
        Ok(None)
    }

    fn found_offenders(&self) -> Result<FoundOffenders, Failure> {
        let text = self.core().store.meta(OFFENDERS).map_err(Failure::from)?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Collects the inventory, compares it with the software policy in force and sends it to
    /// the central (which flags the station when something is not allowed). The station's own
    /// comparison is kept even when the central cannot be reached.
    pub fn check_inventory(&self) -> Result<InventoryAck, Failure> {
        let now = self.now()?;
        let inventory = crate::inventory::collect(now.at);
        let software = self.policy_in_force::<SoftwarePolicy>()?;
        let found = FoundOffenders {
            policy_version: software.as_ref().map(|p| p.version),
            offenders: software
                .as_ref()
                .map(|p| p.offenders(&inventory))
                .unwrap_or_default(),
        };
        let text = serde_json::to_string(&found).map_err(|e| Failure::internal(e.to_string()))?;
        self.core()
            .store
            .set_meta(OFFENDERS, &text)
            .map_err(Failure::from)?;
        if !found.offenders.is_empty() {
            tracing::warn!(
                offenders = found.offenders.len(),
                "software not allowed by the central"
            );
        }
        let client = self.core().client.clone();
        client
            .send_inventory(&inventory)
            .map_err(|e| Failure::from(e).context("enviando o inventário à central"))
    }

    /// The policies in force and their problems, for Diagnóstico.
    pub fn policy_status(&self) -> Result<PolicyStatus, Failure> {
        let problems = self
            .core()
            .store
            .meta(PROBLEMS)
            .map_err(Failure::from)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Ok(PolicyStatus {
            running_version: RUNNING_VERSION.to_owned(),
            version: self.policy_in_force()?,
            software: self.policy_in_force()?,
            security: self.policy_in_force()?,
            problems,
            offenders: self.found_offenders()?.offenders,
            block: self.policy_block()?,
            usb_applied: std::fs::read_to_string(self.data_dir().join(USB_POLICY_APPLIED))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok()),
        })
    }
}

/// The file (under the data folder) whose change starts the root-owned applier of the
/// security policy's USB-storage setting (`vistoria-usb-policy.path`).
pub const USB_POLICY_REQUEST: &str = "policy/usb-storage.request";

/// What the root-owned applier did, written by it (JSON, [`UsbApplied`]).
pub const USB_POLICY_APPLIED: &str = "policy/usb-storage.applied";

/// The spool folder (under the data folder) where a verified release waits for the root-owned
/// installer, beside the signed version policy that names its SHA-256.
pub const UPDATE_SPOOL: &str = "updates";

/// Largest package the station downloads (the policy's size is checked exactly; this bounds a
/// forged size).
const MAX_PACKAGE_BYTES: u64 = 512 * 1024 * 1024;

impl Station {
    /// §15 a, a technician's "Instalar atualização": downloads the release the version policy
    /// in force offers, checks its size and SHA-256 against that signed policy, and leaves it
    /// with the signed policy in the spool folder for the root-owned installer. Returns the
    /// verified package's path. A package that does not match is deleted, never spooled.
    pub fn download_update(&self, session: &crate::Session) -> Result<std::path::PathBuf, Failure> {
        self.require(session, crate::roles::SUPPORT)?;
        let Some(policy) = self.policy_in_force::<VersionPolicy>()? else {
            return Err(Failure::rule(
                "A central ainda não publicou uma política de versões; não há atualização a instalar.",
            ));
        };
        if !policy.update_available(RUNNING_VERSION) {
            return Err(Failure::rule(format!(
                "Esta estação já roda a versão {RUNNING_VERSION}; a atual da central é {}.",
                policy.current
            )));
        }
        let spool = self.data_dir().join(UPDATE_SPOOL);
        std::fs::create_dir_all(&spool)
            .map_err(|e| Failure::internal(format!("pasta de atualizações: {e}")))?;
        let name = format!("vistoria_{}.deb", policy.current.replace(['/', ':'], "_"));
        let partial = spool.join(format!(".{name}.part"));
        let client = self.core().client.clone();
        let downloaded = (|| {
            let mut file = std::fs::File::create(&partial)
                .map_err(|e| Failure::internal(format!("{}: {e}", partial.display())))?;
            let size = client
                .download(
                    &policy.package_path,
                    &mut file,
                    policy.package_size.min(MAX_PACKAGE_BYTES),
                )
                .map_err(|e| Failure::from(e).context("baixando a atualização"))?;
            file.sync_all()
                .map_err(|e| Failure::internal(format!("{}: {e}", partial.display())))?;
            let bytes_sha = std::fs::File::open(&partial)
                .and_then(vistoria_core::hashing::Digests::of_reader)
                .map_err(|e| Failure::internal(format!("{}: {e}", partial.display())))?
                .sha256;
            if size != policy.package_size || bytes_sha != policy.package_sha256 {
                return Err(Failure::rule(format!(
                    "O pacote baixado não confere com a política de versões assinada pela central \
                     (tamanho {size} de {} bytes, SHA-256 {bytes_sha}); descartado. Tente de novo ou \
                     avise a central.",
                    policy.package_size
                )));
            }
            Ok(())
        })();
        if let Err(e) = downloaded {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        let signed = self
            .core()
            .store
            .meta(&setting(PolicyKind::Version))
            .map_err(Failure::from)?
            .unwrap_or_default();
        let target = spool.join(&name);
        std::fs::write(spool.join(format!("{name}.policy.json")), signed)
            .and_then(|()| std::fs::rename(&partial, &target))
            .map_err(|e| Failure::internal(format!("{}: {e}", target.display())))?;
        tracing::info!(version = %policy.current, path = %target.display(), "update verified and spooled");
        Ok(target)
    }
}
