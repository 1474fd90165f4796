//! What this station holds (§15 b of Anexo II): installed Debian packages, running executables,
//! loaded kernel modules and attached USB devices, read from `dpkg-query`, `/proc` and `/sys`
//! as they are now. Sent to the central at start and every hour; the station compares it with
//! the signed software policy itself too, so a block does not wait for the central's answer.

use std::path::Path;

use vistoria_core::policy::{InstalledPackage, Inventory};

/// Reads the inventory. A source that cannot be read (no `dpkg-query` on a developer's
/// machine, another user's process) contributes nothing rather than failing the whole: what
/// could be read is still worth comparing.
pub fn collect(collected_at: chrono::DateTime<chrono::Utc>) -> Inventory {
    let mut inventory = Inventory {
        collected_at,
        running_version: crate::policy::RUNNING_VERSION.to_owned(),
        packages: packages(),
        executables: executables(Path::new("/proc")),
        modules: modules(Path::new("/proc/modules")),
        usb: usb(Path::new("/sys/bus/usb/devices")),
    };
    inventory.packages.sort();
    inventory.packages.dedup();
    for list in [
        &mut inventory.executables,
        &mut inventory.modules,
        &mut inventory.usb,
    ] {
        list.sort();
        list.dedup();
    }
    inventory
}

/// Installed packages (`dpkg-query`'s "install ok installed" only: a removed package whose
/// configuration remains is not installed software).
fn packages() -> Vec<InstalledPackage> {
    let out = std::process::Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${db:Status-Abbrev}\t${binary:Package}\t${Version}\n",
        ])
        .output();
    let Ok(out) = out else {
        tracing::warn!("dpkg-query indisponível: inventário sem pacotes");
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let status = fields.next()?;
            let (name, version) = (fields.next()?, fields.next()?);
            status.starts_with("ii").then(|| InstalledPackage {
                name: name.to_owned(),
                version: version.to_owned(),
            })
        })
        .collect()
}

/// Paths of running executables (`/proc/*/exe`); kernel threads have none.
fn executables(proc: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_link(e.path().join("exe")).ok())
        .map(|p| {
            // A replaced binary still running reads "/usr/bin/x (deleted)": the path is what
            // the policy knows.
            let text = p.to_string_lossy().into_owned();
            text.strip_suffix(" (deleted)")
                .map(str::to_owned)
                .unwrap_or(text)
        })
        .collect()
}

/// Loaded kernel modules: the first field of each line of `/proc/modules`.
fn modules(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// USB devices as `vendor:product` (lowercase hex) from `/sys/bus/usb/devices/*/id*`.
fn usb(devices: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(devices) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let read = |name: &str| {
                std::fs::read_to_string(e.path().join(name))
                    .ok()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            };
            Some(format!("{}:{}", read("idVendor")?, read("idProduct")?))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        let inventory = collect(chrono::Utc::now());
        // The test runner itself is running, from a path.
        let me = std::env::current_exe().unwrap();
        let me = me.to_string_lossy();
        assert!(
            inventory.executables.iter().any(|e| *e == me),
            "{me} not in {:?}",
            inventory.executables
        );
        // On Debian (the platform), dpkg itself is installed.
        if Path::new("/var/lib/dpkg/status").exists() {
            assert!(inventory.packages.iter().any(|p| p.name == "dpkg"));
        }
        if Path::new("/proc/modules").exists() {
            let listed = std::fs::read_to_string("/proc/modules")
                .unwrap()
                .lines()
                .count();
            assert_eq!(inventory.modules.len(), listed);
        }
    }

    #[test]
    fn usb_ids_are_read_from_sysfs_layout() {
        let dir = tempfile::tempdir().unwrap();
        for (name, vendor, product) in [("1-1", "05BA", "000a"), ("usb1", "1d6b", "0002")] {
            let d = dir.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("idVendor"), format!("{vendor}\n")).unwrap();
            std::fs::write(d.join("idProduct"), format!("{product}\n")).unwrap();
        }
        // An interface folder has no ids.
        std::fs::create_dir(dir.path().join("1-1:1.0")).unwrap();
        let mut ids = usb(dir.path());
        ids.sort();
        assert_eq!(ids, ["05ba:000a", "1d6b:0002"]);
    }
}
