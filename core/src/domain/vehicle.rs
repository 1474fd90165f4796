//! Vehicle classes (2h), the photos of §7 a–k and what each class requires of them where the
//! inspection is made (§7 a: the panoramic only at a fixed station), and the filming time of
//! 2t / §7 k.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A code string that names none of the values of an enumeration (`FromStr` of the stable
/// codes of [`VehicleClass`], [`PhotoKind`] and the other domain enumerations).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("código de {what} desconhecido: «{code}»")]
pub struct UnknownCode {
    /// What was being parsed, in Portuguese (e.g. "classe de veículo").
    pub what: &'static str,
    /// The code as given.
    pub code: String,
}

/// Parses a stable code by looking it up among all values.
pub(crate) fn parse_code<T: Copy>(
    all: &[T],
    code_of: impl Fn(T) -> &'static str,
    what: &'static str,
    code: &str,
) -> Result<T, UnknownCode> {
    all.iter()
        .copied()
        .find(|&v| code_of(v) == code)
        .ok_or_else(|| UnknownCode {
            what,
            code: code.to_owned(),
        })
}

/// Vehicle class (espécie/tipo, CTB art. 96) as far as the inspection cares: it decides the
/// required photos, the filming time and which checklist items apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleClass {
    /// Automóvel.
    PassengerCar,
    /// Camioneta, caminhonete or utilitário.
    LightCommercial,
    /// Motocicleta or motoneta.
    Motorcycle,
    /// Ciclomotor.
    Moped,
    /// Caminhão.
    Truck,
    /// Caminhão-trator (the tractor unit of an articulated truck).
    TruckTractor,
    /// Ônibus.
    Bus,
    /// Micro-ônibus.
    Minibus,
    /// Reboque.
    Trailer,
    /// Semirreboque.
    SemiTrailer,
}

impl VehicleClass {
    /// Every class, in the order screens list them.
    pub const ALL: [VehicleClass; 10] = [
        VehicleClass::PassengerCar,
        VehicleClass::LightCommercial,
        VehicleClass::Motorcycle,
        VehicleClass::Moped,
        VehicleClass::Truck,
        VehicleClass::TruckTractor,
        VehicleClass::Bus,
        VehicleClass::Minibus,
        VehicleClass::Trailer,
        VehicleClass::SemiTrailer,
    ];

