//! `iced_test` simulations of the kiosk window: each test starts the real embedded central on
//! loopback and a demo kiosk (simulated camera and reader, real store, real OCR, real matcher)
//! in a temporary folder, then clicks and types through the screens as a person would and
//! checks what the screens and the store end up with. The tasks the screens start run for
//! real (on their worker threads) and their results are fed back, as the window does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use vistoria_core::domain::{PhotoKind, StateKind};
use vistoria_core::store::OutboxState;

use super::{Message, Screen};
use crate::screen::inspection;
use vistoria_station::demo;

#[path = "tests_harness.rs"]
mod harness;
use harness::*;

#[path = "tests_panoramic.rs"]
mod panoramic;

#[path = "tests_devices.rs"]
mod devices;

#[path = "tests_staff.rs"]
mod staff;

#[path = "tests_policy.rs"]
mod policy;

#[path = "tests_tickets.rs"]
mod tickets;

#[test]
fn wrong_credentials_do_not_say_which_part_and_repeated_failures_lock() {
    let mut h = Harness::new();
    h.login_password("operador", "senha-errada");
    assert!(h.sees("usuário ou credencial incorretos"));
    h.login_password("ninguem", demo::PASSWORD);
    assert!(h.sees("usuário ou credencial incorretos"));
    assert!(h.app.session().is_none());
    for _ in 0..4 {
        h.login_password("operador", "senha-errada");
    }
    assert!(h.sees("muitas tentativas sem sucesso: aguarde 5 min e tente de novo"));
    // Locked even with the right password, while the lock lasts.
    h.login_password("operador", demo::PASSWORD);
    assert!(h.app.session().is_none());
    // Another user is not locked.
    h.login_password(demo::TECHNICIAN, demo::PASSWORD);
    assert_eq!(h.app.session().unwrap().login, demo::TECHNICIAN);
    assert!(matches!(h.app.screen(), Screen::Diagnostics(_)));
}

#[test]
fn the_counter_shows_precise_query_errors_then_opens_the_inspection() {
    use crate::screen::counter::*;
    let mut h = Harness::new();
    h.login_password(demo::OPERATOR, demo::PASSWORD);
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    // A RENAVAM with a wrong check digit never reaches the central.
    h.type_into(PLATE_INPUT, PLATE);
    h.type_into(RENAVAM_INPUT, "43787047301");
    h.click("Consultar e abrir vistoria");
    assert!(h.sees("o dígito verificador do RENAVAM não confere"));
    // A valid plate that the registry does not have: the central's own reason.
    h.replace(RENAVAM_INPUT, RENAVAM);
    h.replace(PLATE_INPUT, "ZZZ9Z99");
    h.click("Consultar e abrir vistoria");
    let Screen::Counter(s) = h.app.screen() else {
        panic!()
    };
    let error = s.error().unwrap().to_owned();
    assert!(error.starts_with("o servidor central recusou"), "{error}");
    assert!(s.opened().is_none());
    // Neither RENAVAM nor chassis.
    h.replace(PLATE_INPUT, PLATE);
    h.replace(RENAVAM_INPUT, "");
    h.click("Consultar e abrir vistoria");
    assert!(h.sees("Informe o RENAVAM ou o chassi junto com a placa (§5)"));
    // The right one opens, with the central's data and the 4 h window.
    h.type_into(RENAVAM_INPUT, RENAVAM);
    h.click("Consultar e abrir vistoria");
    let Screen::Counter(s) = h.app.screen() else {
        panic!()
    };
    let opened = s.opened().expect("aberta").clone();
    assert_eq!(opened.plate, "QTK-3308");
    assert_eq!(opened.vehicle, "FIAT/ARGO DRIVE");
    assert_eq!(
        opened.deadline - opened.queried_at,
        chrono::Duration::hours(4)
    );
    assert_eq!(s.rows().len(), 1);
    assert!(h.sees("Vistoria aberta: QTK-3308"));
    assert!(h.sees("faltam 3h59min") || h.sees("faltam 4h00min"));
}

