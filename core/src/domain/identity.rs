//! Who and what is being inspected: the inspection's id, the vehicle as typed at the counter
//! (§5) and the vehicle as the central's query returned it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::chassis::Chassis;
use super::plate::Plate;
use super::renavam::Renavam;
use super::vehicle::VehicleClass;

/// Unique id of an inspection, created at the counter and kept through delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InspectionId(Uuid);

impl InspectionId {
    /// A new random (v4) id.
    pub fn new() -> InspectionId {
        InspectionId(Uuid::new_v4())
    }

    /// Wraps an existing UUID (stored data, tests).
    pub fn from_uuid(uuid: Uuid) -> InspectionId {
        InspectionId(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for InspectionId {
    fn default() -> Self {
        InspectionId::new()
    }
}

impl fmt::Display for InspectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A string that is not an inspection id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identificador de vistoria inválido: «{0}»")]
pub struct InvalidInspectionId(pub String);

impl FromStr for InspectionId {
    type Err = InvalidInspectionId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(InspectionId)
            .map_err(|_| InvalidInspectionId(s.to_owned()))
    }
}

/// Why a vehicle identity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// §5: the plate must be confirmed by RENAVAM or chassis.
    #[error("informe o RENAVAM ou o chassi para confirmar a placa")]
    MissingConfirmation,
}

/// The vehicle as identified at the counter: the plate, confirmed by the RENAVAM, the chassis
/// or both (§5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "VehicleIdentityRepr")]
pub struct VehicleIdentity {
    plate: Plate,
    renavam: Option<Renavam>,
    chassis: Option<Chassis>,
}

/// The stored form, validated into a [`VehicleIdentity`] on deserialize.
#[derive(Deserialize)]
struct VehicleIdentityRepr {
    plate: Plate,
    renavam: Option<Renavam>,
    chassis: Option<Chassis>,
}

impl TryFrom<VehicleIdentityRepr> for VehicleIdentity {
    type Error = IdentityError;

    fn try_from(repr: VehicleIdentityRepr) -> Result<Self, Self::Error> {
        VehicleIdentity::new(repr.plate, repr.renavam, repr.chassis)
    }
}

impl VehicleIdentity {
    /// The identity, if at least one of RENAVAM and chassis confirms the plate.
    pub fn new(
        plate: Plate,
        renavam: Option<Renavam>,
        chassis: Option<Chassis>,
    ) -> Result<VehicleIdentity, IdentityError> {
        if renavam.is_none() && chassis.is_none() {
            return Err(IdentityError::MissingConfirmation);
        }
        Ok(VehicleIdentity {
            plate,
            renavam,
            chassis,
        })
    }

    /// The plate typed (or corrected, §6) at the counter.
    pub fn plate(&self) -> &Plate {
        &self.plate
    }

    /// The RENAVAM, when typed.
    pub fn renavam(&self) -> Option<&Renavam> {
        self.renavam.as_ref()
    }

    /// The chassis, when typed.
    pub fn chassis(&self) -> Option<&Chassis> {
        self.chassis.as_ref()
    }
}

/// The vehicle as the central's query of the BIN/DETRAN base returned it (§5). Plain data:
/// the central is trusted for its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleData {
    /// Make and model, e.g. "VW/GOL 1.0".
    pub make_model: String,
    /// Model year.
    pub year: u16,
    /// Colour as registered.
    pub colour: String,
    /// Class, which decides photos, filming time and checklist.
    pub class: VehicleClass,
    /// Chassis as registered, unparsed (the base may hold legacy or odd values).
    pub chassis: Option<String>,
    /// City of registration.
    pub city: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn id_display_parse_and_serde() {
        let id = InspectionId::new();
        assert_ne!(id, InspectionId::new());
        assert_eq!(id.to_string().parse::<InspectionId>().unwrap(), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
        assert_eq!(
            "xyz".parse::<InspectionId>().unwrap_err().to_string(),
            "identificador de vistoria inválido: «xyz»"
        );
    }

    #[test]
    fn identity_needs_renavam_or_chassis() {
        let plate = Plate::parse("ABC1D23").unwrap();
        let renavam = Renavam::parse("00639884962").unwrap();
        let chassis = Chassis::parse("9BWZZZ377VT004251").unwrap();
        let err = VehicleIdentity::new(plate.clone(), None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "informe o RENAVAM ou o chassi para confirmar a placa"
        );
        assert!(VehicleIdentity::new(plate.clone(), Some(renavam.clone()), None).is_ok());
        let both = VehicleIdentity::new(plate.clone(), Some(renavam), Some(chassis)).unwrap();
        let json = serde_json::to_string(&both).unwrap();
        assert_eq!(
            serde_json::from_str::<VehicleIdentity>(&json).unwrap(),
            both
        );
        assert!(
            serde_json::from_str::<VehicleIdentity>(
                r#"{"plate":"ABC1D23","renavam":null,"chassis":null}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<VehicleIdentity>(
                r#"{"plate":"ABC1D2","renavam":"00639884962","chassis":null}"#
            )
            .is_err()
        );
    }
}
