//! The laudo (§10, §14): built from the stored inspection right after the signature, while its
//! photos are still here, rendered to an A4 PDF kept in `laudos/` for printing and reprinting,
//! and sent to the station's printer when one is configured. The PDF holds every photo at full
//! size, so it goes with the media when the central's receipt is verified (§9, issue 19: the
//! store deletes it); from then on the printed copy is the only one at the station.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use vistoria_core::domain::{Inspection, InspectionId, PhotoKind};
use vistoria_core::laudo::{
    BiometricCheck, InspectorInfo, Laudo, LaudoInputs, PdfPhoto, PhotoRef, SignatureBlock,
    StationInfo,
};

use super::{Core, Failure, Session, Station, lock};

impl Station {
    /// Where the laudo PDF of `id` is kept until delivery.
    fn laudo_path(core: &Core, id: InspectionId) -> PathBuf {
        vistoria_core::paths::laudo_pdf_in(core.store.data_dir(), id)
    }

    /// Whether the laudo PDF of `id` is at this station (it is deleted on delivery, §9).
    pub(super) fn laudo_kept(core: &Core, id: InspectionId) -> bool {
        Self::laudo_path(core, id).is_file()
    }

    /// The central's public page for laudo `number` (what the laudo's QR code opens).
    pub fn verify_url(&self, number: &str) -> String {
        format!(
            "{}{number}",
            vistoria_core::laudo::verify_base_url(&self.0.central_url)
        )
    }

    /// The laudo of a concluded inspection (what the inspector signs) and its photos for the
    /// PDF, read from the store while they are still here.
    pub(super) fn build_laudo(
        &self,
        core: &mut Core,
        inspection: &Inspection,
        inspector: &Session,
        biometric_check: BiometricCheck,
        issued_at: DateTime<Utc>,
    ) -> Result<(Laudo, Vec<PdfPhoto>), Failure> {
        let id = inspection.id();
        let mut refs = Vec::new();
        let mut photos = Vec::new();
        let photos_only = core
            .store
            .media_of(id)
            .map_err(Failure::from)?
            .into_iter()
            .filter(|m| PhotoKind::ALL.iter().any(|k| k.code() == m.kind));
        for media in photos_only {
            let label = PhotoKind::ALL
                .iter()
                .find(|k| k.code() == media.kind)
                .map_or_else(String::new, |k| k.label_pt().to_owned());
            let jpeg = core.store.read_media(&media).map_err(Failure::from)?;
            refs.push(PhotoRef {
                kind: media.kind.clone(),
                label: label.clone(),
                sha256: media.digests.sha256.clone(),
                captured_at: media.captured_at.at,
            });
            photos.push(PdfPhoto {
                label,
                captured_at: media.captured_at.at,
                jpeg,
            });
        }
        // The panoramic film's segments, as stored (a retried signature finds them there).
        let segments =
            vistoria_core::laudo::stored::segment_refs(&core.store, id).map_err(Failure::from)?;
        // §6 and §4 as stored, plus the gaps of the film still running (§4: every one listed).
        let plate_reading = vistoria_core::laudo::stored::plate_reading(&core.store, inspection)
            .map_err(Failure::from)?;
        let mut film_gaps =
            vistoria_core::film::stored_gaps(&core.store, id).map_err(Failure::from)?;
        vistoria_core::film::merge(&mut film_gaps, self.live_film_gaps(id));
        let station = &self.0.station;
        let laudo = Laudo::from_inspection(
            inspection,
            LaudoInputs {
                number: vistoria_core::laudo::stored::laudo_number(&core.store, &station.code, id)
                    .map_err(Failure::from)?,
                station: StationInfo {
                    code: station.code.clone(),
                    name: station.name.clone(),
                    city: station.city.clone(),
                },
                inspector: InspectorInfo {
                    name: inspector.name.clone(),
                    cpf: inspector.cpf.clone(),
                },
                photos: refs,
                panoramic_segments: segments,
                biometric_check,
                plate_reading,
                film_gaps,
                issued_at,
                verify_base_url: vistoria_core::laudo::verify_base_url(&self.0.central_url),
            },
        )
        .map_err(Failure::from)?;
        Ok((laudo, photos))
    }

    /// Renders the laudo PDF with its signature block and keeps it in `laudos/` for printing
    /// and reprinting until delivery; returns its path and bytes (the signature prints these:
    /// a delivery right after the queue may already have deleted the file).
    pub(super) fn keep_laudo_pdf(
        core: &Core,
        id: InspectionId,
        laudo: &Laudo,
        photos: &[PdfPhoto],
        signature: &SignatureBlock,
    ) -> Result<(PathBuf, Vec<u8>), Failure> {
        let pdf =
            vistoria_core::laudo::render(laudo, photos, Some(signature)).map_err(Failure::from)?;
        let path = Self::laudo_path(core, id);
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::internal(format!("{}: {e}", dir.display())))?;
        let name = format!("{id}.pdf");
        if let Ok(kept) = std::fs::read(&path) {
            return Ok((path, kept));
        }
        vistoria_core::store::atomic::write_new(&dir, &name, &pdf)
            .map_err(|e| Failure::internal(format!("gravando o laudo: {e}")))?;
        Ok((path, pdf))
    }

    /// Prints (or reprints) the laudo of `id`; returns what happened, for the person. Once
    /// the inspection is delivered its PDF is gone (§9), and the answer says so and where the
    /// laudo can be checked.
    pub fn print_laudo(&self, id: InspectionId) -> Result<String, Failure> {
        let (path, receipt) = {
            let core = self.core();
            let receipt = core
                .store
                .inspection(id)
                .map_err(Failure::from)?
                .and_then(|i| i.receipt().cloned());
            (Self::laudo_path(&core, id), receipt)
        };
        let pdf = match (std::fs::read(&path), receipt) {
            (Ok(pdf), _) => pdf,
            (Err(_), Some(receipt)) => {
                return Err(Failure::rule(format!(
                    "O laudo nº {number} foi entregue à central e a cópia desta estação foi \
                     apagada na entrega (§9: a estação guarda imagens e laudos só até a central \
                     confirmar o recebimento). A via impressa é a única cópia; a autenticidade \
                     pode ser conferida em {url} e uma segunda via é pedida à empresa de sistema.",
                    number = receipt.laudo_number,
                    url = self.verify_url(&receipt.laudo_number),
                )));
            }
            (Err(_), None) => {
                return Err(Failure::rule(
                    "o PDF do laudo desta vistoria não está nesta estação",
                ));
            }
        };
        self.send_to_printer(id, &path, pdf)
    }

    /// Sends the laudo `pdf` of `id` (kept at `path`) to the printer; returns what happened.
    pub(super) fn send_to_printer(
        &self,
        id: InspectionId,
        path: &Path,
        pdf: Vec<u8>,
    ) -> Result<String, Failure> {
        match &self.0.printer {
            None => Ok(format!(
                "Sem impressora configurada: laudo salvo em {}",
                path.display()
            )),
            Some(printer) => {
                let printer = lock(printer);
                printer
                    .print_pdf(pdf, &format!("Laudo {id}"), Duration::from_secs(120))
                    .map(|_| "Laudo impresso".to_owned())
                    .map_err(|e| {
                        Failure::device(format!(
                            "{e}. Laudo salvo em {} até a entrega à central (§9): reimprima \
                             em Envios antes disso",
                            path.display()
                        ))
                    })
            }
        }
    }
}
