//! An inspection's evidence as the portal shows it, read again from the stored bytes at each
//! view: each file's MD5 and SHA-256 recomputed (2e, §8) and compared with the manifest's, and
//! the laudo's signature (§14) checked again over the stored laudo: CAdES structure, signer's
//! CPF and the path to a configured ICP-Brasil root at the signing time. The LCR was checked at
//! reception (`api::signature`); the page does not fetch LCRs again.

use std::borrow::Cow;
use std::collections::HashMap;

use vistoria_core::film;
use vistoria_core::hashing::Digests;
use vistoria_core::laudo::Laudo;
use vistoria_core::signing::{VerifiedSignature, mask_cpf, verify_p7s};
use vistoria_core::wire::{MediaKind, PackageStatus};

use crate::api::AppState;
use crate::storage::{FileRecord, PackageRecord};

/// Files larger than this (film segments) are not re-read at each page view; their check at
/// reception is shown instead.
pub const RECHECK_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// A file's digests against the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// Recomputed now: whether MD5 and SHA-256 match the manifest's.
    Done {
        /// MD5 of the stored bytes.
        md5: String,
        /// SHA-256 of the stored bytes.
        sha256: String,
        /// Both equal the manifest's.
        md5_ok: bool,
        /// SHA-256 equals the manifest's.
        sha256_ok: bool,
    },
    /// The bytes could not be read (missing blob, store failure).
    Unreadable(String),
    /// Too large to re-read at each view.
    Skipped,
    /// The package is still being received: its bytes are not final.
    Pending,
}

/// Recomputes `file`'s digests over `bytes`, its stored content.
fn recheck(file: &FileRecord, bytes: &[u8]) -> Recheck {
    let d = Digests::of(bytes);
    Recheck::Done {
        md5_ok: d.md5.eq_ignore_ascii_case(&file.md5),
        sha256_ok: d.sha256.eq_ignore_ascii_case(&file.sha256),
        md5: d.md5,
        sha256: d.sha256,
    }
}

/// A package's stored files as one page reads them: each read from the blob store once, the
/// small documents (laudo, `.p7s`, recorder manifests) kept for the sections that show them.
pub struct Stored<'a> {
    state: &'a AppState,
    package: &'a PackageRecord,
    kept: HashMap<String, Vec<u8>>,
}

impl<'a> Stored<'a> {
    /// Nothing read yet: each document is read when asked for.
    pub fn new(state: &'a AppState, package: &'a PackageRecord) -> Stored<'a> {
        Stored {
            state,
            package,
            kept: HashMap::new(),
        }
    }

    /// Reads every file once: its digests recomputed when the package is verified (a package
    /// still being received has no final bytes), the documents kept.
    pub fn rechecked(
        state: &'a AppState,
        package: &'a PackageRecord,
    ) -> (Vec<Recheck>, Stored<'a>) {
        let mut stored = Stored::new(state, package);
        let verified = package.status == PackageStatus::Verified;
        let rechecks = package
            .files
            .iter()
            .map(|file| {
                let document = is_document(file);
                if !verified || file.size > RECHECK_MAX_BYTES {
                    if let Some(bytes) = document
                        .then(|| read(state, package, &file.name).ok())
                        .flatten()
                    {
                        stored.kept.insert(file.name.clone(), bytes);
                    }
                    return if verified {
                        Recheck::Skipped
                    } else {
                        Recheck::Pending
                    };
                }
                match read(state, package, &file.name) {
                    Ok(bytes) => {
                        let done = recheck(file, &bytes);
                        if document {
                            stored.kept.insert(file.name.clone(), bytes);
                        }
                        done
                    }
                    Err(e) => Recheck::Unreadable(e),
                }
            })
            .collect();
        (rechecks, stored)
    }

    /// The bytes of the file named `name`: as kept, else read now.
    pub fn bytes(&self, name: &str) -> Result<Cow<'_, [u8]>, String> {
        match self.kept.get(name) {
            Some(bytes) => Ok(Cow::Borrowed(bytes)),
            None => read(self.state, self.package, name).map(Cow::Owned),
        }
    }

    /// The package's files of `kind`.
    pub fn named(&self, kind: MediaKind) -> impl Iterator<Item = &'a FileRecord> {
        self.package.files.iter().filter(move |f| f.kind == kind)
    }
}

/// A file the page shows from its content, not only by its digests.
fn is_document(file: &FileRecord) -> bool {
    matches!(file.kind, MediaKind::Laudo | MediaKind::Signature)
        || (file.kind == MediaKind::Other && file.name.starts_with(film::MANIFEST_KIND))
}

/// The laudo's signature as checked now.
#[derive(Debug)]
pub enum SignatureState {
    /// The package carries no `.p7s` (a given-up inspection, or one without e-CPF).
    Absent,
    /// Valid: the signature and the path to a root.
    Valid(Box<VerifiedSignature>),
    /// Not valid, and why (in Portuguese).
    Invalid(String),
}

/// The stored bytes of the package's file named `name`.
pub fn read(state: &AppState, package: &PackageRecord, name: &str) -> Result<Vec<u8>, String> {
    state
        .blobs
        .open(&package.key(), name)
        .map_err(|e| e.to_string())
        .and_then(|mut reader| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut reader, &mut bytes).map_err(|e| e.to_string())?;
            Ok(bytes)
        })
}

/// A stored laudo parsed, with its canonical bytes.
pub type StoredLaudo<'s> = (Laudo, Cow<'s, [u8]>);

/// The stored laudo, parsed (`None` when the package has none).
pub fn laudo<'s>(stored: &'s Stored<'_>) -> Result<Option<StoredLaudo<'s>>, String> {
    let Some(file) = stored.named(MediaKind::Laudo).next() else {
        return Ok(None);
    };
    let bytes = stored.bytes(&file.name)?;
    let laudo = Laudo::from_canonical(&bytes)
        .map_err(|e| format!("o laudo armazenado não é um laudo canônico: {e}"))?;
    Ok(Some((laudo, bytes)))
}

/// Checks the laudo's signature again over the stored bytes.
pub fn signature(state: &AppState, stored: &Stored<'_>) -> SignatureState {
    let Some(p7s) = stored.named(MediaKind::Signature).next() else {
        return SignatureState::Absent;
    };
    let (laudo, laudo_bytes) = match laudo(stored) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return SignatureState::Invalid(
                "o pacote traz assinatura, mas não traz o laudo".into(),
            );
        }
        Err(e) => return SignatureState::Invalid(e),
    };
    let p7s = match stored.bytes(&p7s.name) {
        Ok(bytes) => bytes,
        Err(e) => return SignatureState::Invalid(format!("assinatura ilegível: {e}")),
    };
    let verified = match verify_p7s(&laudo_bytes, &p7s, &laudo.inspector.cpf) {
        Ok(v) => v,
        Err(e) => {
            return SignatureState::Invalid(format!(
                "não confere com o laudo armazenado (vistoriador CPF {}): {e}",
                mask_cpf(&laudo.inspector.cpf)
            ));
        }
    };
    let roots = state.trust.roots();
    // The path as it stood when the laudo was signed (an e-CPF expires; the laudo stays valid).
    match verified.check_path(&roots, &[], verified.signing_time) {
        Ok(_) => SignatureState::Valid(Box::new(verified)),
        Err(e) => SignatureState::Invalid(format!("certificado do signatário: {e}")),
    }
}
