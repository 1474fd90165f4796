//! Deterministic generator of `assets/vehicles.json`, and the checks the shipped file must pass.
//!
//! Regenerate with
//! `cargo test -p vistoria-central registry::generate::write_registry -- --ignored`.

use std::collections::HashSet;

use vistoria_core::domain::chassis::vin_check_digit;
use vistoria_core::domain::renavam::check_digit;
use vistoria_core::domain::{Chassis, Plate, PlateFormat, Renavam, VehicleClass, VehicleData};
use vistoria_core::wire::Vehicle;

use super::{DEMO_REGISTRY, Registry};

/// How many vehicles the demo registry holds.
const COUNT: usize = 240;

/// A small xorshift generator: the file must come out byte-identical on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// World manufacturer identifiers and models per class.
fn models(class: VehicleClass) -> &'static [(&'static str, &'static str)] {
    match class {
        VehicleClass::PassengerCar => &[
            ("9BW", "VW/GOL 1.0"),
            ("9BG", "GM/ONIX 1.0"),
            ("9BD", "FIAT/ARGO DRIVE"),
            ("93H", "HONDA/CITY EX"),
            ("9BR", "TOYOTA/COROLLA XEI"),
            ("93Y", "RENAULT/KWID ZEN"),
        ],
        VehicleClass::LightCommercial => &[
            ("9BD", "FIAT/STRADA FREEDOM"),
            ("8AJ", "TOYOTA/HILUX CD SRV"),
            ("9BW", "VW/SAVEIRO CS"),
            ("93X", "MITSUBISHI/L200 TRITON"),
        ],
        VehicleClass::Motorcycle => &[
            ("9C2", "HONDA/CG 160 FAN"),
            ("9C6", "YAMAHA/FAZER FZ25"),
            ("9C2", "HONDA/BIZ 125"),
        ],
        VehicleClass::Moped => &[("9C2", "HONDA/POP 110I"), ("99H", "SHINERAY/JET 50")],
        VehicleClass::Truck => &[
            ("9BM", "M.BENZ/ATEGO 2426"),
            ("953", "VW/24.280 CRM"),
            ("9BV", "VOLVO/VM 270"),
        ],
        VehicleClass::TruckTractor => &[
            ("9BS", "SCANIA/R 450 A6X4"),
            ("9BV", "VOLVO/FH 540 6X4T"),
            ("9BM", "M.BENZ/ACTROS 2651S"),
        ],
        VehicleClass::Bus => &[("9BM", "M.BENZ/O 500 RS"), ("9BS", "SCANIA/K 360 IB")],
        VehicleClass::Minibus => &[
            ("93Z", "IVECO/DAILY 45S17 MINIBUS"),
            ("9BM", "M.BENZ/SPRINTER 516"),
        ],
        VehicleClass::Trailer => &[("9A9", "REB/RANDON RC"), ("9EP", "REB/FACCHINI SR")],
        VehicleClass::SemiTrailer => &[
            ("9AD", "SEMI-REB/RANDON SR BA"),
            ("9EP", "SEMI-REB/FACCHINI SRF GR"),
            ("9AA", "SEMI-REB/GUERRA AG GR"),
        ],
    }
}

const COLOURS: &[&str] = &[
    "BRANCA", "PRATA", "PRETA", "CINZA", "VERMELHA", "AZUL", "VERDE", "AMARELA",
];

const CITIES: &[&str] = &[
    "CUIABÁ/MT",
    "VÁRZEA GRANDE/MT",
    "RONDONÓPOLIS/MT",
    "SINOP/MT",
    "TANGARÁ DA SERRA/MT",
    "CÁCERES/MT",
    "SORRISO/MT",
    "LUCAS DO RIO VERDE/MT",
    "PRIMAVERA DO LESTE/MT",
    "BARRA DO GARÇAS/MT",
];

/// Characters a VIN may hold (no I, O, Q).
const VIN_CHARS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";

fn letter(rng: &mut Rng) -> char {
    char::from(b'A' + rng.below(26) as u8)
}

fn digit(rng: &mut Rng) -> char {
    char::from(b'0' + rng.below(10) as u8)
}

fn plate(rng: &mut Rng, format: PlateFormat) -> String {
    let mut s: String = (0..3).map(|_| letter(rng)).collect();
    s.push(digit(rng));
    s.push(match format {
        PlateFormat::Old => digit(rng),
        PlateFormat::Mercosul => letter(rng),
    });
    s.push(digit(rng));
    s.push(digit(rng));
    s
}

fn renavam(rng: &mut Rng) -> String {
    let mut first10 = [0u8; 10];
    for d in &mut first10 {
        *d = rng.below(10) as u8;
    }
    let dv = check_digit(&first10);
    first10
        .iter()
        .chain(std::iter::once(&dv))
        .map(|&d| char::from(b'0' + d))
        .collect()
}

