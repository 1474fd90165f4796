//! The checklist of §13: the mandatory record of each verified item's condition.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::outcome::Verdict;
use super::vehicle::{UnknownCode, VehicleClass, parse_code};

/// How the checklist screen groups items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistGroup {
    /// Plates, seal, engravings and labels.
    Identification,
    /// Mandatory equipment.
    Equipment,
    /// Lights and signalling.
    Lighting,
    /// Tyres.
    Tyres,
    /// Bodywork and structure.
    Structure,
    /// Agreement with the registration document.
    Document,
}

impl ChecklistGroup {
    /// Name shown to users.
    pub fn label_pt(self) -> &'static str {
        match self {
            ChecklistGroup::Identification => "Identificação",
            ChecklistGroup::Equipment => "Equipamentos obrigatórios",
            ChecklistGroup::Lighting => "Sinalização e iluminação",
            ChecklistGroup::Tyres => "Pneus",
            ChecklistGroup::Structure => "Carroceria e estrutura",
            ChecklistGroup::Document => "Conferência com o documento",
        }
    }
}

/// One item an ECV inspector verifies. Declaration order is the screen and laudo order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistItem {
    /// Placa dianteira.
    FrontPlate,
    /// Placa traseira.
    RearPlate,
    /// Lacre da placa traseira.
    RearSeal,
    /// Gravação do chassi (VIN).
    ChassisEngraving,
    /// Numeração do motor.
    EngineNumber,
    /// Etiquetas VIS autodestrutivas.
    VisLabels,
    /// Gravação VIS nos vidros.
    WindowEngravings,
    /// Cintos de segurança.
    SeatBelts,
    /// Triângulo de sinalização.
    WarningTriangle,
    /// Macaco.
    Jack,
    /// Chave de roda.
    WheelWrench,
    /// Pneu sobressalente (estepe).
    SpareTyre,
    /// Extintor de incêndio.
    FireExtinguisher,
    /// Buzina.
    Horn,
    /// Velocímetro e hodômetro.
    Speedometer,
    /// Espelhos retrovisores.
    Mirrors,
    /// Para-brisa.
    Windscreen,
    /// Limpadores de para-brisa.
    Wipers,
    /// Faróis.
    Headlights,
    /// Lanternas traseiras.
    TailLights,
    /// Luzes de freio.
    BrakeLights,
    /// Indicadores de direção (setas).
    Indicators,
    /// Luz de marcha à ré.
    ReverseLight,
    /// Luz da placa.
    PlateLight,
    /// Pneus.
    Tyres,
    /// Carroceria e estrutura.
    Bodywork,
    /// Cor conforme o documento.
    Colour,
    /// Características (marca/modelo, espécie, tipo, carroceria) conforme o documento.
    Characteristics,
}

/// Stable code and Portuguese label of each [`ChecklistItem`], in declaration order.
const NAMES: [(&str, &str); ChecklistItem::ALL.len()] = [
    ("front_plate", "Placa dianteira"),
    ("rear_plate", "Placa traseira"),
    ("rear_seal", "Lacre da placa traseira"),
    ("chassis_engraving", "Gravação do chassi"),
    ("engine_number", "Numeração do motor"),
    ("vis_labels", "Etiquetas VIS"),
    ("window_engravings", "Gravação nos vidros"),
    ("seat_belts", "Cintos de segurança"),
    ("warning_triangle", "Triângulo de sinalização"),
    ("jack", "Macaco"),
    ("wheel_wrench", "Chave de roda"),
    ("spare_tyre", "Pneu sobressalente"),
    ("fire_extinguisher", "Extintor de incêndio"),
    ("horn", "Buzina"),
    ("speedometer", "Velocímetro e hodômetro"),
    ("mirrors", "Espelhos retrovisores"),
    ("windscreen", "Para-brisa"),
    ("wipers", "Limpadores de para-brisa"),
    ("headlights", "Faróis"),
    ("tail_lights", "Lanternas traseiras"),
    ("brake_lights", "Luzes de freio"),
    ("indicators", "Indicadores de direção"),
    ("reverse_light", "Luz de marcha à ré"),
    ("plate_light", "Luz da placa"),
    ("tyres", "Pneus"),
    ("bodywork", "Carroceria e estrutura"),
    ("colour", "Cor conforme o documento"),
    ("characteristics", "Características conforme o documento"),
];

