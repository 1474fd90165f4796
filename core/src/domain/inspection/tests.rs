#![allow(clippy::unwrap_used)]
//! Unit tests of the inspection state machine, one rule each.

use chrono::TimeZone;

use super::*;
use crate::domain::chassis::Chassis;
use crate::domain::plate::Plate;
use crate::domain::renavam::Renavam;
use crate::domain::vehicle::VehicleClass;

pub(super) fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).single().unwrap() + TimeDelta::minutes(minutes)
}

fn identity() -> VehicleIdentity {
    VehicleIdentity::new(
        Plate::parse("ABC1D23").unwrap(),
        Some(Renavam::parse("00639884962").unwrap()),
        Some(Chassis::parse("9BWZZZ377VT004251").unwrap()),
    )
    .unwrap()
}

fn data(class: VehicleClass) -> VehicleData {
    VehicleData {
        make_model: "VW/GOL 1.0".into(),
        year: 2012,
        colour: "PRATA".into(),
        class,
        chassis: Some("9BWZZZ377VT004251".into()),
        city: "CUIABA".into(),
    }
}

pub(super) fn opened(class: VehicleClass) -> Inspection {
    Inspection::open(uuid::Uuid::nil(), identity(), data(class), t(0))
}

fn fill(inspection: &mut Inspection, at: DateTime<Utc>) {
    for item in inspection.checklist().missing() {
        inspection
            .record_item(item, Condition::Conforming, None, at)
            .unwrap();
    }
}

pub(super) fn signature(at: DateTime<Utc>) -> SignatureInfo {
    SignatureInfo {
        signer: " Maria Vistoriadora - CPF 000.000.001-91 ".into(),
        at,
        certificate: Some("CN=MARIA:00000000191".into()),
    }
}

pub(super) fn receipt(at: DateTime<Utc>) -> Receipt {
    Receipt {
        laudo_number: "MT-2024-000123".into(),
        received_at: at,
    }
}

fn round_trip(inspection: &Inspection) {
    let json = serde_json::to_string(inspection).unwrap();
    assert_eq!(
        &serde_json::from_str::<Inspection>(&json).unwrap(),
        inspection
    );
}

#[test]
fn conforming_inspection_from_query_to_receipt() {
    let mut i = opened(VehicleClass::PassengerCar);
    assert_eq!(i.deadline(), t(240), "2b, §9: four hours from the query");
    assert_eq!(
        (i.state_name(), i.is_open(), i.outcome()),
        ("opened", true, None)
    );
    assert_eq!(
        i.allowed_events(),
        vec![
            Event::StartCapture,
            Event::Interrupt,
            Event::ExpireDeadline,
            Event::RecoverAfterCrash
        ]
    );

    i.start_capture(t(5)).unwrap();
    assert_eq!(i.state_name(), "capturing");
    fill(&mut i, t(20));
    i.conclude(Verdict::Conforming, t(30)).unwrap();
    assert_eq!(i.state_name(), "concluded");
    assert!(i.is_open(), "open until signed (§4)");
    i.sign(signature(t(31))).unwrap();
    assert_eq!(i.state_name(), "signed");
    assert_eq!(
        i.signature().unwrap().signer,
        "Maria Vistoriadora - CPF 000.000.001-91"
    );
    i.queue(t(32)).unwrap();
    assert_eq!(i.state_name(), "queued");
    // Delivery may come after the deadline: the outbox keeps trying (§12).
    i.deliver(receipt(t(300))).unwrap();
    assert_eq!(i.state_name(), "delivered");
    assert_eq!(i.receipt().unwrap().laudo_number, "MT-2024-000123");
    assert_eq!(i.outcome(), Some(Outcome::Verdict(Verdict::Conforming)));
    assert!(i.allowed_events().is_empty());

    let kinds: Vec<_> = i
        .history()
        .iter()
        .map(|h| (h.from.name(), h.to.name(), h.event))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("opened", "capturing", Event::StartCapture),
            ("capturing", "concluded", Event::Conclude),
            ("concluded", "signed", Event::Sign),
            ("signed", "queued", Event::Queue),
            ("queued", "delivered", Event::Deliver),
        ]
    );
    assert!(i.history().iter().all(Transition::is_legal));
    round_trip(&i);
}

