//! The support zip a technician sends the help desk from Diagnóstico: logs and diagnostics,
//! never evidence (§9, issue 19). What goes in is an allow-list, not a deny-list: the summary
//! the station writes, and the regular files directly in the log folder that are named as the
//! logger names them (`vistoria.YYYY-MM-DD.log`, `vistoria-panic.log`) and are text. Anything
//! else there — a photo, a film, a laudo PDF, the database, a template, a file renamed to look
//! like a log — is left out and named (with its size) in the summary, so the help desk knows.

use std::io::Write as _;
use std::path::Path;

/// The summary's name in the zip.
pub(crate) const SUMMARY: &str = "diagnostico.txt";
/// The folder of the logs in the zip.
const LOGS: &str = "logs/";

/// Leading bytes of the kinds of evidence a station holds (photos, films, laudo PDFs) and of
/// what must never leave it in a support zip (the database, sealed templates).
const MAGIC: &[(&[u8], &str)] = &[
    (b"\xFF\xD8\xFF", "JPEG"),
    (b"\x89PNG", "PNG"),
    (b"%PDF", "PDF"),
    (b"\x1A\x45\xDF\xA3", "Matroska/WebM"),
    (b"SQLite format 3", "SQLite"),
    (b"VFE1", "modelo biométrico"),
    (b"II*\0", "TIFF"),
    (b"MM\0*", "TIFF"),
    (b"PK\x03\x04", "zip"),
];

/// What kind of evidence `bytes` look like, if any: the magic numbers above, an MP4's `ftyp`
/// box, or an MPEG transport stream's sync bytes.
pub fn evidence_kind(bytes: &[u8]) -> Option<&'static str> {
    if let Some((_, kind)) = MAGIC.iter().find(|(m, _)| bytes.starts_with(m)) {
        return Some(kind);
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return Some("MP4");
    }
    if bytes.len() >= 376 && bytes[0] == 0x47 && bytes[188] == 0x47 {
        return Some("MPEG-TS");
    }
    None
}

