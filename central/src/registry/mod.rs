//! The fictitious vehicle registry that stands in for the BIN/DETRAN base of §5.
//!
//! The demo registry `assets/vehicles.json` is compiled into the binary; `serve --registry FILE`
//! replaces it. Plates are looked up by their Mercosul form, so a vehicle registered with an old
//! plate is found by its converted Mercosul plate too.

#[cfg(test)]
mod generate;

use std::collections::HashMap;
use std::path::Path;

use vistoria_core::domain::Plate;
use vistoria_core::wire::Vehicle;

/// The registry shipped with the server.
pub const DEMO_REGISTRY: &str = include_str!("../../../assets/vehicles.json");

/// Vehicles by the Mercosul form of their plate.
pub struct Registry {
    by_plate: HashMap<String, Vehicle>,
}

impl Registry {
    /// Parses a JSON array of [`Vehicle`]s; every plate must be valid and unique.
    pub fn from_json(text: &str) -> anyhow::Result<Registry> {
        let vehicles: Vec<Vehicle> = serde_json::from_str(text)?;
        let mut by_plate = HashMap::with_capacity(vehicles.len());
        for vehicle in vehicles {
            let plate = Plate::parse(&vehicle.plate)
                .map_err(|e| anyhow::anyhow!("placa {} do cadastro: {e}", vehicle.plate))?;
            let key = plate.to_mercosul().as_str().to_owned();
            if by_plate.insert(key, vehicle).is_some() {
                anyhow::bail!("placa {} repetida no cadastro", plate.as_str());
            }
        }
        Ok(Registry { by_plate })
    }

    /// The registry in `path`, or the demo registry when `None`.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Registry> {
        match path {
            Some(path) => Registry::from_json(&std::fs::read_to_string(path)?),
            None => Registry::from_json(DEMO_REGISTRY),
        }
    }

    /// The vehicle with this plate (old and Mercosul forms of the same plate are one vehicle).
    pub fn lookup(&self, plate: &Plate) -> Option<&Vehicle> {
        self.by_plate.get(plate.to_mercosul().as_str())
    }

    /// The vehicle with this RENAVAM (packages carry the plate, so the portal's RENAVAM search
    /// goes through the registry). A linear scan: searches are rare and the registry small.
    pub fn by_renavam(&self, renavam: &str) -> Option<&Vehicle> {
        self.by_plate.values().find(|v| v.renavam == renavam)
    }

    /// How many vehicles it holds.
    pub fn len(&self) -> usize {
        self.by_plate.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.by_plate.is_empty()
    }
}
