//! The signature of the laudo (§14, 2j, 2q): after the biometric re-check, the inspector's
//! e-CPF card signs the laudo's canonical bytes (CAdES-BES detached, AD-RB); the laudo and its
//! `.p7s` are stored as the inspection's media, so they travel in its package to the central,
//! which verifies them; the PDF shows the signature block; then the package is queued (2s) and
//! the laudo printed (§10).
//!
//! Everything that can fail at the card (no card, wrong or locked PIN, certificate of someone
//! else, expired, without digitalSignature, card removed) fails before anything is stored: the
//! inspection stays concluded, listed for the inspector, and can be signed again.

use serde_json::json;
use vistoria_core::domain::{InspectionId, SignatureInfo, StateKind};
use vistoria_core::laudo::SignatureBlock;
use vistoria_core::signing::mask_cpf;
use vistoria_core::store::{AuditAction, AuditEvent};

use super::{Failure, InspectionRow, Session, Station};

/// What a signature produced, for the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    /// The queued inspection.
    pub row: InspectionRow,
    /// What printing did.
    pub printed: String,
    /// Certificate holder.
    pub signer: String,
    /// Certificate serial, hex.
    pub serial: String,
    /// SHA-256 of the `.p7s`.
    pub p7s_sha256: String,
}

/// The holder's name without the `:CPF` ICP-Brasil certificates append to the CN.
fn holder(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((n, cpf)) if cpf.len() == 11 && cpf.bytes().all(|b| b.is_ascii_digit()) => {
            n.trim().to_owned()
        }
        _ => name.trim().to_owned(),
    }
}

impl Station {
    /// Signs the laudo of concluded inspection `id` with the inspector's card and `pin`, after
    /// the §14 biometric re-check the station made itself ([`Station::confirm_fingerprint`]; its
    /// score, threshold, finger and time go into the laudo), stores laudo and `.p7s`, queues
    /// the package and prints the laudo.
    pub fn sign(&self, session: &Session, id: InspectionId, pin: &str) -> Result<Signed, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let inspection = self.load(id)?;
        if inspection.state_kind() != StateKind::Concluded {
            return Err(Failure::rule(
                "esta vistoria não está concluída e aguardando assinatura",
            ));
        }
        let now = self.now()?;
        // §14: only a check the station's reader took and core matched stands for this
        // signature; core refuses the signing event without it too.
        let check = vistoria_core::workflow::signature::check_for_signature(
            &self.core().store,
            &inspection,
            &session.login,
            now.at,
        )
        .map_err(Failure::from)?;
        // The laudo is what the card signs: built first, from the stored inspection (§14: the
        // biometric re-check's result and time are in it).
        let (laudo, photos) = {
            let mut core = self.core();
            self.build_laudo(&mut core, &inspection, session, check.clone(), now.at)?
        };
        let content = laudo.canonical_bytes();
        let (signed, certificate) =
            match self
                .0
                .card
                .sign(pin, &session.cpf, &check, now.at, &content)
            {
                Ok(done) => done,
                Err(why) => {
                    let mut core = self.core();
                    let event = AuditEvent::new(
                        Some(now),
                        &session.login,
                        AuditAction::InspectionSignFailed,
                    )
                    .inspection(id)
                    .detail(json!({ "reason": why.to_string() }));
                    if let Err(e) = core.store.audit(event) {
                        tracing::error!(%e, "failed signature not audited");
                    }
                    return Err(why);
                }
            };
        // The film ends with the laudo (§17); what it stored is already in the store.
        if let Err(e) = self.stop_recording(id) {
            tracing::error!(%id, %e, "panoramic recording not stored");
        }
        let signer = holder(&certificate.holder_name());
        let serial = certificate.serial_hex();
        {
            let mut core = self.core();
            // An earlier attempt may have stored its laudo before failing: this one takes its
            // place, so the package carries exactly one laudo and one `.p7s`.
            vistoria_core::laudo::stored::store_signed(
                &mut core.store,
                id,
                &content,
                &signed.p7s,
                now,
                &session.login,
            )
            .map_err(|e| Failure::from(e).context("guardando o laudo assinado"))?;
        }
        let certificate_id = format!("{signer} · série {serial}");
        let signer_line = format!("{} (CPF {})", session.name, mask_cpf(&session.cpf));
        let row = self.apply(
            id,
            &session.login,
            AuditAction::InspectionSigned,
            json!({
                "biometric_confirmation": {
                    "login": session.login,
                    "score": check.score(),
                    "threshold": check.threshold(),
                    "finger": check.finger(),
                    "at": check.at(),
                },
                "certificate": {
                    "holder": signer,
                    "serial": serial,
                    "cpf": mask_cpf(&session.cpf),
                },
                "laudo_number": laudo.number,
                "p7s_sha256": signed.p7s_sha256,
            }),
            |i, at| {
                i.sign(SignatureInfo {
                    signer: signer_line,
                    at,
                    certificate: Some(certificate_id),
                })
            },
        )?;
        let block = SignatureBlock {
            signer_name: signer.clone(),
            masked_cpf: mask_cpf(&session.cpf),
            certificate_serial: serial.clone(),
            signed_at: signed.signed_at,
            p7s_sha256: signed.p7s_sha256.clone(),
        };
        // The PDF is made before queuing: delivery deletes the photos it embeds (§9).
        let pdf = {
            let core = self.core();
            Self::keep_laudo_pdf(&core, id, &laudo, &photos, &block)
        };
        drop(row);
        let row = self.queue(id)?;
        let printed = match pdf {
            Ok((path, bytes)) => self
                .send_to_printer(id, &path, bytes)
                .unwrap_or_else(|e| e.to_string()),
            Err(e) => format!("laudo não gerado: {e}"),
        };
        Ok(Signed {
            row,
            printed,
            signer,
            serial,
            p7s_sha256: signed.p7s_sha256,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::holder;

    #[test]
    fn the_cpf_suffix_of_an_icp_brasil_cn_is_not_part_of_the_name() {
        assert_eq!(holder("ANA PAULA SOUZA:39053344705"), "ANA PAULA SOUZA");
        assert_eq!(holder("EMPRESA: FILIAL"), "EMPRESA: FILIAL");
    }
}