/// Whether a file in the log folder is named as the logger names its files.
fn is_log_name(name: &str) -> bool {
    name.starts_with("vistoria")
        && name.ends_with(".log")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Why a log-folder file stays out of the zip, if it does.
fn refused(name: &str, bytes: &[u8]) -> Option<String> {
    if !is_log_name(name) {
        return Some("não é um arquivo de registro".to_owned());
    }
    if let Some(kind) = evidence_kind(bytes) {
        return Some(format!("conteúdo {kind}"));
    }
    if bytes.contains(&0) || std::str::from_utf8(bytes).is_err() {
        return Some("não é texto".to_owned());
    }
    None
}

/// Writes the support zip at `path`: the logs of `log_dir` that pass the allow-list and the
/// `summary` (with the files left out named at its end). Returns the entries written.
pub(crate) fn write_zip(path: &Path, log_dir: &Path, summary: &str) -> Result<Vec<String>, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut files: Vec<_> = std::fs::read_dir(log_dir)
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    files.sort_by_key(std::fs::DirEntry::file_name);
    let mut entries = Vec::new();
    let mut left_out = Vec::new();
    for file in files {
        let name = file.file_name().to_string_lossy().into_owned();
        // Only regular files: a folder or a link (to the media, say) is not a log.
        if !file.file_type().is_ok_and(|t| t.is_file()) {
            left_out.push(format!("{name}: não é um arquivo comum"));
            continue;
        }
        let bytes = std::fs::read(file.path()).map_err(|e| format!("{name}: {e}"))?;
        if let Some(why) = refused(&name, &bytes) {
            tracing::warn!(file = %file.path().display(), %why, "left out of the support zip");
            left_out.push(format!("{name} ({} bytes): {why}", bytes.len()));
            continue;
        }
        let entry = format!("{LOGS}{name}");
        zip.start_file(entry.as_str(), options)
            .map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
        entries.push(entry);
    }
    let mut summary = summary.to_owned();
    if !left_out.is_empty() {
        summary.push_str("\narquivos da pasta de registros deixados de fora:\n");
        for line in &left_out {
            summary.push_str(&format!("  {line}\n"));
        }
    }
    zip.start_file(SUMMARY, options)
        .map_err(|e| e.to_string())?;
    zip.write_all(summary.as_bytes())
        .map_err(|e| e.to_string())?;
    entries.push(SUMMARY.to_owned());
    zip.finish().map_err(|e| e.to_string())?;
    Ok(entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read as _;

    use super::*;

    /// A log folder full of what must never leave the station, beside real logs.
    #[test]
    fn a_support_zip_holds_only_logs_and_the_summary_whatever_lies_beside_them() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log = b"2026-05-04T10:00:00Z INFO vistoria: started\n";
        std::fs::write(logs.join("vistoria.2026-05-04.log"), log).unwrap();
        std::fs::write(logs.join("vistoria-panic.log"), b"--- panic\n").unwrap();
        let evidence: &[(&str, &[u8])] = &[
            ("foto.jpg", b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            ("vistoria.jpg.log", b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            ("vistoria.2026-05-05.log", b"%PDF-1.7 laudo"),
            ("vistoria.png.log", b"\x89PNG\r\n\x1a\n"),
            ("vistoria.mp4.log", b"\0\0\0\x20ftypisom"),
            ("vistoria.mkv.log", b"\x1A\x45\xDF\xA3"),
            ("vistoria.db.log", b"SQLite format 3\0"),
            ("vistoria.vfe.log", b"VFE1\x01\x02"),
            ("vistoria.bin.log", b"texto\0binario"),
            ("vistoria.db", b"SQLite format 3\0"),
            ("segment-00000.mp4", b"\0\0\0\x20ftypisom"),
            ("laudo.pdf", b"%PDF-1.7"),
            ("ana.vfe", b"VFE1"),
        ];
        for (name, bytes) in evidence {
            std::fs::write(logs.join(name), bytes).unwrap();
        }
        let mut ts = vec![0u8; 188 * 3];
        for chunk in ts.chunks_mut(188) {
            chunk[0] = 0x47;
        }
        std::fs::write(logs.join("vistoria.ts.log"), &ts).unwrap();
        std::fs::create_dir_all(logs.join("media")).unwrap();
        std::os::unix::fs::symlink(logs.join("foto.jpg"), logs.join("vistoria.link.log")).unwrap();

        let path = dir.path().join("suporte.zip");
        let entries = write_zip(&path, &logs, "estação: teste\n").unwrap();
        assert_eq!(
            entries,
            [
                "logs/vistoria-panic.log",
                "logs/vistoria.2026-05-04.log",
                SUMMARY
            ]
        );

        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(zip.len(), 3);
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let name = entry.name().to_owned();
            assert!(entries.contains(&name), "{name} is not on the allow-list");
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            assert_eq!(evidence_kind(&bytes), None, "{name}");
            assert!(std::str::from_utf8(&bytes).is_ok(), "{name} is not text");
        }
        let mut summary = String::new();
        zip.by_name(SUMMARY)
            .unwrap()
            .read_to_string(&mut summary)
            .unwrap();
        for (name, _) in evidence {
            assert!(summary.contains(name), "{name} not named:\n{summary}");
        }
        assert!(summary.contains("vistoria.ts.log"), "{summary}");
        assert!(summary.contains("vistoria.link.log"), "{summary}");
    }

    #[test]
    fn evidence_is_known_by_its_bytes() {
        assert_eq!(evidence_kind(b"\xFF\xD8\xFF\xDB"), Some("JPEG"));
        assert_eq!(evidence_kind(b"\0\0\0\x18ftypmp42"), Some("MP4"));
        assert_eq!(evidence_kind(b"%PDF-1.4"), Some("PDF"));
        assert_eq!(evidence_kind(b"2026-05-04 INFO ok"), None);
    }
}