#[test]
fn a_whole_inspection_from_counter_to_delivered_package() {
    let Some(root) = signing_child("a_whole_inspection_from_counter_to_delivered_package") else {
        return;
    };
    let mut h = Harness::fixed_station(Some(root));
    h.open_inspection();
    h.inspector_takes_it();
    assert_eq!(h.inspection().row().state, StateKind::Capturing);
    // §7 a: at a fixed station the panoramic photo comes first and is taken as capture starts.
    assert_eq!(h.inspection().row().required[0], PhotoKind::Panoramic);
    assert_eq!(h.inspection().row().required.len(), 10);
    h.take_all_photos();
    // The rear photo was read and checked against the typed plate (§6).
    let rear = h
        .inspection()
        .shots()
        .iter()
        .find(|s| s.kind == PhotoKind::RearWithPlate)
        .unwrap()
        .clone();
    assert!(rear.ocr.is_some());
    // A retake asks for a reason and keeps the first photo.
    h.click("foto-front");
    h.click("Refazer");
    h.type_into(
        crate::screen::inspection::photos::RETAKE_INPUT,
        "foto tremida",
    );
    h.click("Refazer foto");
    let fronts = h
        .inspection()
        .shots()
        .iter()
        .filter(|s| s.kind == PhotoKind::Front)
        .count();
    assert_eq!(fronts, 2);
    h.click("Foto adicional");
    assert_eq!(
        h.inspection().shots().last().unwrap().kind,
        PhotoKind::Additional
    );
    h.fill_checklist(Some("tyres"));
    h.click("3. Conclusão");
    assert!(h.sees("Resultado: Não conforme: Pneus"));
    h.click("Concluir vistoria");
    assert!(matches!(h.app.screen(), Screen::Signature(_)));
    // Signing needs the fingerprint first.
    h.click("Conferir digital");
    let Screen::Signature(s) = h.app.screen() else {
        panic!()
    };
    assert!(s.confirmed(), "{:?}", s.error());
    // Then the e-CPF card's PIN (§14): the demo's SoftHSM2 token.
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
    let notice = h.app.notice().unwrap();
    assert!(
        notice.starts_with("Laudo de QTK-3308 assinado e colocado na fila de envio. Assinado por ANA PAULA SOUZA (certificado "),
        "{notice}"
    );
    assert!(
        notice.contains("Sem impressora configurada: laudo salvo em "),
        "{notice}"
    );
    // The laudo and its P7S are the inspection's media, and the P7S verifies over the laudo
    // with the inspector's CPF in the certificate (what the central checks too).
    let signed = h.audit_detail("inspection.signed");
    assert_eq!(
        signed["certificate"]["holder"], "ANA PAULA SOUZA",
        "{signed}"
    );
    assert_eq!(signed["p7s_sha256"].as_str().unwrap().len(), 64, "{signed}");
    assert!(
        signed["biometric_confirmation"]["at"].is_string(),
        "{signed}"
    );
    let pdf = notice.rsplit(' ').next().unwrap().to_owned();
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    // The PDF's signature block: holder, certificate serial and the P7S's SHA-256 (§14).
    if let Ok(out) = std::process::Command::new("pdftotext")
        .args([pdf.as_str(), "-"])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        let sha = signed["p7s_sha256"].as_str().unwrap();
        assert!(text.contains(&sha[..32]), "{text}");
        assert!(
            text.contains(signed["certificate"]["serial"].as_str().unwrap()),
            "{text}"
        );
        assert!(text.contains("ANA PAULA SOUZA"), "{text}");
        assert!(!text.contains("RASCUNHO"), "{text}");
    }
    let (state, _) = h.store_state(PLATE);
    assert!(
        matches!(state, StateKind::Queued | StateKind::Delivered),
        "{state:?}"
    );
    // Envios: the package is delivered and shows the laudo number.
    h.click("Envios");
    h.click("Enviar agora");
    let Screen::Outbox(s) = h.app.screen() else {
        panic!()
    };
    let row = &s.rows()[0];
    assert_eq!(row.state, OutboxState::Delivered, "{row:?}");
    assert!(row.laudo_number.is_some());
    assert!(h.sees(&format!(
        "Laudo nº {}",
        row.laudo_number.as_deref().unwrap()
    )));
    assert_eq!(
        h.store_state(PLATE),
        (StateKind::Delivered, Some(OutboxState::Delivered))
    );
    // §9: the receipt took the PDF with the photos; Envios offers no reprint and says why.
    assert!(
        !std::path::Path::new(&pdf).exists(),
        "{pdf} kept after delivery"
    );
    assert!(!row.laudo_pdf, "{row:?}");
    assert!(!h.sees("Imprimir laudo"));
    let url = row.verify_url.clone().unwrap();
    assert!(
        url.ends_with(&format!("/v/{}", row.laudo_number.as_deref().unwrap())),
        "{url}"
    );
    assert!(h.sees(&format!(
        "Laudo entregue: a cópia desta estação foi apagada (§9) e a via impressa é a única. \
         Conferência em {url}"
    )));
    // The bay camera filmed it from the opening to the signature, and the film went with it.
    let audit = h.audit_actions();
    assert!(audit.iter().any(|a| a == "panoramic.started"), "{audit:?}");
    let stopped = h.audit_detail("panoramic.stopped");
    assert!(stopped["segments"].as_u64().unwrap() >= 1, "{stopped}");
    // The film covers the time from the opening to the signature, less the camera's start
    // (connecting to the RTSP stream, the first keyframe).
    let span = (h.audit_at("panoramic.stopped") - h.audit_at("panoramic.started")).as_seconds_f64();
    assert!(
        stopped["seconds"].as_f64().unwrap() > span - 2.0,
        "{stopped} over {span} s"
    );
}