impl ChecklistItem {
    /// Every item, in screen order.
    pub const ALL: [ChecklistItem; 28] = [
        ChecklistItem::FrontPlate,
        ChecklistItem::RearPlate,
        ChecklistItem::RearSeal,
        ChecklistItem::ChassisEngraving,
        ChecklistItem::EngineNumber,
        ChecklistItem::VisLabels,
        ChecklistItem::WindowEngravings,
        ChecklistItem::SeatBelts,
        ChecklistItem::WarningTriangle,
        ChecklistItem::Jack,
        ChecklistItem::WheelWrench,
        ChecklistItem::SpareTyre,
        ChecklistItem::FireExtinguisher,
        ChecklistItem::Horn,
        ChecklistItem::Speedometer,
        ChecklistItem::Mirrors,
        ChecklistItem::Windscreen,
        ChecklistItem::Wipers,
        ChecklistItem::Headlights,
        ChecklistItem::TailLights,
        ChecklistItem::BrakeLights,
        ChecklistItem::Indicators,
        ChecklistItem::ReverseLight,
        ChecklistItem::PlateLight,
        ChecklistItem::Tyres,
        ChecklistItem::Bodywork,
        ChecklistItem::Colour,
        ChecklistItem::Characteristics,
    ];

    /// Name shown to users and printed on the laudo.
    pub fn label_pt(self) -> &'static str {
        NAMES[self as usize].1
    }

    /// Stable snake_case code, also the serde name.
    pub fn code(self) -> &'static str {
        NAMES[self as usize].0
    }

    /// The screen group it belongs to.
    pub fn group(self) -> ChecklistGroup {
        use ChecklistItem::*;
        match self {
            FrontPlate | RearPlate | RearSeal | ChassisEngraving | EngineNumber | VisLabels
            | WindowEngravings => ChecklistGroup::Identification,
            SeatBelts | WarningTriangle | Jack | WheelWrench | SpareTyre | FireExtinguisher
            | Horn | Speedometer | Mirrors | Windscreen | Wipers => ChecklistGroup::Equipment,
            Headlights | TailLights | BrakeLights | Indicators | ReverseLight | PlateLight => {
                ChecklistGroup::Lighting
            }
            Tyres => ChecklistGroup::Tyres,
            Bodywork => ChecklistGroup::Structure,
            Colour | Characteristics => ChecklistGroup::Document,
        }
    }

    /// Whether the item exists on vehicles of `class`, so that it must (and may) be recorded.
    ///
    /// - Rear plate, seal, chassis engraving, tail lights, tyres, bodywork and the document
    ///   checks apply to everything, trailers included.
    /// - Motorcycles, mopeds, trailers and semi-trailers carry only a rear plate.
    /// - Engine, horn, speedometer, mirrors and headlights need a motorised vehicle.
    /// - VIS labels and window engravings, seat belts, triangle, jack, wheel wrench, spare tyre,
    ///   windscreen, wipers and reverse light belong to vehicles with a cab (not two-wheelers,
    ///   not towed vehicles).
    /// - The extinguisher stays mandatory only for trucks, truck tractors, buses and minibuses
    ///   (Res. CONTRAN 556/2015 made it optional for cars and light commercials).
    /// - Mopeds' mandatory equipment (Res. CONTRAN 14/1998) has no brake light, indicators or
    ///   plate light, so those items do not apply to them.
    pub fn applies_to(self, class: VehicleClass) -> bool {
        use ChecklistItem::*;
        match self {
            RearPlate | RearSeal | ChassisEngraving | TailLights | Tyres | Bodywork | Colour
            | Characteristics => true,
            FrontPlate | VisLabels | WindowEngravings | SeatBelts | WarningTriangle | Jack
            | WheelWrench | SpareTyre | Windscreen | Wipers | ReverseLight => class.has_cab(),
            EngineNumber | Horn | Speedometer | Mirrors | Headlights => class.is_motorised(),
            FireExtinguisher => matches!(
                class,
                VehicleClass::Truck
                    | VehicleClass::TruckTractor
                    | VehicleClass::Bus
                    | VehicleClass::Minibus
            ),
            BrakeLights | Indicators | PlateLight => class != VehicleClass::Moped,
        }
    }

    /// The items that apply to `class`, in screen order.
    pub fn for_class(class: VehicleClass) -> Vec<ChecklistItem> {
        Self::ALL
            .into_iter()
            .filter(|item| item.applies_to(class))
            .collect()
    }
}

