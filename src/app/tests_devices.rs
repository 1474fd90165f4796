//! The devices in the photo flow (issue 19) in the window: the borescope offered on the
//! engine number (§8, §18), its frames refused below 800×600 and stored naming it, and the
//! engine photographed taken apart as an additional photo with that reason. Same harness as
//! the other window tests: real embedded central, demo kiosk with its simulated borescope.

use std::path::PathBuf;

use vistoria_core::domain::PhotoKind;
use vistoria_drivers::panoramic::test_server::CameraConfig;
use vistoria_station::demo_borescope::BorescopeFault;

use super::Harness;
use crate::screen::inspection::photos::{BORESCOPE, DISASSEMBLED};

impl Harness {
    /// A fixed station whose panoramic camera also gives §7 a's photo: in colour, at §7's
    /// 1600×1024.
    pub(super) fn fixed_station(root: Option<PathBuf>) -> Harness {
        Harness::with_camera(
            Some(CameraConfig {
                width: 1600,
                height: 1024,
                fps: 8,
                colour: true,
                ..CameraConfig::default()
            }),
            root,
        )
    }
}

#[test]
fn the_engine_number_offers_the_borescope_and_its_photo_names_it() {
    let mut h = Harness::new();
    h.open_inspection();
    h.inspector_takes_it();
    // Only on the engine number.
    h.click("foto-front");
    assert!(!h.sees(BORESCOPE));
    h.click("foto-engine_number");
    assert!(h.sees(BORESCOPE));
    assert!(h.sees("Capturar"));

    // A frame below §18's minimum is refused, saying so; nothing is stored.
    h.kiosk
        .set_demo_borescope_fault(Some(BorescopeFault::SmallFrames));
    h.click(BORESCOPE);
    let error = h.inspection().error().expect("refused");
    assert_eq!(
        error,
        "resolução 640×480 abaixo do mínimo 800×600: verifique o boroscópio e repita a foto"
    );
    assert!(h.sees(error.as_str()));
    assert!(h.inspection().shots().is_empty());
    h.click("Fechar");

    // The borescope's photo goes through the pipeline and names the borescope.
    h.kiosk.set_demo_borescope_fault(None);
    h.click(BORESCOPE);
    assert!(
        h.inspection().error().is_none(),
        "{:?}",
        h.inspection().error()
    );
    let shot = h.inspection().shots().last().unwrap().clone();
    assert_eq!(shot.kind, PhotoKind::EngineNumber);
    assert_eq!(shot.device.as_deref(), Some("Boroscópio (simulado)"));
    assert_eq!(shot.md5.len(), 32);
    h.click("foto-engine_number");
    assert!(h.sees("Dispositivo: Boroscópio (simulado)"));
    assert!(h.sees(format!("MD5 {}", shot.md5).as_str()));

    // §8: the number readable only with the engine taken apart: an additional photo with
    // that reason.
    h.click(DISASSEMBLED);
    let apart = h.inspection().shots().last().unwrap().clone();
    assert_eq!(apart.kind, PhotoKind::Additional);
    assert_eq!(
        apart.reason.as_deref(),
        Some("numeração legível apenas com o motor desmontado")
    );
    let stored = h.audit_detail("media.stored");
    assert_eq!(
        stored["reason"], "numeração legível apenas com o motor desmontado",
        "{stored}"
    );
    assert_eq!(stored["source"], "still_camera", "{stored}");
    // Re-entering shows both as stored, the borescope's named.
    let again = h.kiosk.stored_shots(h.inspection().row().id).unwrap();
    assert_eq!(again[0].device.as_deref(), Some("Boroscópio (simulado)"));
    assert_eq!(again[1].reason, apart.reason);
}