#[test]
fn non_conforming_verdict_names_the_checklist_items() {
    let mut i = opened(VehicleClass::Motorcycle);
    i.start_capture(t(1)).unwrap();
    i.record_item(
        ChecklistItem::Tyres,
        Condition::NonConforming,
        Some("careca".into()),
        t(2),
    )
    .unwrap();
    i.record_item(
        ChecklistItem::Horn,
        Condition::NonConforming,
        Some("muda".into()),
        t(2),
    )
    .unwrap();
    fill(&mut i, t(3));

    let err = i.conclude(Verdict::Conforming, t(4)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "o resultado não pode ser conforme: há itens não conformes (Buzina, Pneus)"
    );
    let err = i
        .conclude(
            Verdict::NonConforming {
                items: vec![ChecklistItem::Tyres],
            },
            t(4),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "os itens do resultado não conforme devem ser os não conformes do checklist (Buzina, Pneus)"
    );
    assert_eq!(i.state_name(), "capturing");

    // Any order, duplicates tolerated; stored in checklist order.
    let items = vec![
        ChecklistItem::Tyres,
        ChecklistItem::Horn,
        ChecklistItem::Tyres,
    ];
    i.conclude(Verdict::NonConforming { items }, t(5)).unwrap();
    let expected = Verdict::NonConforming {
        items: vec![ChecklistItem::Horn, ChecklistItem::Tyres],
    };
    assert_eq!(i.state(), &State::Concluded(expected.clone()));
    i.sign(signature(t(6))).unwrap();
    i.queue(t(7)).unwrap();
    assert_eq!(
        i.outcome(),
        Some(Outcome::Verdict(expected)),
        "§12: the result stays visible"
    );
    round_trip(&i);
}

#[test]
fn conclusion_requires_a_complete_checklist() {
    let mut i = opened(VehicleClass::Trailer);
    i.start_capture(t(1)).unwrap();
    i.record_item(ChecklistItem::RearPlate, Condition::Conforming, None, t(2))
        .unwrap();
    let err = i.conclude(Verdict::Conforming, t(3)).unwrap_err();
    assert!(
        matches!(&err, TransitionError::ChecklistIncomplete { missing } if !missing.contains(&ChecklistItem::RearPlate))
    );
    assert!(
        err.to_string()
            .starts_with("checklist incompleto; falta registrar: Lacre da placa traseira, ")
    );
    fill(&mut i, t(3));
    let err = i
        .conclude(Verdict::NonConforming { items: vec![] }, t(4))
        .unwrap_err();
    assert_eq!(err, TransitionError::VerdictMismatch { expected: vec![] });
    assert!(err.to_string().ends_with("(nenhum)"));
}

#[test]
fn checklist_is_only_editable_while_capturing() {
    let mut i = opened(VehicleClass::Motorcycle);
    let err = i
        .record_item(ChecklistItem::Horn, Condition::Conforming, None, t(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "não é possível registrar item do checklist: a vistoria está aberta"
    );
    i.start_capture(t(1)).unwrap();
    let err = i
        .record_item(ChecklistItem::Wipers, Condition::Conforming, None, t(2))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "o item «Limpadores de para-brisa» não se aplica a Motocicleta / motoneta"
    );
    fill(&mut i, t(2));
    i.conclude(Verdict::Conforming, t(3)).unwrap();
    let before = i.clone();
    assert!(
        i.record_item(
            ChecklistItem::Horn,
            Condition::NonConforming,
            Some("x".into()),
            t(4)
        )
        .is_err()
    );
    assert_eq!(i, before);
}