impl fmt::Display for ChecklistItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_pt())
    }
}

impl FromStr for ChecklistItem {
    type Err = UnknownCode;

    /// Parses the stable [`ChecklistItem::code`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_code(&Self::ALL, Self::code, "item de vistoria", s)
    }
}

/// The condition the inspector records for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Conforme.
    Conforming,
    /// Não conforme (requires a note saying what is wrong).
    NonConforming,
}

impl Condition {
    /// Name shown to users.
    pub fn label_pt(self) -> &'static str {
        match self {
            Condition::Conforming => "Conforme",
            Condition::NonConforming => "Não conforme",
        }
    }
}

/// The recorded condition of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistEntry {
    /// Which item.
    pub item: ChecklistItem,
    /// Its condition.
    pub condition: Condition,
    /// The inspector's note: trimmed, never empty; always present when non-conforming.
    pub note: Option<String>,
}

/// Why a checklist entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecklistError {
    /// The item does not exist on this class of vehicle.
    #[error("o item «{}» não se aplica a {}", item.label_pt(), class.label_pt())]
    NotApplicable {
        /// The item.
        item: ChecklistItem,
        /// The vehicle's class.
        class: VehicleClass,
    },
    /// Non-conforming without saying why.
    #[error("item «{}» não conforme: descreva a inconformidade na observação", item.label_pt())]
    NoteRequired {
        /// The item.
        item: ChecklistItem,
    },
    /// The same item twice (only when reading a stored checklist).
    #[error("o item «{}» aparece mais de uma vez no checklist", item.label_pt())]
    Duplicate {
        /// The item.
        item: ChecklistItem,
    },
}

/// The §13 checklist of one inspection: at most one entry per applicable item, kept in screen
/// order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChecklistRepr")]
pub struct Checklist {
    class: VehicleClass,
    entries: Vec<ChecklistEntry>,
}

/// The stored form, validated into a [`Checklist`] on deserialize.
#[derive(Deserialize)]
struct ChecklistRepr {
    class: VehicleClass,
    entries: Vec<ChecklistEntry>,
}

impl TryFrom<ChecklistRepr> for Checklist {
    type Error = ChecklistError;

    fn try_from(repr: ChecklistRepr) -> Result<Self, Self::Error> {
        let mut checklist = Checklist::new(repr.class);
        for entry in repr.entries {
            if checklist.get(entry.item).is_some() {
                return Err(ChecklistError::Duplicate { item: entry.item });
            }
            checklist.set(entry.item, entry.condition, entry.note)?;
        }
        Ok(checklist)
    }
}

impl Checklist {
    /// An empty checklist for a vehicle of `class`.
    pub fn new(class: VehicleClass) -> Checklist {
        Checklist {
            class,
            entries: Vec::new(),
        }
    }

    /// The vehicle class it was made for.
    pub fn class(&self) -> VehicleClass {
        self.class
    }

