//! A station with nobody on it (issue 19), in the window: the setup screen takes only the
//! shell's one-time code and makes the first administrator, who adds an inspector in
//! Administração and enrols her finger from the station's reader (the folder simulator
//! serving FVC impressions of one finger), a latent and a too-dark touch refused on the way.

use std::path::Path;
use std::time::SystemTime;

use vistoria_core::biometrics::quality::{as_latent, as_too_dark};
use vistoria_core::biometrics::{Finger, GrayImage};
use vistoria_core::config::{DeviceSection, Devices};
use vistoria_core::staff;
use vistoria_station::{DeviceSetup, Station};

use super::{Harness, Screen};
use crate::screen::staff::person_form::*;

fn fvc(name: &str) -> Option<GrayImage> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/fingerprints/FVC2002_DB1_B")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(GrayImage::from_tiff(&bytes).unwrap()),
        Err(_) => {
            eprintln!("SKIP: {} ausente", path.display());
            None
        }
    }
}

/// A configured station (not demo mode) whose reader serves `touches` in order.
fn configured(root: &Path, touches: &[GrayImage]) -> Station {
    let folder = root.join("leitor");
    std::fs::create_dir_all(&folder).unwrap();
    for (i, image) in touches.iter().enumerate() {
        std::fs::write(folder.join(format!("{i:02}.tif")), image.to_tiff()).unwrap();
    }
    let mut opening =
        vistoria_station::embedded_central::demo_opening(root, "ECV-TESTE-01", None).unwrap();
    opening.devices = DeviceSetup::Configured {
        devices: Box::new(Devices {
            allow_simulated: true,
            fingerprint: DeviceSection {
                backend: "sim".into(),
                address: Some(folder.to_string_lossy().into_owned()),
            },
            ..Devices::default()
        }),
        icp_roots: root.join("icp-brasil"),
    };
    opening.template_key = root.join("etc/biometria.key");
    Station::open(opening).unwrap()
}

#[test]
fn the_first_administrator_enrols_an_inspector_from_the_administration_screen() {
    let images: Option<Vec<GrayImage>> = ["101_1.tif", "101_2.tif", "101_3.tif", "101_4.tif"]
        .iter()
        .map(|n| fvc(n))
        .collect();
    let Some(images) = images else { return };
    let dir = tempfile::tempdir().unwrap();
    let touches = [
        images[0].clone(),
        as_latent(&images[0], 0.3),
        as_too_dark(&images[1]),
        images[1].clone(),
        images[2].clone(),
        images[3].clone(),
    ];
    let kiosk = configured(dir.path(), &touches);
    let data = kiosk.data_dir();
    let mut h = Harness::with_kiosk(kiosk, Some(dir));
    assert!(matches!(h.app.screen(), Screen::Setup(_)));
    assert!(h.sees("Configuração inicial da estação"));

    // A made-up code is refused; the shell's code makes the administrator.
    h.type_into(crate::screen::setup::CODE_INPUT, "ABCD-EFGH-JKMN");
    h.type_into(NAME_INPUT, "Alice Administradora");
    h.type_into(CPF_INPUT, "862.883.667-57");
    h.type_into(LOGIN_INPUT, "alice");
    h.type_into(PASSWORD_INPUT, "senha-forte-1");
    h.type_into(CONFIRM_INPUT, "senha-forte-1");
    h.click("Cadastrar administrador");
    let Screen::Setup(s) = h.app.screen() else {
        panic!("setup left with a wrong code")
    };
    assert!(
        s.error().unwrap().contains("nenhum código"),
        "{:?}",
        s.error()
    );
    let code = staff::issue_setup_code(&data, "root", SystemTime::now()).unwrap();
    h.replace(crate::screen::setup::CODE_INPUT, &code);
    // The passwords were forgotten after the refused try: typed again.
    h.type_into(PASSWORD_INPUT, "senha-forte-1");
    h.type_into(CONFIRM_INPUT, "senha-forte-1");
    h.click("Cadastrar administrador");
    assert!(
        matches!(h.app.screen(), Screen::Staff(_)),
        "{:?}",
        match h.app.screen() {
            Screen::Setup(s) => s.error(),
            _ => None,
        }
    );
    assert_eq!(h.app.session().unwrap().login, "alice");

    // The inspector, then her right index from the reader.
    h.click("Cadastrar pessoa");
    h.type_into(NAME_INPUT, "Ana Vistoriadora");
    h.type_into(CPF_INPUT, "39053344705");
    h.type_into(LOGIN_INPUT, "ana");
    h.click("Vistoriador");
    h.click("Salvar");
    assert!(h.sees("Ana Vistoriadora (ana)"));
    assert!(h.sees("Cadastre dois dedos deste vistoriador."));
    h.click("Cadastrar digital");
    h.click(Finger::RightIndex.label_pt());
    // Nothing is read before the inspector agrees to the consent term.
    h.click("Iniciar leitura");
    let Screen::Staff(s) = h.app.screen() else {
        panic!()
    };
    assert!(s.enrolment().unwrap().touches().is_empty());
    h.click("O vistoriador leu e concorda");
    h.click("Iniciar leitura");
    let Screen::Staff(s) = h.app.screen() else {
        panic!()
    };
    assert!(s.enrolment().is_none(), "{:?}", s.error());
    let ana = s.people().iter().find(|p| p.login == "ana").unwrap();
    assert_eq!(ana.fingers, [Finger::RightIndex]);
    assert!(h.sees("Remover indicador direito"));
    assert!(h.sees("indicador direito de ana cadastrado"));
    // Each refused touch is in the audit log with its reason; the consent with the finger.
    let enrolled = h.audit_detail("biometrics.enrolled");
    assert_eq!(enrolled["consent"]["person"], "ana");
    assert_eq!(enrolled["consent"]["fingers"][0], "right-index");
    assert_eq!(enrolled["finger"], "right-index");

    // The same finger logs her in at the login screen.
    h.click("Sair");
    h.click("Vistoriador (digital)");
    h.click("Ana Vistoriadora");
    h.click("Ler digital");
    assert_eq!(h.app.session().map(|s| s.login.as_str()), Some("ana"));
}