    /// Name shown to users.
    pub fn label_pt(self) -> &'static str {
        match self {
            VehicleClass::PassengerCar => "Automóvel",
            VehicleClass::LightCommercial => "Camioneta / caminhonete / utilitário",
            VehicleClass::Motorcycle => "Motocicleta / motoneta",
            VehicleClass::Moped => "Ciclomotor",
            VehicleClass::Truck => "Caminhão",
            VehicleClass::TruckTractor => "Caminhão-trator",
            VehicleClass::Bus => "Ônibus",
            VehicleClass::Minibus => "Micro-ônibus",
            VehicleClass::Trailer => "Reboque",
            VehicleClass::SemiTrailer => "Semirreboque",
        }
    }

    /// Stable snake_case code, also the serde name.
    pub fn code(self) -> &'static str {
        match self {
            VehicleClass::PassengerCar => "passenger_car",
            VehicleClass::LightCommercial => "light_commercial",
            VehicleClass::Motorcycle => "motorcycle",
            VehicleClass::Moped => "moped",
            VehicleClass::Truck => "truck",
            VehicleClass::TruckTractor => "truck_tractor",
            VehicleClass::Bus => "bus",
            VehicleClass::Minibus => "minibus",
            VehicleClass::Trailer => "trailer",
            VehicleClass::SemiTrailer => "semi_trailer",
        }
    }

    /// Whether it has its own engine (everything but trailers and semi-trailers).
    pub fn is_motorised(self) -> bool {
        !self.is_towed()
    }

    /// Trailers and semi-trailers: no engine, no odometer, no cab.
    pub fn is_towed(self) -> bool {
        matches!(self, VehicleClass::Trailer | VehicleClass::SemiTrailer)
    }

    /// Motorcycles and mopeds.
    pub fn is_two_wheeler(self) -> bool {
        matches!(self, VehicleClass::Motorcycle | VehicleClass::Moped)
    }

    /// Motorised vehicles with a closed cab or body: cars, light commercials, trucks, truck
    /// tractors, buses and minibuses.
    pub fn has_cab(self) -> bool {
        self.is_motorised() && !self.is_two_wheeler()
    }

    /// Buses and trucks in the sense of 2t / §7 k (longer filming): trucks, truck tractors,
    /// buses, minibuses and the towed vehicles, which are truck-sized and come coupled to one.
    pub fn is_heavy(self) -> bool {
        matches!(
            self,
            VehicleClass::Truck
                | VehicleClass::TruckTractor
                | VehicleClass::Bus
                | VehicleClass::Minibus
                | VehicleClass::Trailer
                | VehicleClass::SemiTrailer
        )
    }

    /// The photos this class requires at `site`, in §7 order.
    ///
    /// - §7 a (panoramic) at a fixed station, taken automatically by its panoramic camera when
    ///   capture starts; "somente para vistoria fixa", so never without that camera.
    /// - Every class: rear with plate (b), rear seal (c), front (d, every vehicle has a front,
    ///   even if only a drawbar or kingpin), chassis number (f), CRLV (i) and the driver's CNH
    ///   (j; for a towed vehicle, whoever drives the towing vehicle).
    /// - Engine number (e) and odometer (g) only for motorised classes: trailers and
    ///   semi-trailers have neither. Mopeds keep the odometer photo: their speedometer
    ///   (mandatory equipment) carries one.
    /// - Identification labels (h, at least one photo) only for classes with a cab: the
    ///   self-destructive VIS labels and window engravings of Res. CONTRAN 24/1998 are a
    ///   car/truck/bus thing; motorcycles, mopeds and towed vehicles are identified by the
    ///   chassis engraving alone. (Assumption to confirm with the DETRAN for towed vehicles.)
    /// - Additional photos (§7 k, 2g) are always optional, so never listed.
    pub fn required_photos(self, site: Site) -> Vec<PhotoKind> {
        PhotoKind::ALL
            .into_iter()
            .filter(|&kind| match kind {
                PhotoKind::Panoramic => site == Site::FixedStation,
                PhotoKind::Additional => false,
                PhotoKind::RearWithPlate
                | PhotoKind::RearSeal
                | PhotoKind::Front
                | PhotoKind::ChassisNumber
                | PhotoKind::Crlv
                | PhotoKind::Cnh => true,
                PhotoKind::EngineNumber | PhotoKind::Odometer => self.is_motorised(),
                PhotoKind::IdLabel => self.has_cab(),
            })
            .collect()
    }

    /// The photos required at `site` not yet among `taken`, in §7 order.
    pub fn missing_photos(self, site: Site, taken: &[PhotoKind]) -> Vec<PhotoKind> {
        self.required_photos(site)
            .into_iter()
            .filter(|kind| !taken.contains(kind))
            .collect()
    }

    /// How long the walk-around filming must last (2t, §7 k): up to 10 s for passenger
    /// vehicles, 10 to 30 s for buses and trucks (see [`VehicleClass::is_heavy`]).
    ///
    /// The text gives passenger vehicles no minimum; we use 5 s, since 2t asks the film to
    /// start 2 m behind the vehicle showing the plate and go round to its front, which cannot
    /// be done meaningfully in less.
    pub fn filming_time(self) -> FilmingTime {
        if self.is_heavy() {
            FilmingTime {
                min_s: 10,
                max_s: 30,
            }
        } else {
            FilmingTime {
                min_s: 5,
                max_s: 10,
            }
        }
    }
}

impl fmt::Display for VehicleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_pt())
    }
}

impl FromStr for VehicleClass {
    type Err = UnknownCode;

    /// Parses the stable [`VehicleClass::code`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_code(&Self::ALL, Self::code, "classe de veículo", s)
    }
}

/// Where an inspection is made, as §7 a tells them apart: the panoramic photo is taken
/// "somente para vistoria fixa", by the fixed station's panoramic camera (§4, §17).
///
/// An inspection keeps the site it was opened at ([`crate::domain::Inspection::site`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// A fixed station with its panoramic camera: filmed (§4) and photographed by it (§7 a).
    FixedStation,
    /// No panoramic camera: neither §4's film nor §7 a's photo can be made (a station
    /// configured without the camera, as a test bench; inspections opened before the rule).
    #[default]
    WithoutPanoramicCamera,
}

