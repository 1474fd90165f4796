//! The pure inspection domain: identifiers (plate, RENAVAM, chassis, the inspector's CPF), vehicle classes and
//! what they require, the §13 checklist and the inspection state machine.
//!
//! No I/O and no clock: every time is passed in, and is the central time (2d).
//! Rules cite Portaria Detran-MT 741/2019, Anexo II. The types are re-exported here; the free
//! helper functions stay in their modules (`plate::char_class_at`, `renavam::check_digit`,
//! `chassis::vin_check_digit`, …).

pub mod chassis;
pub mod checklist;
pub mod cpf;
pub mod identity;
pub mod inspection;
pub mod outcome;
pub mod plate;
pub mod renavam;
pub mod state;
pub mod vehicle;

pub use chassis::{Chassis, ChassisError, ChassisWarning};
pub use checklist::{
    Checklist, ChecklistEntry, ChecklistError, ChecklistGroup, ChecklistItem, Condition,
};
pub use cpf::{Cpf, CpfError};
pub use identity::{
    IdentityError, InspectionId, InvalidInspectionId, VehicleData, VehicleIdentity,
};
pub use inspection::{COMPLETION_WINDOW, Inspection, InvalidInspection};
pub use outcome::{Interruption, InterruptionCause, Outcome, Receipt, SignatureInfo, Verdict};
pub use plate::{CharClass, Plate, PlateError, PlateFormat};
pub use renavam::{Renavam, RenavamError};
pub use state::{Event, State, StateKind, Transition, TransitionError};
pub use vehicle::{AdditionalReason, FilmingTime, PhotoKind, Site, UnknownCode, VehicleClass};
