//! Presence (§17e) on recorded sequences of a bay: each scenario is rendered by our own
//! generator (`panoramic::bay_scenes`), written as PNG frames into a temporary folder, read
//! back as the RGB the recorder's preview delivers, and fed frame by frame to the detector
//! the recorder runs. The reference is taken as the station takes it (the median of three
//! stills of the empty bay, stored as PNG and loaded back).
//!
//! A motion detector (the rule before issue 19: motion between frames, or any small
//! difference from the empty bay) is run on the same recordings to show they can fail: it
//! calls the person and the lamps a vehicle.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use vistoria_drivers::panoramic::bay_scenes::{
    CarScript, Lighting, PersonScript, Scenario, record, replay,
};
use vistoria_drivers::panoramic::presence::PresenceDetector;
use vistoria_drivers::panoramic::{BayReference, GrayFrame, Presence, PresenceConfig};

/// One judged frame: time, state, share of the largest blob.
struct Judged {
    t: f64,
    state: Option<Presence>,
    share: f32,
}

fn config_for(scenario: &Scenario) -> PresenceConfig {
    let still = GrayFrame::median_of(&scenario.reference_stills()).unwrap();
    let (_, png) = BayReference::from_frame(still).unwrap();
    PresenceConfig {
        region: Scenario::bay_region(),
        reference: Some(Arc::new(BayReference::from_png(&png).unwrap())),
        ..PresenceConfig::default()
    }
}

/// Records `scenario`, replays it, judges every frame.
fn run(scenario: &Scenario) -> (Vec<Judged>, Vec<GrayFrame>) {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), scenario).unwrap();
    let frames: Vec<GrayFrame> = replay(dir.path())
        .unwrap()
        .into_iter()
        .map(|f| GrayFrame::from_rgb(f.width, f.height, &f.rgb))
        .collect();
    let mut detector = PresenceDetector::new(config_for(scenario));
    let judged = scenario
        .times()
        .zip(&frames)
        .map(|((_, t), frame)| {
            let state = detector.observe(t, frame);
            Judged {
                t,
                state,
                share: detector.last_assessment().map_or(0.0, |a| a.share),
            }
        })
        .collect();
    (judged, frames)
}

fn describe(judged: &[Judged]) -> String {
    judged
        .iter()
        .step_by(4)
        .map(|j| format!("{:.0}s:{:?}:{:.2}", j.t, j.state, j.share))
        .collect::<Vec<_>>()
        .join(" ")
}

fn max_share(judged: &[Judged]) -> f32 {
    judged.iter().map(|j| j.share).fold(0.0, f32::max)
}

/// Lamps going up 40 %, down to 62 %, back, flickering ±10 % from frame to frame, and at the
/// end a door opened on one side (25 % more light at one end of the bay, less at the other).
fn changing_light() -> Lighting {
    Lighting {
        level: vec![
            (0.0, 1.0),
            (12.0, 1.0),
            (22.0, 1.4),
            (40.0, 1.4),
            (55.0, 0.62),
            (75.0, 0.62),
            (85.0, 1.0),
        ],
        slope: vec![(0.0, 0.0), (90.0, 0.0), (100.0, 0.25)],
        flicker: 0.1,
    }
}

/// The rule before issue 19: motion between consecutive frames, or more than 0.2 % of the
/// pixels 25 levels away from the empty bay, held 10 s. Returns whether it ever called the
/// bay occupied after its first 10 s.
fn motion_rule_sees_a_vehicle(scenario: &Scenario, frames: &[GrayFrame]) -> bool {
    let empty = GrayFrame::median_of(&scenario.reference_stills()).unwrap();
    let changed = |a: &GrayFrame, b: &GrayFrame| {
        let n = a
            .luma
            .iter()
            .zip(&b.luma)
            .filter(|(p, q)| p.abs_diff(**q) > 25)
            .count();
        n as f32 / a.luma.len() as f32 > 0.002
    };
    let mut last_change = 0.0;
    let mut previous: Option<&GrayFrame> = None;
    let mut occupied_late = false;
    for ((_, t), frame) in scenario.times().zip(frames) {
        if previous.is_some_and(|p| changed(p, frame)) || changed(&empty, frame) {
            last_change = t;
        }
        previous = Some(frame);
        occupied_late |= t > 10.0 && t - last_change <= 10.0;
    }
    occupied_late
}

