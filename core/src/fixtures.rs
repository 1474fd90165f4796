//! Fictitious vehicles and inspections for demo mode, benchmarks and tests. None of these
//! plates, RENAVAMs or chassis belong to a real vehicle.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::domain::{
    Chassis, Condition, Inspection, Plate, Renavam, VehicleClass, VehicleData, VehicleIdentity,
    renavam,
};

const MAKES: &[(&str, VehicleClass)] = &[
    ("VW/GOL 1.0", VehicleClass::PassengerCar),
    ("FIAT/STRADA ENDURANCE", VehicleClass::LightCommercial),
    ("HONDA/CG 160 FAN", VehicleClass::Motorcycle),
    ("CHEVROLET/ONIX 1.0", VehicleClass::PassengerCar),
    ("MERCEDES-BENZ/ATEGO 2426", VehicleClass::Truck),
    ("MARCOPOLO/VOLARE W9", VehicleClass::Minibus),
    ("SCANIA/R 450 A6X4", VehicleClass::TruckTractor),
    ("RANDON/SR CA", VehicleClass::SemiTrailer),
];
const COLOURS: &[&str] = &["BRANCA", "PRATA", "PRETA", "VERMELHA", "CINZA", "AZUL"];
const CITIES: &[&str] = &[
    "CUIABA/MT",
    "VARZEA GRANDE/MT",
    "RONDONOPOLIS/MT",
    "SINOP/MT",
];

/// Central time of the `n`th sample query: a fixed day, one minute apart.
pub fn sample_time(n: u64) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(2026, 11, 23, 8, 0, 0)
        .single()
        .expect("a fixed, valid date");
    base + Duration::minutes(n as i64)
}

/// The `n`th fictitious vehicle: identity as typed at the counter and data as the central
/// returns it. Even `n` gets a Mercosul plate, odd `n` an old grey one.
pub fn sample_vehicle(n: u64) -> (VehicleIdentity, VehicleData) {
    let letters = |k: u64| (b'A' + (k % 26) as u8) as char;
    let digits = n % 10_000;
    let plate_text = if n.is_multiple_of(2) {
        format!(
            "{}{}{}{}{}{:02}",
            letters(n / 676 + 17),
            letters(n / 26 + 1),
            letters(n + 4),
            digits / 1000,
            letters(digits / 100),
            digits % 100
        )
    } else {
        format!(
            "{}{}{}{:04}",
            letters(n / 676 + 13),
            letters(n / 26 + 7),
            letters(n + 2),
            digits
        )
    };
    let plate = Plate::parse(&plate_text).expect("the generator makes valid plates");
    let mut first10 = [0u8; 10];
    let mut x = n.wrapping_mul(2_654_435_761).wrapping_add(12_345);
    for d in first10.iter_mut() {
        *d = (x % 10) as u8;
        x /= 10;
    }
    let mut renavam_text: String = first10.iter().map(|d| char::from(b'0' + d)).collect();
    renavam_text.push(char::from(b'0' + renavam::check_digit(&first10)));
    let renavam = Renavam::parse(&renavam_text).expect("check digit computed above");
    let chassis_text = format!("9BW{:014}", n.wrapping_mul(7_919) % 100_000_000_000_000);
    let chassis = Chassis::parse(&chassis_text).expect("17 digits after a valid WMI");
    let (make_model, class) = MAKES[(n as usize) % MAKES.len()];
    let data = VehicleData {
        make_model: make_model.to_owned(),
        year: 2005 + (n % 20) as u16,
        colour: COLOURS[(n as usize) % COLOURS.len()].to_owned(),
        class,
        chassis: Some(chassis.to_string()),
        city: CITIES[(n as usize) % CITIES.len()].to_owned(),
    };
    let identity = VehicleIdentity::new(plate, Some(renavam), Some(chassis))
        .expect("RENAVAM and chassis given");
    (identity, data)
}

/// The `n`th sample inspection, just opened (queried at [`sample_time`]`(n)`).
pub fn sample_inspection(n: u64) -> Inspection {
    let (identity, data) = sample_vehicle(n);
    Inspection::open(uuid::Uuid::new_v4(), identity, data, sample_time(n))
}

/// Fills every checklist item of a capturing inspection: conforming, except `n % 3 == 1`,
/// whose first item is non-conforming (with a note).
pub fn fill_checklist(inspection: &mut Inspection, n: u64, at: DateTime<Utc>) {
    let items = inspection.checklist().applicable();
    for (i, item) in items.into_iter().enumerate() {
        let (condition, note) = if n % 3 == 1 && i == 0 {
            (
                Condition::NonConforming,
                Some("avaria observada na vistoria".to_owned()),
            )
        } else {
            (Condition::Conforming, None)
        };
        inspection
            .record_item(item, condition, note, at)
            .expect("the inspection is capturing and the item applies to its class");
    }
}