impl Site {
    /// Stable snake_case code, also the serde name.
    pub fn code(self) -> &'static str {
        match self {
            Site::FixedStation => "fixed_station",
            Site::WithoutPanoramicCamera => "without_panoramic_camera",
        }
    }

    /// Whether it is the default (inspections stored before sites were recorded).
    pub fn is_default(&self) -> bool {
        *self == Site::default()
    }
}

/// Why an additional photo (§7 k) was taken, when the Portaria names the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdditionalReason {
    /// §8: an inaccessible engine number, photographed after the engine was taken apart.
    EngineDisassembled,
}

impl AdditionalReason {
    /// Every reason.
    pub const ALL: [AdditionalReason; 1] = [AdditionalReason::EngineDisassembled];

    /// The reason as stored with the photo and shown to people.
    pub fn label_pt(self) -> &'static str {
        match self {
            AdditionalReason::EngineDisassembled => {
                "numeração legível apenas com o motor desmontado"
            }
        }
    }

    /// The short form burned into the tarja.
    pub fn tarja_pt(self) -> &'static str {
        match self {
            AdditionalReason::EngineDisassembled => "motor desmontado",
        }
    }

    /// Stable snake_case code, also the serde name.
    pub fn code(self) -> &'static str {
        match self {
            AdditionalReason::EngineDisassembled => "engine_disassembled",
        }
    }

    /// Whether it can be the reason of a photo of a `class` vehicle (an engine needs one).
    pub fn applies_to(self, class: VehicleClass) -> bool {
        match self {
            AdditionalReason::EngineDisassembled => class.is_motorised(),
        }
    }
}

/// Allowed length of the walk-around filming, in whole seconds, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilmingTime {
    /// Shortest acceptable film.
    pub min_s: u32,
    /// Longest acceptable film.
    pub max_s: u32,
}

impl FilmingTime {
    /// Whether a film of this length is acceptable.
    pub fn contains(self, length: Duration) -> bool {
        let min = Duration::from_secs(u64::from(self.min_s));
        let max = Duration::from_secs(u64::from(self.max_s));
        (min..=max).contains(&length)
    }
}

/// The photos of §7 a–j plus the inspector's additional ones (§7 k, 2g).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    /// §7 a: panoramic view, taken automatically by the fixed station's camera.
    Panoramic,
    /// §7 b: rear of the vehicle with the plate and the place of inspection.
    RearWithPlate,
    /// §7 c: rear plate seal (lacre).
    RearSeal,
    /// §7 d: front of the vehicle.
    Front,
    /// §7 e: engine number (possibly through the borescope, §8, §18).
    EngineNumber,
    /// §7 f: chassis number.
    ChassisNumber,
    /// §7 g: odometer.
    Odometer,
    /// §7 h: identification labels, at least one photo.
    IdLabel,
    /// §7 i: vehicle registration and licence certificate (CRV/CRLV).
    Crlv,
    /// §7 j: the driver's licence (CNH).
    Cnh,
    /// §7 k, 2g: extra photos at the inspector's discretion.
    Additional,
}

impl PhotoKind {
    /// Every kind, in §7 order.
    pub const ALL: [PhotoKind; 11] = [
        PhotoKind::Panoramic,
        PhotoKind::RearWithPlate,
        PhotoKind::RearSeal,
        PhotoKind::Front,
        PhotoKind::EngineNumber,
        PhotoKind::ChassisNumber,
        PhotoKind::Odometer,
        PhotoKind::IdLabel,
        PhotoKind::Crlv,
        PhotoKind::Cnh,
        PhotoKind::Additional,
    ];

