//! A station with nobody on it (issue 19), in the window: the setup screen takes only the
//! shell's one-time code and makes the first administrator, who adds an inspector in
//! Administração and enrols her finger from the station's reader (the folder simulator
//! serving FVC impressions of one finger), a latent and a too-dark touch refused on the way.

use std::path::Path;
use std::time::SystemTime;

use vistoria_core::biometrics::image::fvc_sample;
use vistoria_core::biometrics::quality::{as_latent, as_too_dark};
use vistoria_core::biometrics::{Finger, GrayImage};
use vistoria_core::config::{DeviceSection, Devices};
use vistoria_core::staff;
use vistoria_station::{DeviceSetup, Station};

use super::{Harness, PLATE, RENAVAM, Screen, signing_child};
use crate::screen::staff::person_form::*;

/// A configured station (not demo mode) whose reader serves `touches` in order.
fn configured(root: &Path, touches: &[GrayImage]) -> Station {
    configured_with(root, touches, DeviceSection::default())
}

/// [`configured`] with the e-CPF reader `smartcard` (a PKCS#11 module).
fn configured_with(root: &Path, touches: &[GrayImage], smartcard: DeviceSection) -> Station {
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
            smartcard,
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
        .map(|n| fvc_sample(n))
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

/// Issue 19's "done when": a station that is not in demo mode goes from the shell's code to an
/// inspection delivered by an inspector enrolled on it. The e-CPF is a SoftHSM2 token reached
/// through `[devices.smartcard] backend = "pcsc"` with its PKCS#11 module, as a real card's
/// middleware would be; the ICP-Brasil roots are the token's test root in `icp-brasil/`.
#[test]
fn a_new_station_goes_from_the_shell_code_to_a_delivered_inspection() {
    use crate::screen::counter::{PLATE_INPUT, RENAVAM_INPUT};
    use vistoria_core::domain::StateKind;
    use vistoria_core::store::OutboxState;
    use vistoria_station::card::{self, CardSetup};

    let Some(root) =
        signing_child("staff::a_new_station_goes_from_the_shell_code_to_a_delivered_inspection")
    else {
        return;
    };
    let images: Option<Vec<GrayImage>> = (1..=5)
        .map(|i| fvc_sample(&format!("101_{i}.tif")))
        .collect();
    let Some(images) = images else { return };
    // The inspector's e-CPF, where the embedded central looks for the roots it trusts.
    let kiosk_dir = root.join("kiosk");
    let CardSetup::Pkcs11 { module, roots, .. } = card::demo_token(
        &card::demo_token_dir(&kiosk_dir),
        "ANA VISTORIADORA",
        "39053344705",
    ) else {
        panic!("SoftHSM2 token not made");
    };
    let icp = root.join("icp-brasil");
    std::fs::create_dir_all(&icp).unwrap();
    std::fs::write(icp.join("raiz-teste.der"), &roots[0]).unwrap();
    let smartcard = DeviceSection {
        backend: "pcsc".into(),
        address: module.map(|m| m.to_string_lossy().into_owned()),
    };
    // Three touches enrol the finger, one logs her in, one confirms before the signature.
    let kiosk = configured_with(&root, &images, smartcard);
    let data = kiosk.data_dir();
    let mut h = Harness::with_kiosk(kiosk, None);
    assert!(matches!(h.app.screen(), Screen::Setup(_)));

    // `sudo vistoria staff bootstrap` at the shell; the administrator at the kiosk.
    let code = staff::issue_setup_code(&data, "root", SystemTime::now()).unwrap();
    h.type_into(crate::screen::setup::CODE_INPUT, &code);
    h.type_into(NAME_INPUT, "Alice Administradora");
    h.type_into(CPF_INPUT, "86288366757");
    h.type_into(LOGIN_INPUT, "alice");
    h.type_into(PASSWORD_INPUT, "senha-forte-1");
    h.type_into(CONFIRM_INPUT, "senha-forte-1");
    h.click("Cadastrar administrador");
    assert!(matches!(h.app.screen(), Screen::Staff(_)));
    // The counter's operator and the inspector, whose finger is read from the reader.
    h.click("Cadastrar pessoa");
    h.type_into(NAME_INPUT, "Carlos Operador");
    h.type_into(CPF_INPUT, "52998224725");
    h.type_into(LOGIN_INPUT, "carlos");
    h.click("Operador");
    h.type_into(PASSWORD_INPUT, "senha-balcao-1");
    h.type_into(CONFIRM_INPUT, "senha-balcao-1");
    h.click("Salvar");
    h.click("Cadastrar pessoa");
    h.type_into(NAME_INPUT, "Ana Vistoriadora");
    h.type_into(CPF_INPUT, "39053344705");
    h.type_into(LOGIN_INPUT, "ana");
    h.click("Vistoriador");
    h.click("Salvar");
    h.click("Cadastrar digital");
    h.click(Finger::RightIndex.label_pt());
    h.click("O vistoriador leu e concorda");
    h.click("Iniciar leitura");
    assert!(h.sees("indicador direito de ana cadastrado"));

    // The operator opens the inspection at the counter.
    h.click("Sair");
    h.login_password("carlos", "senha-balcao-1");
    h.type_into(PLATE_INPUT, PLATE);
    h.type_into(RENAVAM_INPUT, RENAVAM);
    h.click("Consultar e abrir vistoria");
    // The inspector logs in with her finger and inspects.
    h.click("Sair");
    h.click("Vistoriador (digital)");
    h.click("Ana Vistoriadora");
    h.click("Ler digital");
    assert_eq!(h.app.session().unwrap().login, "ana");
    h.click("Vistoriar");
    assert!(matches!(h.app.screen(), Screen::Inspection(_)));
    h.take_all_photos();
    h.fill_checklist(None);
    h.click("3. Conclusão");
    h.click("Concluir vistoria");
    assert!(matches!(h.app.screen(), Screen::Signature(_)));
    h.click("Conferir digital");
    h.type_into(
        crate::screen::signature::PIN_INPUT,
        vistoria_core::signing::test_pki::TOKEN_PIN,
    );
    h.click("Assinar laudo");
    assert!(
        matches!(h.app.screen(), Screen::Counter(_)),
        "{:?}",
        match h.app.screen() {
            Screen::Signature(s) => s.error(),
            _ => None,
        }
    );
    // Delivered, and the central's receipt verified.
    h.click("Envios");
    h.click("Enviar agora");
    let Screen::Outbox(s) = h.app.screen() else {
        panic!()
    };
    assert_eq!(
        s.rows()[0].state,
        OutboxState::Delivered,
        "{:?}",
        s.rows()[0]
    );
    assert_eq!(
        h.store_state(PLATE),
        (StateKind::Delivered, Some(OutboxState::Delivered))
    );
    // Signed by the inspector enrolled here, on a station that never ran demo mode.
    let db = vistoria_core::paths::database_in(&data);
    let conn = rusqlite::Connection::open(db).unwrap();
    let signer: String = conn
        .query_row(
            "SELECT actor FROM audit_log WHERE action = 'inspection.signed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(signer, "ana");
    let logins: Vec<String> = conn
        .prepare("SELECT login FROM accounts ORDER BY login")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(logins, ["alice", "ana", "carlos"]);
}