#[test]
fn a_plate_that_does_not_match_needs_the_section_6_correction() {
    let mut h = Harness::new();
    h.open_inspection();
    h.inspector_takes_it();
    h.kiosk.demo_show_other_plate(true);
    h.click("foto-rear_with_plate");
    h.click("Capturar");
    let shot = h.inspection().shots().last().unwrap().clone();
    let ocr = shot.ocr.clone().unwrap();
    assert!(ocr.needs_correction, "{ocr:?}");
    assert_ne!(ocr.read.as_deref(), Some(PLATE));
    // Cannot go on before correcting.
    h.click("2. Checklist");
    assert_eq!(h.inspection().step(), inspection::Step::Photos);
    assert!(
        h.inspection()
            .error()
            .unwrap()
            .contains("registre a correção (§6)")
    );
    h.click("Fechar");
    // A wrong RENAVAM in the form is refused with its reason; the right one is recorded.
    use crate::screen::inspection::photos::*;
    h.type_into(CORRECTION_PLATE, PLATE);
    h.type_into(CORRECTION_RENAVAM, "11111111111");
    h.type_into(CORRECTION_REASON, "placa trocada na foto");
    h.click("Registrar correção");
    assert!(h.inspection().error().is_some());
    h.replace(CORRECTION_RENAVAM, RENAVAM);
    h.click("Registrar correção");
    assert!(
        h.inspection().error().is_none(),
        "{:?}",
        h.inspection().error()
    );
    h.click("2. Checklist");
    assert_eq!(h.inspection().step(), inspection::Step::Checklist);
    let audit = h.audit_actions();
    assert!(audit.iter().any(|a| a == "ocr.corrected"), "{audit:?}");
}

#[test]
fn an_interrupted_inspection_is_queued_with_its_cause() {
    let mut h = Harness::new();
    h.open_inspection();
    h.inspector_takes_it();
    h.click("3. Conclusão");
    assert!(h.sees("Ainda não: 9 foto(s) por tirar, checklist incompleto"));
    h.click("causa-customer_gave_up");
    h.click("Interromper vistoria");
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    assert!(h.sees("Vistoria QTK-3308 interrompida e colocada na fila de envio"));
    let (state, outbox) = h.store_state(PLATE);
    assert!(
        matches!(state, StateKind::Queued | StateKind::Delivered),
        "{state:?}"
    );
    assert!(outbox.is_some());
}

#[test]
fn another_persons_finger_neither_logs_in_nor_signs() {
    let mut h = Harness::new();
    h.click("Vistoriador (digital)");
    h.click("Dedo de outra pessoa");
    h.click("Ler digital");
    assert!(h.app.session().is_none());
    let Screen::Login(s) = h.app.screen() else {
        panic!()
    };
    assert_eq!(
        s.error().as_deref(),
        Some("usuário ou credencial incorretos")
    );
    h.click("Dedo de Ana Paula (vistoriadora)");
    h.click("Ler digital");
    assert_eq!(h.app.session().unwrap().login, demo::INSPECTOR);
}