    /// Name shown to users.
    pub fn label_pt(self) -> &'static str {
        match self {
            PhotoKind::Panoramic => "Panorâmica do veículo",
            PhotoKind::RearWithPlate => "Traseira com placa",
            PhotoKind::RearSeal => "Lacre traseiro",
            PhotoKind::Front => "Dianteira",
            PhotoKind::EngineNumber => "Numeração do motor",
            PhotoKind::ChassisNumber => "Numeração do chassi",
            PhotoKind::Odometer => "Hodômetro",
            PhotoKind::IdLabel => "Etiqueta de identificação",
            PhotoKind::Crlv => "CRV/CRLV",
            PhotoKind::Cnh => "CNH do condutor",
            PhotoKind::Additional => "Foto adicional",
        }
    }

    /// Stable snake_case code, also the serde name.
    pub fn code(self) -> &'static str {
        match self {
            PhotoKind::Panoramic => "panoramic",
            PhotoKind::RearWithPlate => "rear_with_plate",
            PhotoKind::RearSeal => "rear_seal",
            PhotoKind::Front => "front",
            PhotoKind::EngineNumber => "engine_number",
            PhotoKind::ChassisNumber => "chassis_number",
            PhotoKind::Odometer => "odometer",
            PhotoKind::IdLabel => "id_label",
            PhotoKind::Crlv => "crlv",
            PhotoKind::Cnh => "cnh",
            PhotoKind::Additional => "additional",
        }
    }

    /// The letter of its item in §7 (`'a'`…`'j'`, `'k'` for additional photos).
    pub fn spec_item(self) -> char {
        match self {
            PhotoKind::Panoramic => 'a',
            PhotoKind::RearWithPlate => 'b',
            PhotoKind::RearSeal => 'c',
            PhotoKind::Front => 'd',
            PhotoKind::EngineNumber => 'e',
            PhotoKind::ChassisNumber => 'f',
            PhotoKind::Odometer => 'g',
            PhotoKind::IdLabel => 'h',
            PhotoKind::Crlv => 'i',
            PhotoKind::Cnh => 'j',
            PhotoKind::Additional => 'k',
        }
    }

    /// Taken by the panoramic camera rather than by the inspector (§7 a).
    pub fn is_automatic(self) -> bool {
        self == PhotoKind::Panoramic
    }

    /// Whether more than one photo of this kind makes sense (labels, additional photos).
    pub fn allows_several(self) -> bool {
        matches!(self, PhotoKind::IdLabel | PhotoKind::Additional)
    }
}

impl fmt::Display for PhotoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_pt())
    }
}

impl FromStr for PhotoKind {
    type Err = UnknownCode;

    /// Parses the stable [`PhotoKind::code`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_code(&Self::ALL, Self::code, "tipo de foto", s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use PhotoKind::*;

