//! The inspector's signature of the laudo (§14, 2j), checked at commit: every `.p7s` of a
//! package must be a valid CAdES-BES signature (contentType, messageDigest, signingTime,
//! signingCertificateV2, AD-RB policy, the signature itself) over the package's laudo, by
//! the e-CPF of the inspector the laudo names. A package that says it was signed with a
//! certificate must carry its `.p7s`.

use std::io::Read;

use vistoria_core::laudo::Laudo;
use vistoria_core::signing::{mask_cpf, verify_p7s};
use vistoria_core::wire::{MediaKind, PackageManifest};

/// Checks the signatures of `manifest`, reading each file's bytes with `read`. `Err` is the
/// reason given to the station, in Portuguese.
pub fn check(
    manifest: &PackageManifest,
    read: &dyn Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<(), String> {
    let named = |kind: MediaKind| -> Vec<&str> {
        manifest
            .files
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.name.as_str())
            .collect()
    };
    let signatures = named(MediaKind::Signature);
    let claims_certificate = manifest
        .metadata
        .get("signature")
        .and_then(|s| s.get("certificate"))
        .is_some_and(|c| !c.is_null());
    if signatures.is_empty() {
        return if claims_certificate {
            Err("a vistoria consta como assinada com e-CPF, mas o pacote não traz a assinatura (.p7s) do laudo".into())
        } else {
            Ok(())
        };
    }
    let laudos = named(MediaKind::Laudo);
    let [laudo_name] = laudos.as_slice() else {
        return Err(format!(
            "o pacote traz assinatura (.p7s) e {} laudos; deveria trazer exatamente um",
            laudos.len()
        ));
    };
    let bytes = read(laudo_name).map_err(|e| format!("laudo «{laudo_name}» ilegível: {e}"))?;
    let laudo = Laudo::from_canonical(&bytes)
        .map_err(|e| format!("laudo «{laudo_name}» não é um laudo canônico: {e}"))?;
    if laudo.inspection_id != manifest.inspection_id.to_string() {
        return Err(format!(
            "o laudo «{laudo_name}» é de outra vistoria ({})",
            laudo.inspection_id
        ));
    }
    for name in signatures {
        let p7s = read(name).map_err(|e| format!("assinatura «{name}» ilegível: {e}"))?;
        verify_p7s(&bytes, &p7s, &laudo.inspector.cpf).map_err(|e| {
            format!(
                "assinatura «{name}» do laudo recusada (vistoriador CPF {}): {e}",
                mask_cpf(&laudo.inspector.cpf)
            )
        })?;
    }
    Ok(())
}

/// Reads a whole blob.
pub fn read_all(mut reader: Box<dyn Read + Send>) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}