#[test]
fn illegal_events_name_state_and_event() {
    let mut i = opened(VehicleClass::Bus);
    let cases = [
        (
            i.sign(signature(t(1))).unwrap_err(),
            "não é possível assinar o laudo: a vistoria está aberta",
        ),
        (
            i.queue(t(1)).unwrap_err(),
            "não é possível colocar na fila de envio: a vistoria está aberta",
        ),
        (
            i.conclude(Verdict::Conforming, t(1)).unwrap_err(),
            "não é possível concluir a vistoria: a vistoria está aberta",
        ),
        (
            i.deliver(receipt(t(1))).unwrap_err(),
            "não é possível registrar a entrega à central: a vistoria está aberta",
        ),
    ];
    for (err, message) in cases {
        assert_eq!(err.to_string(), message);
    }
    i.start_capture(t(1)).unwrap();
    let err = i.start_capture(t(2)).unwrap_err();
    assert_eq!(
        err,
        TransitionError::NotAllowed {
            state: StateKind::Capturing,
            event: Event::StartCapture
        }
    );
    assert_eq!(
        err.to_string(),
        "não é possível iniciar a captura: a vistoria está em captura"
    );
    assert_eq!(i.history().len(), 1);
}

#[test]
fn interruption_causes_and_notes() {
    let mut i = opened(VehicleClass::Truck);
    let err = i
        .interrupt(InterruptionCause::Other, "   ", t(1))
        .unwrap_err();
    assert_eq!(err.to_string(), "descreva o motivo da interrupção");
    let err = i
        .interrupt(InterruptionCause::DeadlineExpired, "", t(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a causa «Prazo de 4 horas esgotado» é registrada automaticamente pelo sistema"
    );
    assert_eq!(i.state_name(), "opened");

    i.interrupt(InterruptionCause::CustomerGaveUp, " foi embora ", t(2))
        .unwrap();
    assert_eq!(i.state_name(), "interrupted");
    assert!(!i.is_open());
    let interruption = i.outcome().unwrap().interruption().cloned().unwrap();
    assert_eq!(
        (interruption.cause, interruption.note.as_str()),
        (InterruptionCause::CustomerGaveUp, "foi embora")
    );
    // Closed by the system without a signature.
    i.queue(t(3)).unwrap();
    assert_eq!(i.signature(), None);
    i.deliver(receipt(t(4))).unwrap();
    assert_eq!(i.outcome().unwrap().label_pt(), "Interrompida");
    round_trip(&i);

    let mut signed = opened(VehicleClass::Truck);
    signed
        .interrupt(InterruptionCause::Other, "pneu estourou no pátio", t(1))
        .unwrap();
    signed.sign(signature(t(2))).unwrap();
    assert_eq!(signed.state_name(), "signed");
    assert!(signed.outcome().unwrap().interruption().is_some());
}

#[test]
fn deadline_closes_open_inspections() {
    let mut i = opened(VehicleClass::PassengerCar);
    i.start_capture(t(10)).unwrap();
    assert!(
        !i.check_deadline(t(240)),
        "the deadline itself is still in time"
    );
    i.record_item(ChecklistItem::Horn, Condition::Conforming, None, t(240))
        .unwrap();
    let before = i.clone();
    let err = i
        .record_item(ChecklistItem::Tyres, Condition::Conforming, None, t(241))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "não é possível registrar item do checklist: o prazo de 4 horas desde a consulta do veículo terminou"
    );
    assert_eq!(i, before);
    assert!(i.check_deadline(t(241)));
    assert!(!i.is_open());
    assert_eq!(
        i.outcome().unwrap().interruption().unwrap().cause,
        InterruptionCause::DeadlineExpired
    );
    assert_eq!(i.history().last().unwrap().event, Event::ExpireDeadline);
    assert!(!i.check_deadline(t(500)), "only once");
    // No signature past the deadline; the system queues it.
    assert!(matches!(
        i.sign(signature(t(242))),
        Err(TransitionError::DeadlineExpired { .. })
    ));
    i.queue(t(242)).unwrap();
}

