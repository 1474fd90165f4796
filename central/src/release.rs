//! Publishing what stations obey (§15 of Anexo II): releases of the station software with
//! their signed version policy (§15 a), and the software and security policies (§15 b, c) from
//! a TOML file. Each document is signed here, once, with the central's receipt key, and stored
//! signed in the metadata store: every instance of the central then serves the same bytes, and
//! nothing a station obeys lives in one process's memory.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, SubsecRound as _, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use vistoria_core::policy::{
    PolicyDocument, SecurityPolicy, SignedPolicy, SoftwarePolicy, VersionPolicy, compare_versions,
};

use crate::keys::ServerKey;
use crate::storage::devices::{PolicyRecord, RELEASES, ReleaseRecord};
use crate::storage::{BlobStore, MetadataStore, PackageKey};

/// The Debian package a release must be.
pub const PACKAGE_NAME: &str = "vistoria";

/// The blob name of a release's package.
pub fn blob_name(version: &str) -> String {
    format!("vistoria_{}.deb", version.replace([':', '~', '+'], "_"))
}

/// Where stations fetch the release of `version`, under the API prefix.
pub fn release_path(version: &str) -> String {
    format!("/releases/{version}")
}

/// Reads `Package` and `Version` from a `.deb`'s control file with `dpkg-deb -f`.
pub fn deb_identity(path: &Path) -> anyhow::Result<(String, String)> {
    let out = std::process::Command::new("dpkg-deb")
        .arg("-f")
        .arg(path)
        .args(["Package", "Version"])
        .output()
        .context("não foi possível executar dpkg-deb (instale o pacote dpkg)")?;
    if !out.status.success() {
        bail!(
            "{} não é um pacote .deb legível: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match (field("Package"), field("Version")) {
        (Some(p), Some(v)) => Ok((p, v)),
        _ => bail!(
            "{}: controle do pacote sem Package ou Version",
            path.display()
        ),
    }
}

/// Signs the next version of a policy (`make` builds it from the version and issue time) and
/// stores it. A publication racing another on a second instance takes the version after.
pub fn publish_policy<T: PolicyDocument>(
    meta: &dyn MetadataStore,
    key: &ServerKey,
    now: DateTime<Utc>,
    make: impl Fn(u64) -> T,
) -> anyhow::Result<T> {
    let kind = T::KIND.as_str();
    for _ in 0..10 {
        let next = meta.latest_policy(kind)?.map_or(1, |p| p.version + 1);
        let document = make(next);
        let signed = SignedPolicy::sign(&document, |bytes| key.sign_bytes(bytes))?;
        let record = PolicyRecord {
            kind: kind.to_owned(),
            version: next,
            published_at: now,
            signed: serde_json::to_string(&signed)?,
        };
        if meta.insert_policy(&record)? {
            return Ok(document);
        }
    }
    bail!(
        "não foi possível publicar a {}: outra publicação simultânea",
        T::KIND.label()
    )
}

/// Stores the `.deb` at `path` as a release and publishes the version policy that makes it
/// current with `minimum` as the lowest version stations may run.
pub fn publish_release(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    key: &ServerKey,
    path: &Path,
    minimum: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<VersionPolicy> {
    // Documents carry times to the millisecond, as the wire does.
    let now = now.trunc_subsecs(3);
    let (package, version) = deb_identity(path)?;
    if package != PACKAGE_NAME {
        bail!(
            "o pacote é «{package}», não «{PACKAGE_NAME}»: só o Vistoria é distribuído às estações"
        );
    }
    if minimum.trim().is_empty() || compare_versions(minimum, &version).is_gt() {
        bail!(
            "--min-version {minimum} acima da versão publicada {version}: nenhuma estação poderia \
             trabalhar; publique primeiro a versão mínima"
        );
    }
    let blob = Uuid::new_v4();
    let blob_key = PackageKey::new(RELEASES, blob);
    let name = blob_name(&version);
    let mut file =
        std::fs::File::open(path).with_context(|| format!("abrindo {}", path.display()))?;
    let mut writer = blobs.append(&blob_key, &name, 0)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        writer.write(&buffer[..n])?;
        size += n as u64;
    }
    writer.finish()?;
    blobs.seal(&blob_key, &name)?;
    let sha256 = hex::encode(hasher.finalize());
    meta.put_release(&ReleaseRecord {
        version: version.clone(),
        sha256: sha256.clone(),
        size,
        blob,
        published_at: now,
    })?;
    publish_policy(meta, key, now, |v| VersionPolicy {
        version: v,
        issued_at: now,
        current: version.clone(),
        package_sha256: sha256.clone(),
        package_size: size,
        package_path: release_path(&version),
        minimum: minimum.trim().to_owned(),
    })
}

/// The policy file of `vistoria-central policy set`: either section, or both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// §15 b.
    pub software: Option<SoftwareSection>,
    /// §15 c.
    pub security: Option<SecuritySection>,
}