#[test]
fn diagnostics_show_devices_faults_and_export_a_support_zip() {
    let mut h = Harness::new();
    h.login_password(demo::TECHNICIAN, demo::PASSWORD);
    let Screen::Diagnostics(s) = h.app.screen() else {
        panic!()
    };
    let report = s.report().unwrap();
    assert!(
        report.central.latency.is_ok(),
        "{:?}",
        report.central.latency
    );
    assert!(report.audit.is_ok());
    assert!(h.sees("pronto"));
    // The signature's card: the demo's SoftHSM2 token (or it being made), and the readers as
    // pcscd sees them, or why it cannot say.
    assert!(h.sees("Cartão e-CPF (§14)"));
    assert!(!report.card.is_empty());
    assert!(h.sees(&report.card), "{}", report.card);
    match &report.readers {
        Ok(readers) if readers.is_empty() => {
            assert!(h.sees("Nenhuma leitora de cartão conectada"));
        }
        Ok(readers) => assert!(readers.iter().any(|(r, present)| h.sees(&format!(
            "{r}: {}",
            if *present {
                "cartão inserido"
            } else {
                "sem cartão"
            }
        )))),
        Err(e) => assert!(h.sees(&format!("Leitoras: {e}"))),
    }
    h.click("Desconectar a câmera");
    assert!(h.sees("ausente"));
    h.click("testar-Camera");
    assert!(h.sees("Autoteste falhou: dispositivo não encontrado: câmera desconectada"));
    h.click("Câmera normal");
    h.click("testar-Camera");
    assert!(!h.sees("Autoteste falhou: dispositivo não encontrado: câmera desconectada"));
    h.click("Exportar registros (zip)");
    let Screen::Diagnostics(_) = h.app.screen() else {
        panic!()
    };
    let zip = std::fs::read_dir(h.kiosk.data_dir().join("suporte"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&zip).unwrap();
    assert!(bytes.starts_with(b"PK"));
    // Only the technician's menu leaves kiosk mode: a close request is ignored.
    let task = h.app.update(Message::CloseRequested);
    assert!(iced_test::runtime::task::into_stream(task).is_none());
}

#[test]
fn operators_cannot_reach_diagnostics() {
    let mut h = Harness::new();
    h.login_password(demo::OPERATOR, demo::PASSWORD);
    assert!(!h.sees("Diagnóstico"));
    h.send(Message::Go(super::Nav::Diagnostics));
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
}

#[test]
fn a_wrong_pin_is_said_and_the_inspection_waits_for_the_right_one() {
    let Some(root) =
        signing_child("a_wrong_pin_is_said_and_the_inspection_waits_for_the_right_one")
    else {
        return;
    };
    use crate::screen::signature::PIN_INPUT;
    let mut h = Harness::with_bay_camera(false, Some(root));
    h.open_inspection();
    h.inspector_takes_it();
    h.take_all_photos();
    h.fill_checklist(None);
    h.click("3. Conclusão");
    h.click("Concluir vistoria");
    h.click("Conferir digital");
    h.type_into(PIN_INPUT, "000000");
    h.click("Assinar laudo");
    // §14: the card refused the PIN; nothing was signed, stored or queued.
    let Screen::Signature(s) = h.app.screen() else {
        panic!("saiu da assinatura")
    };
    assert_eq!(
        s.error().as_deref(),
        Some("PIN incorreto; confira e digite de novo")
    );
    assert!(h.sees("PIN incorreto; confira e digite de novo"));
    assert_eq!(h.store_state(PLATE), (StateKind::Concluded, None));
    let failed = h.audit_detail("inspection.sign_failed");
    assert_eq!(failed["reason"], "PIN incorreto; confira e digite de novo");
    // The PIN is typed again and the laudo signed.
    h.type_into(PIN_INPUT, vistoria_core::signing::test_pki::TOKEN_PIN);
    h.click("Assinar laudo");
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    let (state, outbox) = h.store_state(PLATE);
    assert!(
        matches!(state, StateKind::Queued | StateKind::Delivered),
        "{state:?}"
    );
    assert!(outbox.is_some());
}

#[test]
fn a_late_answer_for_another_inspection_does_not_land_on_the_one_shown() {
    use vistoria_core::domain::InspectionId;
    use vistoria_station::Failure;

    let mut h = Harness::new();
    h.open_inspection();
    h.inspector_takes_it();
    let shown = h.inspection().row().id;
    // The answer to a conclusion asked for another inspection, arriving late.
    let other = InspectionId::new();
    h.send(Message::Inspection(inspection::Message::Ended(
        other,
        Err(Failure::rule("Faltam fotos: Traseira")),
    )));
    assert!(
        h.inspection().error().is_none(),
        "{:?}",
        h.inspection().error()
    );
    assert_eq!(h.inspection().row().id, shown);
    // The same answer for the inspection shown does land.
    h.send(Message::Inspection(inspection::Message::Ended(
        shown,
        Err(Failure::rule("Faltam fotos: Traseira")),
    )));
    assert_eq!(
        h.inspection().error().as_deref(),
        Some("Faltam fotos: Traseira")
    );
}