/// The simulated inspector's finger (seed of [`synthetic_finger`]).
pub const SIMULATED_FINGER: u64 = 41;

/// Impression `i` of synthetic finger `seed`: the same ridges, shifted a little each time (as
/// demo mode's simulated reader makes them).
pub fn synthetic_finger(seed: u64, i: usize) -> crate::biometrics::GrayImage {
    let shift = [
        (0.0, 0.0),
        (6.0, -4.0),
        (-5.0, 5.0),
        (3.0, 7.0),
        (-7.0, -3.0),
    ][i % 5];
    crate::biometrics::GrayImage::synthetic(320, 400, seed, shift)
}

/// The simulated inspector's enrolment (three impressions of [`SIMULATED_FINGER`]) and one more
/// impression as the probe, extracted once per process: extraction is the slow part (seconds in
/// a debug build), so the templates are also kept in the temporary folder for the next process
/// (`vistoria simulate` restarted, one test per process).
fn simulated_templates() -> &'static (
    Vec<crate::biometrics::Template>,
    crate::biometrics::Prepared,
) {
    static TEMPLATES: std::sync::OnceLock<(
        Vec<crate::biometrics::Template>,
        crate::biometrics::Prepared,
    )> = std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut all: Vec<crate::biometrics::Template> = (0..4).map(simulated_template).collect();
        let probe = crate::biometrics::Prepared::new(&all.remove(3));
        (all, probe)
    })
}

/// Impression `i` of the simulated finger as a template, from the cache when it is there.
fn simulated_template(i: usize) -> crate::biometrics::Template {
    use crate::biometrics::{Template, extract};
    let dir = std::env::temp_dir().join(format!(
        "vistoria-dedo-simulado-{SIMULATED_FINGER}-v{}",
        crate::biometrics::template::VERSION
    ));
    let path = dir.join(format!("{i}.tpl"));
    if let Some(template) = std::fs::read(&path)
        .ok()
        .and_then(|b| Template::from_bytes(&b).ok())
    {
        return template;
    }
    let template = extract(&synthetic_finger(SIMULATED_FINGER, i));
    // Best effort: a cache that cannot be written only costs the next process the time.
    let temp = dir.join(format!("{i}.tpl.{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&temp, template.to_bytes()))
        .and_then(|()| std::fs::rename(&temp, &path));
    template
}

/// A §14 check of the simulated inspector's finger at `at`, made by the matcher (a real score
/// of a synthetic finger against its enrolment), for `simulate`, benchmarks and tests that
/// have no reader.
pub fn simulated_check(
    at: DateTime<Utc>,
) -> Result<crate::biometrics::BiometricCheck, crate::biometrics::CheckError> {
    let (enrolled, probe) = simulated_templates();
    crate::biometrics::BiometricCheck::confirm_prepared(probe, enrolled, at)
}

/// Keeps [`simulated_check`] for `inspection` as `login`'s, as the station's reader would
/// before the signature (with its audit row).
pub fn keep_simulated_check(
    store: &mut crate::store::Store,
    inspection: crate::domain::InspectionId,
    login: &str,
    at: crate::clock::CentralStamp,
) -> Result<crate::biometrics::BiometricCheck, crate::workflow::WorkflowError> {
    let check = simulated_check(at.at)?;
    let event = crate::store::AuditEvent::new(
        Some(at),
        login,
        crate::store::AuditAction::BiometricsSignatureCheck,
    )
    .detail(serde_json::json!({
        "score": check.score(),
        "threshold": check.threshold(),
        "finger": check.finger(),
        "simulated": true,
    }));
    store.save_biometric_check(inspection, login, &check, event)?;
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_vehicles_are_valid_and_varied() {
        let mut plates = std::collections::HashSet::new();
        for n in 0..500 {
            let (identity, data) = sample_vehicle(n);
            plates.insert(identity.plate().to_string());
            assert!(identity.renavam().is_some());
            assert!(!data.make_model.is_empty());
        }
        assert_eq!(plates.len(), 500, "plates are unique");
    }

    #[test]
    fn filled_checklists_conclude() {
        for n in 0..6 {
            let mut inspection = sample_inspection(n);
            let at = sample_time(n) + Duration::minutes(5);
            inspection.start_capture(at).expect("opened");
            fill_checklist(&mut inspection, n, at);
            let verdict = inspection.checklist().verdict().expect("complete");
            inspection
                .conclude(verdict, at)
                .expect("consistent verdict");
        }
    }
}