#[test]
fn unsigned_verdict_survives_deadline_and_crash() {
    for crash in [false, true] {
        let mut i = opened(VehicleClass::Minibus);
        i.start_capture(t(1)).unwrap();
        fill(&mut i, t(2));
        i.conclude(Verdict::Conforming, t(3)).unwrap();
        let changed = if crash {
            i.recover_after_crash(t(4))
        } else {
            i.check_deadline(t(300))
        };
        assert!(changed && !i.is_open());
        let interruption = i.outcome().unwrap().interruption().cloned().unwrap();
        let cause = if crash {
            InterruptionCause::SystemFailure
        } else {
            InterruptionCause::DeadlineExpired
        };
        assert_eq!(interruption.cause, cause);
        assert_eq!(interruption.unsigned_verdict, Some(Verdict::Conforming));
    }
}

#[test]
fn crash_recovery_never_fails_and_leaves_closed_ones_alone() {
    let mut i = opened(VehicleClass::Moped);
    i.start_capture(t(30)).unwrap();
    // A restart reporting an earlier time is raised to the last record.
    assert!(i.recover_after_crash(t(10)));
    assert_eq!(i.history().last().unwrap().at, t(30));
    assert_eq!(
        i.outcome().unwrap().interruption().unwrap().cause,
        InterruptionCause::SystemFailure
    );
    assert!(!i.recover_after_crash(t(40)));
    assert_eq!(i.history().len(), 2);
}

#[test]
fn time_cannot_go_backwards() {
    let mut i = opened(VehicleClass::PassengerCar);
    assert!(matches!(
        i.start_capture(t(-1)),
        Err(TransitionError::ClockWentBackwards { .. })
    ));
    i.start_capture(t(5)).unwrap();
    let err = i
        .interrupt(InterruptionCause::CustomerGaveUp, "", t(4))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "horário inválido: anterior ao último registro da vistoria"
    );
}

#[test]
fn signer_and_laudo_number_are_required() {
    let mut i = opened(VehicleClass::PassengerCar);
    i.interrupt(InterruptionCause::IrregularDocuments, "", t(1))
        .unwrap();
    let mut unsigned = signature(t(2));
    unsigned.signer = "  ".into();
    assert_eq!(
        i.sign(unsigned).unwrap_err().to_string(),
        "identifique o vistoriador que assina o laudo"
    );
    i.queue(t(2)).unwrap();
    let mut bad = receipt(t(3));
    bad.laudo_number = String::new();
    assert_eq!(
        i.deliver(bad).unwrap_err().to_string(),
        "o recibo da central não informa o número do laudo"
    );
}

#[test]
fn stored_inspections_are_validated() {
    let mut i = opened(VehicleClass::PassengerCar);
    i.start_capture(t(1)).unwrap();
    let mut json: serde_json::Value = serde_json::to_value(&i).unwrap();
    json["state"] = serde_json::json!({ "state": "queued", "outcome": { "verdict": { "verdict": "conforming" } }, "signature": null });
    let err = serde_json::from_value::<Inspection>(json.clone()).unwrap_err();
    assert!(
        err.to_string()
            .contains("estado não corresponde ao histórico"),
        "{err}"
    );
    json["state"] = serde_json::json!({ "state": "capturing" });
    json["history"][0]["event"] = serde_json::json!("deliver");
    assert!(serde_json::from_value::<Inspection>(json.clone()).is_err());
    json["history"][0]["event"] = serde_json::json!("start_capture");
    json["data"]["class"] = serde_json::json!("bus");
    assert!(serde_json::from_value::<Inspection>(json.clone()).is_err());
    json["data"]["class"] = serde_json::json!("passenger_car");
    assert_eq!(serde_json::from_value::<Inspection>(json).unwrap(), i);
}

#[test]
fn state_names_are_stable() {
    let names: Vec<_> = StateKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "opened",
            "capturing",
            "concluded",
            "interrupted",
            "signed",
            "queued",
            "delivered"
        ]
    );
    for kind in StateKind::ALL {
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            format!("\"{}\"", kind.name())
        );
    }
}