    /// Records (or replaces) the condition of `item`. The note is trimmed and an empty note
    /// counts as none; a non-conforming item needs one (§12: the laudo says what is wrong).
    pub fn set(
        &mut self,
        item: ChecklistItem,
        condition: Condition,
        note: Option<String>,
    ) -> Result<(), ChecklistError> {
        if !item.applies_to(self.class) {
            return Err(ChecklistError::NotApplicable {
                item,
                class: self.class,
            });
        }
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if condition == Condition::NonConforming && note.is_none() {
            return Err(ChecklistError::NoteRequired { item });
        }
        let entry = ChecklistEntry {
            item,
            condition,
            note,
        };
        match self.entries.binary_search_by_key(&item, |e| e.item) {
            Ok(index) => self.entries[index] = entry,
            Err(index) => self.entries.insert(index, entry),
        }
        Ok(())
    }

    /// Forgets the entry of `item`; returns whether there was one.
    pub fn clear(&mut self, item: ChecklistItem) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.item != item);
        self.entries.len() != before
    }

    /// The entry of `item`, if recorded.
    pub fn get(&self, item: ChecklistItem) -> Option<&ChecklistEntry> {
        self.entries.iter().find(|e| e.item == item)
    }

    /// All recorded entries, in screen order.
    pub fn entries(&self) -> &[ChecklistEntry] {
        &self.entries
    }

    /// The items that apply to this class, in screen order.
    pub fn applicable(&self) -> Vec<ChecklistItem> {
        ChecklistItem::for_class(self.class)
    }

    /// Applicable items not recorded yet, in screen order.
    pub fn missing(&self) -> Vec<ChecklistItem> {
        self.applicable()
            .into_iter()
            .filter(|&item| self.get(item).is_none())
            .collect()
    }

    /// Whether every applicable item has been recorded.
    pub fn is_complete(&self) -> bool {
        self.missing().is_empty()
    }

    /// The non-conforming entries, in screen order.
    pub fn non_conforming(&self) -> Vec<&ChecklistEntry> {
        self.entries
            .iter()
            .filter(|e| e.condition == Condition::NonConforming)
            .collect()
    }

    /// The items of [`Checklist::non_conforming`].
    pub fn non_conforming_items(&self) -> Vec<ChecklistItem> {
        self.non_conforming().iter().map(|e| e.item).collect()
    }

    /// The verdict this checklist supports, once complete: conforming when no item is
    /// non-conforming, otherwise non-conforming with those items. `None` while incomplete.
    pub fn verdict(&self) -> Option<Verdict> {
        if !self.is_complete() {
            return None;
        }
        let items = self.non_conforming_items();
        Some(if items.is_empty() {
            Verdict::Conforming
        } else {
            Verdict::NonConforming { items }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ChecklistItem::*;

    fn fill(checklist: &mut Checklist) {
        for item in checklist.missing() {
            checklist.set(item, Condition::Conforming, None).unwrap();
        }
    }

    #[test]
    fn codes_round_trip_and_match_serde() {
        for item in ChecklistItem::ALL {
            assert_eq!(item.code().parse::<ChecklistItem>().unwrap(), item);
            assert_eq!(
                serde_json::to_string(&item).unwrap(),
                format!("\"{}\"", item.code())
            );
        }
        assert_eq!(
            "wings".parse::<ChecklistItem>().unwrap_err().to_string(),
            "código de item de vistoria desconhecido: «wings»"
        );
        let mut sorted = ChecklistItem::ALL;
        sorted.sort();
        assert_eq!(
            sorted,
            ChecklistItem::ALL,
            "ALL must follow declaration order"
        );
    }

    #[test]
    fn applicability_per_class() {
        let moto = ChecklistItem::for_class(VehicleClass::Motorcycle);
        for item in [
            WarningTriangle,
            Wipers,
            SpareTyre,
            Jack,
            FrontPlate,
            SeatBelts,
        ] {
            assert!(!moto.contains(&item), "{item:?}");
        }
        assert!(moto.contains(&EngineNumber) && moto.contains(&Indicators));
        let trailer = ChecklistItem::for_class(VehicleClass::Trailer);
        for item in [
            EngineNumber,
            Horn,
            Speedometer,
            Headlights,
            Mirrors,
            FrontPlate,
        ] {
            assert!(!trailer.contains(&item), "{item:?}");
        }
        assert!(trailer.contains(&BrakeLights) && trailer.contains(&RearSeal));
        assert!(!FireExtinguisher.applies_to(VehicleClass::PassengerCar));
        assert!(FireExtinguisher.applies_to(VehicleClass::Bus));
        assert!(!Indicators.applies_to(VehicleClass::Moped));
        assert_eq!(
            ChecklistItem::for_class(VehicleClass::Truck).len(),
            ChecklistItem::ALL.len(),
            "a truck has everything"
        );
        for class in VehicleClass::ALL {
            for item in [
                RearPlate,
                RearSeal,
                ChassisEngraving,
                Tyres,
                Bodywork,
                Colour,
            ] {
                assert!(item.applies_to(class), "{item:?} {class:?}");
            }
        }
    }

    #[test]
    fn set_missing_complete_and_verdict() {
        let mut c = Checklist::new(VehicleClass::Motorcycle);
        assert_eq!(c.missing(), c.applicable());
        assert!(!c.is_complete());
        assert_eq!(c.verdict(), None);
        c.set(
            Tyres,
            Condition::NonConforming,
            Some("  pneu traseiro careca ".into()),
        )
        .unwrap();
        assert_eq!(
            c.get(Tyres).unwrap().note.as_deref(),
            Some("pneu traseiro careca")
        );
        fill(&mut c);
        assert!(c.is_complete());
        assert_eq!(c.non_conforming_items(), vec![Tyres]);
        assert_eq!(
            c.verdict(),
            Some(Verdict::NonConforming { items: vec![Tyres] })
        );
        c.set(Tyres, Condition::Conforming, None).unwrap();
        assert_eq!(c.verdict(), Some(Verdict::Conforming));
        assert!(c.clear(Tyres) && !c.clear(Tyres));
        assert_eq!(c.missing(), vec![Tyres]);
        let items: Vec<_> = c.entries().iter().map(|e| e.item).collect();
        let mut sorted = items.clone();
        sorted.sort();
        assert_eq!(items, sorted);
    }

    #[test]
    fn errors_and_messages() {
        let mut c = Checklist::new(VehicleClass::Motorcycle);
        let err = c
            .set(WarningTriangle, Condition::Conforming, None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "o item «Triângulo de sinalização» não se aplica a Motocicleta / motoneta"
        );
        for note in [None, Some(String::new()), Some("   ".into())] {
            let err = c.set(Horn, Condition::NonConforming, note).unwrap_err();
            assert_eq!(err, ChecklistError::NoteRequired { item: Horn });
            assert_eq!(
                err.to_string(),
                "item «Buzina» não conforme: descreva a inconformidade na observação"
            );
        }
        assert!(c.entries().is_empty(), "errors record nothing");
        assert_eq!(
            ChecklistError::Duplicate { item: Horn }.to_string(),
            "o item «Buzina» aparece mais de uma vez no checklist"
        );
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let mut c = Checklist::new(VehicleClass::PassengerCar);
        c.set(
            Wipers,
            Condition::NonConforming,
            Some("palheta rasgada".into()),
        )
        .unwrap();
        fill(&mut c);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Checklist>(&json).unwrap(), c);

        let not_applicable = r#"{"class":"trailer","entries":[{"item":"horn","condition":"conforming","note":null}]}"#;
        assert!(serde_json::from_str::<Checklist>(not_applicable).is_err());
        let no_note = r#"{"class":"trailer","entries":[{"item":"tyres","condition":"non_conforming","note":" "}]}"#;
        assert!(serde_json::from_str::<Checklist>(no_note).is_err());
        let twice = r#"{"class":"trailer","entries":[
            {"item":"tyres","condition":"conforming","note":null},
            {"item":"tyres","condition":"conforming","note":null}]}"#;
        assert!(serde_json::from_str::<Checklist>(twice).is_err());
    }
}