#[test]
fn a_car_that_drives_in_and_stands_still_for_minutes_is_present_throughout() {
    let scenario = Scenario {
        car: Some(CarScript {
            albedo: 0.5, // silver on grey concrete: little difference in level
            enter_at: 14.0,
            drive_s: 6.0,
        }),
        ..Scenario::empty(180.0, 11)
    };
    let (judged, _) = run(&scenario);
    // Empty at first: called empty once watched for the hold time.
    for j in judged.iter().filter(|j| (10.5..14.0).contains(&j.t)) {
        assert_eq!(j.state, Some(Presence::Absent), "{}", describe(&judged));
    }
    // From a second after it parks to the end, three minutes of standing still: present.
    for j in judged.iter().filter(|j| j.t >= 21.0) {
        assert_eq!(j.state, Some(Presence::Present), "{}", describe(&judged));
        assert!(j.share >= 0.2, "{}", describe(&judged));
    }
}

#[test]
fn a_person_crossing_and_standing_in_the_empty_bay_is_not_a_vehicle() {
    let scenario = Scenario {
        person: Some(PersonScript {
            waypoints: vec![
                (5.0, -4.5, 2.6),
                (12.0, 0.3, 3.6),
                (42.0, 0.3, 3.6), // stands half a minute in the middle of the bay
                (47.0, 1.5, 5.2),
                (54.0, 4.5, 2.4),
                (58.0, 4.5, 2.4),
            ],
        }),
        ..Scenario::empty(70.0, 12)
    };
    let (judged, frames) = run(&scenario);
    for j in judged.iter().filter(|j| j.t > 10.0) {
        assert_eq!(j.state, Some(Presence::Absent), "{}", describe(&judged));
    }
    let most = max_share(&judged);
    assert!(most > 0.005, "the person was never seen: {most}");
    assert!(most < 0.06, "{most}: {}", describe(&judged));
    assert!(motion_rule_sees_a_vehicle(&scenario, &frames));
}

#[test]
fn an_empty_bay_under_changing_and_flickering_light_stays_empty() {
    let scenario = Scenario {
        lighting: changing_light(),
        ..Scenario::empty(105.0, 13)
    };
    let (judged, frames) = run(&scenario);
    for j in judged.iter().filter(|j| j.t > 10.0) {
        assert_eq!(j.state, Some(Presence::Absent), "{}", describe(&judged));
    }
    let most = max_share(&judged);
    assert!(most < 0.04, "{most}: {}", describe(&judged));
    assert!(motion_rule_sees_a_vehicle(&scenario, &frames));
}

#[test]
fn a_parked_car_stays_present_while_the_light_changes() {
    let scenario = Scenario {
        car: Some(CarScript {
            albedo: 0.08, // a black car: the lamps dimming make the floor nearer to it
            enter_at: -60.0,
            drive_s: 6.0,
        }),
        lighting: changing_light(),
        ..Scenario::empty(105.0, 14)
    };
    let (judged, _) = run(&scenario);
    for j in &judged {
        assert_eq!(j.state, Some(Presence::Present), "{}", describe(&judged));
        assert!(j.share >= 0.2, "{}", describe(&judged));
    }
}

#[test]
fn a_white_car_is_present_too() {
    let scenario = Scenario {
        car: Some(CarScript {
            albedo: 0.75,
            enter_at: -60.0,
            drive_s: 6.0,
        }),
        ..Scenario::empty(20.0, 15)
    };
    let (judged, _) = run(&scenario);
    for j in &judged {
        assert_eq!(j.state, Some(Presence::Present), "{}", describe(&judged));
        assert!(j.share >= 0.2, "{}", describe(&judged));
    }
}
