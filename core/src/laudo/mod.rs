//! The laudo (§10, §12, §14): the canonical, versioned document that is signed, stored and
//! sent ([`document`]), and its printed A4 form ([`pdf`]).

pub mod document;
pub mod pdf;
pub mod stored;

pub use document::{
    BiometricCheck, CentralTimes, ChecklistLine, InspectorInfo, LAUDO_VERSION, Laudo, LaudoError,
    LaudoInputs, LaudoResult, PhotoRef, PlateReadingLine, SegmentRef, StationInfo, VehicleInfo,
    verify_base_url,
};
pub use pdf::{PdfPhoto, SignatureBlock, render};