fn chassis(rng: &mut Rng, wmi: &str) -> String {
    let mut vin: Vec<u8> = wmi.as_bytes().to_vec();
    while vin.len() < 17 {
        vin.push(*rng.pick(VIN_CHARS));
    }
    vin[8] = b'0';
    let draft = String::from_utf8_lossy(&vin).into_owned();
    // Position 9 holds the computed check digit, so the chassis parses without warnings.
    if let Some(dv) = vin_check_digit(&draft) {
        vin[8] = dv as u8;
    }
    String::from_utf8_lossy(&vin).into_owned()
}

/// The demo registry, deterministically.
fn generate() -> Vec<Vehicle> {
    let mut rng = Rng(0x5eed_0741_2019_00e5);
    let mut seen = HashSet::new();
    let mut vehicles = Vec::with_capacity(COUNT);
    let mut i = 0;
    while vehicles.len() < COUNT {
        let class = VehicleClass::ALL[i % VehicleClass::ALL.len()];
        let format = PlateFormat::ALL[(i / VehicleClass::ALL.len()) % 2];
        i += 1;
        let plate_text = plate(&mut rng, format);
        let Ok(parsed) = Plate::parse(&plate_text) else {
            continue;
        };
        if !seen.insert(parsed.to_mercosul().as_str().to_owned()) {
            continue;
        }
        let &(wmi, model) = rng.pick(models(class));
        let year = match format {
            // Mercosul plates are issued since 2018 (and on old vehicles that changed state).
            PlateFormat::Mercosul => 2012 + rng.below(14) as u16,
            PlateFormat::Old => 1995 + rng.below(24) as u16,
        };
        vehicles.push(Vehicle {
            plate: plate_text,
            renavam: renavam(&mut rng),
            data: VehicleData {
                make_model: model.to_owned(),
                year,
                colour: (*rng.pick(COLOURS)).to_owned(),
                class,
                chassis: Some(chassis(&mut rng, wmi)),
                city: (*rng.pick(CITIES)).to_owned(),
            },
        });
    }
    vehicles
}

fn render() -> String {
    let mut text = String::from("[\n");
    for (i, vehicle) in generate().iter().enumerate() {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str("  ");
        text.push_str(&serde_json::to_string(vehicle).unwrap_or_default());
    }
    text.push_str("\n]\n");
    text
}

#[test]
#[ignore = "writes assets/vehicles.json; run by hand to regenerate it"]
fn write_registry() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/vehicles.json");
    std::fs::write(path, render()).expect("write assets/vehicles.json");
}

#[test]
fn shipped_registry_is_the_generated_one() {
    assert!(
        DEMO_REGISTRY == render(),
        "assets/vehicles.json is stale: run write_registry"
    );
}

#[test]
fn shipped_registry_is_valid() {
    let vehicles: Vec<Vehicle> = serde_json::from_str(DEMO_REGISTRY).expect("valid JSON");
    assert!(vehicles.len() >= 200, "only {} vehicles", vehicles.len());
    let registry = Registry::from_json(DEMO_REGISTRY).expect("registry loads");
    assert_eq!(registry.len(), vehicles.len());
    let mut formats = HashSet::new();
    let mut classes = HashSet::new();
    let mut renavams = HashSet::new();
    let mut chassis_seen = HashSet::new();
    for v in &vehicles {
        let plate = Plate::parse(&v.plate).expect("plate");
        assert_eq!(plate.as_str(), v.plate, "plates are stored canonical");
        formats.insert(plate.format());
        classes.insert(v.data.class);
        let renavam = Renavam::parse(&v.renavam).expect("RENAVAM with a valid check digit");
        assert_eq!(renavam.as_str(), v.renavam);
        assert!(
            renavams.insert(v.renavam.clone()),
            "repeated RENAVAM {}",
            v.renavam
        );
        let text = v.data.chassis.as_deref().expect("chassis");
        assert_eq!(text.len(), 17);
        assert!(!text.contains(['I', 'O', 'Q']), "{text}");
        let parsed = Chassis::parse(text).expect("chassis");
        assert!(parsed.is_vin() && parsed.warnings().is_empty(), "{text}");
        assert!(
            chassis_seen.insert(text.to_owned()),
            "repeated chassis {text}"
        );
        assert!(!v.data.make_model.is_empty() && !v.data.city.is_empty());
        assert!((1950..=2030).contains(&v.data.year));
    }
    assert_eq!(formats.len(), PlateFormat::ALL.len(), "both plate formats");
    assert_eq!(
        classes.len(),
        VehicleClass::ALL.len(),
        "every vehicle class"
    );
}