    #[test]
    fn codes_are_unique_stable_and_match_serde() {
        for class in VehicleClass::ALL {
            assert_eq!(class.code().parse::<VehicleClass>().unwrap(), class);
            assert_eq!(
                serde_json::to_string(&class).unwrap(),
                format!("\"{}\"", class.code())
            );
        }
        for kind in PhotoKind::ALL {
            assert_eq!(kind.code().parse::<PhotoKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.code())
            );
        }
        let err = "carroça".parse::<VehicleClass>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "código de classe de veículo desconhecido: «carroça»"
        );
        assert_eq!(
            "selfie".parse::<PhotoKind>().unwrap_err().to_string(),
            "código de tipo de foto desconhecido: «selfie»"
        );
    }

    #[test]
    fn spec_items_follow_section_7() {
        let letters: String = PhotoKind::ALL.iter().map(|k| k.spec_item()).collect();
        assert_eq!(letters, "abcdefghijk");
        assert!(Panoramic.is_automatic() && !RearWithPlate.is_automatic());
    }

    #[test]
    fn required_photos_per_class() {
        use Site::*;
        let car = vec![
            RearWithPlate,
            RearSeal,
            Front,
            EngineNumber,
            ChassisNumber,
            Odometer,
            IdLabel,
            Crlv,
            Cnh,
        ];
        for class in [
            VehicleClass::PassengerCar,
            VehicleClass::LightCommercial,
            VehicleClass::Truck,
            VehicleClass::TruckTractor,
            VehicleClass::Bus,
            VehicleClass::Minibus,
        ] {
            assert_eq!(
                class.required_photos(WithoutPanoramicCamera),
                car,
                "{class:?}"
            );
        }
        let two_wheeler = vec![
            RearWithPlate,
            RearSeal,
            Front,
            EngineNumber,
            ChassisNumber,
            Odometer,
            Crlv,
            Cnh,
        ];
        assert_eq!(
            VehicleClass::Motorcycle.required_photos(WithoutPanoramicCamera),
            two_wheeler
        );
        assert_eq!(
            VehicleClass::Moped.required_photos(WithoutPanoramicCamera),
            two_wheeler
        );
        let towed = vec![RearWithPlate, RearSeal, Front, ChassisNumber, Crlv, Cnh];
        assert_eq!(
            VehicleClass::Trailer.required_photos(WithoutPanoramicCamera),
            towed
        );
        assert_eq!(
            VehicleClass::SemiTrailer.required_photos(WithoutPanoramicCamera),
            towed
        );
        // §7 a: at a fixed station the panoramic comes first, for every class (10, 9 and 7).
        let mut fixed_car = vec![Panoramic];
        fixed_car.extend(&car);
        assert_eq!(
            VehicleClass::PassengerCar.required_photos(FixedStation),
            fixed_car
        );
        assert_eq!(VehicleClass::Moped.required_photos(FixedStation).len(), 9);
        assert_eq!(VehicleClass::Trailer.required_photos(FixedStation).len(), 7);
    }

    #[test]
    fn every_class_has_the_common_photos_and_the_panoramic_only_at_a_fixed_station() {
        for class in VehicleClass::ALL {
            for site in [Site::FixedStation, Site::WithoutPanoramicCamera] {
                let photos = class.required_photos(site);
                for kind in [RearWithPlate, RearSeal, ChassisNumber, Crlv, Cnh] {
                    assert!(photos.contains(&kind), "{class:?} lacks {kind:?}");
                }
                assert!(!photos.contains(&Additional));
                assert_eq!(photos.contains(&Panoramic), site == Site::FixedStation);
                assert_eq!(
                    photos.first() == Some(&Panoramic),
                    site == Site::FixedStation
                );
            }
        }
        assert_eq!(Site::default(), Site::WithoutPanoramicCamera);
        assert_eq!(
            serde_json::to_string(&Site::FixedStation).unwrap(),
            format!("\"{}\"", Site::FixedStation.code())
        );
    }

    #[test]
    fn missing_photos() {
        let taken = [
            RearWithPlate,
            Additional,
            Front,
            RearSeal,
            ChassisNumber,
            Crlv,
        ];
        let site = Site::WithoutPanoramicCamera;
        assert_eq!(
            VehicleClass::Trailer.missing_photos(site, &taken),
            vec![Cnh]
        );
        assert_eq!(
            VehicleClass::Trailer.missing_photos(Site::FixedStation, &taken),
            vec![Panoramic, Cnh]
        );
        assert_eq!(
            VehicleClass::SemiTrailer.missing_photos(site, &[]),
            VehicleClass::SemiTrailer.required_photos(site)
        );
    }

    #[test]
    fn the_disassembled_engine_reason_needs_an_engine() {
        let reason = AdditionalReason::EngineDisassembled;
        assert_eq!(
            reason.label_pt(),
            "numeração legível apenas com o motor desmontado"
        );
        assert!(reason.applies_to(VehicleClass::PassengerCar));
        assert!(reason.applies_to(VehicleClass::Moped));
        assert!(!reason.applies_to(VehicleClass::SemiTrailer));
        assert_eq!(
            serde_json::to_string(&reason).unwrap(),
            format!("\"{}\"", reason.code())
        );
    }

    #[test]
    fn filming_time_per_2t() {
        assert_eq!(
            VehicleClass::PassengerCar.filming_time(),
            FilmingTime {
                min_s: 5,
                max_s: 10
            }
        );
        assert_eq!(
            VehicleClass::Motorcycle.filming_time(),
            FilmingTime {
                min_s: 5,
                max_s: 10
            }
        );
        assert_eq!(
            VehicleClass::Bus.filming_time(),
            FilmingTime {
                min_s: 10,
                max_s: 30
            }
        );
        assert_eq!(
            VehicleClass::Truck.filming_time(),
            FilmingTime {
                min_s: 10,
                max_s: 30
            }
        );
        let bus = VehicleClass::Bus.filming_time();
        assert!(bus.contains(Duration::from_secs(10)) && bus.contains(Duration::from_secs(30)));
        assert!(
            !bus.contains(Duration::from_millis(9_999))
                && !bus.contains(Duration::from_millis(30_001))
        );
        for class in VehicleClass::ALL {
            let t = class.filming_time();
            assert!(t.min_s < t.max_s && t.max_s <= 30);
        }
    }

    #[test]
    fn labels_are_portuguese() {
        assert_eq!(VehicleClass::SemiTrailer.to_string(), "Semirreboque");
        assert_eq!(PhotoKind::Odometer.to_string(), "Hodômetro");
    }
}