/// `[software]`: see [`SoftwarePolicy`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftwareSection {
    /// Allowed packages.
    pub packages: Vec<String>,
    /// Allowed running executables.
    pub executables: Vec<String>,
    /// Allowed kernel modules.
    pub modules: Vec<String>,
    /// Allowed USB devices.
    pub usb: Vec<String>,
    /// Whether an offender blocks new inspections.
    pub block: bool,
}

/// `[security]`: see [`SecurityPolicy`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySection {
    /// Shortest password.
    pub password_min_length: u32,
    /// Failures before the lock.
    pub failures_before_lock: u32,
    /// Lock length.
    pub lock_minutes: u32,
    /// Idle time before the kiosk locks.
    pub idle_minutes: u32,
    /// Whether USB storage may be mounted.
    pub usb_storage: bool,
    /// Days of logs kept.
    pub log_retention_days: u32,
}

/// What `policy set` published.
#[derive(Debug, Default, serde::Serialize)]
pub struct Published {
    /// The new software policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<SoftwarePolicy>,
    /// The new security policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityPolicy>,
}

/// Publishes the sections of a policy file (`text`, TOML), each as a new signed version.
pub fn publish_policy_file(
    meta: &dyn MetadataStore,
    key: &ServerKey,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Published> {
    let now = now.trunc_subsecs(3);
    let file: PolicyFile = toml::from_str(text).context("arquivo de política inválido")?;
    if file.software.is_none() && file.security.is_none() {
        bail!("o arquivo não tem seção [software] nem [security]; nada a publicar");
    }
    if let Some(s) = &file.security {
        // Checked before anything is published, so a file is taken whole or not at all.
        security_of(s, 0, now)
            .check()
            .map_err(|e| anyhow::anyhow!("[security]: {e}"))?;
    }
    if let Some(s) = &file.software {
        for pattern in s
            .packages
            .iter()
            .chain(&s.executables)
            .chain(&s.modules)
            .chain(&s.usb)
        {
            if pattern.trim().is_empty() {
                bail!("[software]: padrão vazio na lista; use \"*\" para permitir tudo");
            }
        }
    }
    let mut published = Published::default();
    if let Some(s) = &file.software {
        published.software = Some(publish_policy(meta, key, now, |v| SoftwarePolicy {
            version: v,
            issued_at: now,
            packages: s.packages.clone(),
            executables: s.executables.clone(),
            modules: s.modules.clone(),
            usb: s.usb.iter().map(|u| u.to_ascii_lowercase()).collect(),
            block: s.block,
        })?);
    }
    if let Some(s) = &file.security {
        published.security = Some(publish_policy(meta, key, now, |v| security_of(s, v, now))?);
    }
    Ok(published)
}

fn security_of(s: &SecuritySection, version: u64, now: DateTime<Utc>) -> SecurityPolicy {
    SecurityPolicy {
        version,
        issued_at: now,
        password_min_length: s.password_min_length,
        failures_before_lock: s.failures_before_lock,
        lock_minutes: s.lock_minutes,
        idle_minutes: s.idle_minutes,
        usb_storage: s.usb_storage,
        log_retention_days: s.log_retention_days,
    }
}

/// `vistoria-central station show`: what the central knows of a station's devices (§15 b).
pub fn station_devices(meta: &dyn MetadataStore, code: &str) -> anyhow::Result<serde_json::Value> {
    let Some(record) = meta.inventory(code)? else {
        return Ok(serde_json::json!({
            "station": code,
            "inventory": null,
            "flagged": false,
        }));
    };
    let offenders: serde_json::Value = serde_json::from_str(&record.offenders)?;
    let inventory: serde_json::Value = serde_json::from_str(&record.inventory)?;
    Ok(serde_json::json!({
        "station": code,
        "inventory_received_at": vistoria_core::wire::rfc3339_ms::format(&record.received_at),
        "running_version": inventory.get("running_version"),
        "software_policy_version": record.policy_version,
        "flagged": record.offender_count > 0,
        "offenders": offenders,
    }))
}
