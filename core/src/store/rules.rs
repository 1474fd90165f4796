//! The state of the inspection's rules (issue 18), stored beside the inspection so a restart or
//! re-entering it finds them as they were: the §6 reading and correction of each rear photo,
//! the reasons of photos taken again, and the §14 fingerprint check made before the signature.
//! The rules themselves are the workflow's ([`crate::workflow`]); this only keeps their state,
//! each change with its audit row in one transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{AuditEvent, AuditRow, Store, StoreError, audit, media};
use crate::biometrics::BiometricCheck;
use crate::domain::InspectionId;
use crate::ocr::correction::{PlateCorrection, PlateReadingRecord};

fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Decode(format!("não serializável: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode(e.to_string()))
}

/// A rear photo's stored §6 reading and correction.
pub type PlateCheckRow = (Option<PlateReadingRecord>, Option<PlateCorrection>);

impl Store {
    /// Stores the §6 reading of a rear photo of `inspection`, replacing an earlier reading of the
    /// same photo (its correction, if any, stays), with its audit row.
    pub fn record_plate_reading(
        &mut self,
        inspection: InspectionId,
        reading: &PlateReadingRecord,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let body = encode(reading)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO plate_checks (media_id, inspection_id, reading) VALUES (?1, ?2, ?3)
             ON CONFLICT(media_id) DO UPDATE SET reading = excluded.reading",
            params![reading.media_id, inspection.to_string(), body],
        )?;
        let row = audit::append(&tx, &event.inspection(inspection))?;
        tx.commit()?;
        Ok(row)
    }

    /// Stores the §6 correction of a rear photo of `inspection`, with its audit row.
    pub fn record_plate_correction(
        &mut self,
        inspection: InspectionId,
        correction: &PlateCorrection,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let body = encode(correction)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO plate_checks (media_id, inspection_id, correction) VALUES (?1, ?2, ?3)
             ON CONFLICT(media_id) DO UPDATE SET correction = excluded.correction",
            params![correction.media_id, inspection.to_string(), body],
        )?;
        let row = audit::append(&tx, &event.inspection(inspection))?;
        tx.commit()?;
        Ok(row)
    }

    /// The stored §6 reading and correction of photo `media_id`, if any was stored.
    pub fn plate_check(&self, media_id: &str) -> Result<Option<PlateCheckRow>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT reading, correction FROM plate_checks WHERE media_id = ?1",
                [media_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(reading, correction)| {
            Ok((
                reading.as_deref().map(decode).transpose()?,
                correction.as_deref().map(decode).transpose()?,
            ))
        })
        .transpose()
    }

    /// The reasons given for the photos of `inspection` taken again, by media id.
    pub fn retake_reasons(
        &self,
        inspection: InspectionId,
    ) -> Result<HashMap<String, String>, StoreError> {
        Ok(media::retake_reasons(&self.conn, inspection)?
            .into_iter()
            .collect())
    }

    /// Keeps the §14 check `login` passed for `inspection` (replacing an earlier one), with its
    /// audit row.
    pub fn save_biometric_check(
        &mut self,
        inspection: InspectionId,
        login: &str,
        check: &BiometricCheck,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let body = encode(check)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO biometric_checks (inspection_id, login, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(inspection_id) DO UPDATE SET login = excluded.login, body = excluded.body",
            params![inspection.to_string(), login, body],
        )?;
        let row = audit::append(&tx, &event.inspection(inspection))?;
        tx.commit()?;
        Ok(row)
    }

    /// The latest §14 check kept for `inspection`, with the login that passed it.
    pub fn biometric_check(
        &self,
        inspection: InspectionId,
    ) -> Result<Option<(String, BiometricCheck)>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT login, body FROM biometric_checks WHERE inspection_id = ?1",
                [inspection.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(login, body)| Ok((login, decode(&body)?)))
            .transpose()
    }
}
