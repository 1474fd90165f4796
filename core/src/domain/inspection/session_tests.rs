#![allow(clippy::unwrap_used)]
//! Random sessions of events and times against the state machine's invariants.

use proptest::prelude::*;

use super::tests::{opened, receipt, signature, t};
use super::*;
use crate::domain::vehicle::VehicleClass;

/// One step of a random session.
#[derive(Debug, Clone)]
enum Op {
    StartCapture,
    Record {
        item: usize,
        non_conforming: bool,
        note: bool,
    },
    FillConforming,
    Conclude {
        from_checklist: bool,
        conforming: bool,
    },
    Interrupt {
        cause: usize,
        note: bool,
    },
    Sign {
        signer: bool,
    },
    Queue,
    Deliver {
        number: bool,
    },
    CheckDeadline,
    Recover,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::StartCapture),
        (0..ChecklistItem::ALL.len(), any::<bool>(), any::<bool>()).prop_map(
            |(item, non_conforming, note)| Op::Record {
                item,
                non_conforming,
                note
            }
        ),
        Just(Op::FillConforming),
        (any::<bool>(), any::<bool>()).prop_map(|(from_checklist, conforming)| Op::Conclude {
            from_checklist,
            conforming
        }),
        (0..InterruptionCause::ALL.len(), any::<bool>())
            .prop_map(|(cause, note)| Op::Interrupt { cause, note }),
        any::<bool>().prop_map(|signer| Op::Sign { signer }),
        Just(Op::Queue),
        any::<bool>().prop_map(|number| Op::Deliver { number }),
        Just(Op::CheckDeadline),
        Just(Op::Recover),
    ]
}

/// Applies `op` at `at`; the system events never fail.
fn run(i: &mut Inspection, op: &Op, at: DateTime<Utc>) -> Result<(), TransitionError> {
    match *op {
        Op::StartCapture => i.start_capture(at),
        Op::Record {
            item,
            non_conforming,
            note,
        } => {
            let condition = if non_conforming {
                Condition::NonConforming
            } else {
                Condition::Conforming
            };
            i.record_item(
                ChecklistItem::ALL[item],
                condition,
                note.then(|| "obs".to_owned()),
                at,
            )
        }
        Op::FillConforming => {
            for item in i.checklist().missing() {
                i.record_item(item, Condition::Conforming, None, at)?;
            }
            Ok(())
        }
        Op::Conclude {
            from_checklist,
            conforming,
        } => {
            let verdict = match (from_checklist, i.checklist().verdict()) {
                (true, Some(verdict)) => verdict,
                _ if conforming => Verdict::Conforming,
                _ => Verdict::NonConforming {
                    items: vec![ChecklistItem::Tyres],
                },
            };
            i.conclude(verdict, at)
        }
        Op::Interrupt { cause, note } => i.interrupt(
            InterruptionCause::ALL[cause],
            if note { "nota" } else { "" },
            at,
        ),
        Op::Sign { signer } => {
            let mut s = signature(at);
            if !signer {
                s.signer.clear();
            }
            i.sign(s)
        }
        Op::Queue => i.queue(at),
        Op::Deliver { number } => {
            let mut r = receipt(at);
            if !number {
                r.laudo_number.clear();
            }
            i.deliver(r)
        }
        Op::CheckDeadline => {
            i.check_deadline(at);
            Ok(())
        }
        Op::Recover => {
            i.recover_after_crash(at);
            Ok(())
        }
    }
}

/// A vehicle class and a list of (operation, minutes since the previous operation): mostly
/// small steps, some backwards, a few big jumps past the deadline.
fn session() -> impl Strategy<Value = (usize, Vec<(Op, i64)>)> {
    let delta = prop_oneof![8 => -5i64..25, 1 => 60i64..300];
    (
        0..VehicleClass::ALL.len(),
        proptest::collection::vec((op(), delta), 0..40),
    )
}

#[test]
fn random_sessions_reach_every_state_and_error() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::HashSet;

    let mut runner = TestRunner::deterministic();
    let (mut states, mut errors) = (HashSet::new(), HashSet::new());
    for _ in 0..512 {
        let (class, steps) = session().new_tree(&mut runner).unwrap().current();
        let mut i = opened(VehicleClass::ALL[class]);
        let mut clock = 0;
        for (op, delta) in &steps {
            clock += delta;
            if let Err(err) = run(&mut i, op, t(clock)) {
                errors.insert(std::mem::discriminant(&err));
            }
            states.insert(i.state_kind());
        }
    }
    assert_eq!(states.len(), 7, "{states:?}");
    assert!(
        errors.len() >= 10,
        "only {} kinds of error exercised",
        errors.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_sessions_keep_the_invariants((class, steps) in session()) {
        let mut i = opened(VehicleClass::ALL[class]);
        let (id, vehicle, data) = (i.id(), i.vehicle().clone(), i.data().clone());
        let mut clock = 0;
        for (op, delta) in &steps {
            clock += delta;
            let at = t(clock);
            let before = i.clone();
            let result = run(&mut i, op, at);

            prop_assert_eq!(i.id(), id);
            prop_assert_eq!(i.vehicle(), &vehicle);
            prop_assert_eq!(i.data(), &data);
            prop_assert_eq!(i.deadline(), t(240));
            prop_assert!(i.history().starts_with(before.history()), "history is append-only");
            prop_assert!(i.history().len() <= before.history().len() + 1);
            prop_assert!(i.validate().is_ok(), "every history entry is a legal transition");
            if result.is_err() {
                prop_assert_eq!(&i, &before, "errors leave the inspection unchanged");
            }
            if !before.is_open() {
                prop_assert!(!i.is_open(), "never reopened");
                prop_assert_eq!(i.outcome(), before.outcome(), "the outcome never changes once closed");
            }
            if let (State::Concluded(verdict), Some(Outcome::Interrupted(interruption))) = (before.state(), i.outcome()) {
                prop_assert_eq!(interruption.unsigned_verdict.as_ref(), Some(verdict));
            }
            match op {
                Op::Recover => prop_assert!(!i.is_open()),
                Op::CheckDeadline if at > i.deadline() => prop_assert!(!i.is_open()),
                _ => {}
            }
            if i.is_open() {
                prop_assert!(i.last_event_at() <= i.deadline());
            }
        }

        let json = serde_json::to_string(&i).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Inspection>(&json).unwrap(), &i);

        // Nothing gets stuck: from wherever the session ended, the system can deliver it.
        let at = i.last_event_at() + TimeDelta::minutes(1);
        i.recover_after_crash(at);
        if matches!(i.state_kind(), StateKind::Interrupted | StateKind::Signed) {
            i.queue(at).unwrap();
        }
        if i.state_kind() == StateKind::Queued {
            i.deliver(receipt(at)).unwrap();
        }
        prop_assert_eq!(i.state_name(), "delivered");
        prop_assert!(i.outcome().is_some());
        prop_assert!(i.validate().is_ok());
    }
}
