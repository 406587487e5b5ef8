//! Live mode fed sample by sample.

use pitbox_coach::synth::{Fault, SynthTrack, stream};
use pitbox_coach::{LiveCoach, LiveConfig, LiveEvent};
use pitbox_model::Priority;

#[test]
fn coaching_after_each_lap_and_cues_before_the_braking_point_never_inside_never_repeated() {
    let track = SynthTrack::club();
    let clean = track.lap(&[]);
    let early = track.lap(&[Fault::EarlyBrake { corner: 2, metres: 15.0 }]);
    let off = track.lap(&[Fault::OffTrack { corner: 4, metres: 40.0, kmh: 15.0 }]);
    let laps = vec![clean.clone(), early.clone(), early.clone(), early.clone(), early, off, clean];
    let s = stream(&laps, 60.0, 1, 2.0, 2.0, 0.21);
    let cfg = LiveConfig { driver_id: Some("drv-1".into()), ..LiveConfig::default() };
    let mut coach = LiveCoach::new(cfg.clone());
    let mut coaching = Vec::new();
    let mut cues = Vec::new();
    for x in &s.samples {
        for e in coach.push(x) {
            match e {
                LiveEvent::Coaching(c) => coaching.push(*c),
                LiveEvent::Cue(c) => cues.push(c),
            }
        }
    }
    // One message per completed lap.
    assert_eq!(coaching.len(), laps.len(), "{coaching:#?}");
    for c in &coaching {
        pitbox_model::validate::validate(c, "").expect("valid ai_coaching");
        assert_eq!(c.driver_id.as_deref(), Some("drv-1"));
    }
    assert!(coaching[0].feedback.contains("Reference lap set"), "{}", coaching[0].feedback);
    assert_eq!(coaching[1].lap, Some(2));
    assert!(coaching[1].feedback.contains("T3: braking 15 m earlier"), "{}", coaching[1].feedback);
    assert_eq!(coaching[1].priority, Priority::High, "0.66 s at stake");
    assert!(
        coaching[5].feedback.contains("T5") && coaching[5].feedback.contains("invalid"),
        "{}",
        coaching[5].feedback
    );
    assert_eq!(coaching[5].priority, Priority::High);
    assert_eq!(coaching[6].priority, Priority::Low, "{}", coaching[6].feedback);

    // Cues: only for T3 (laps 3–6 after the early-braking laps) and T5 (lap 7 after the
    // excursion); between min_lead and lead before the reference braking point.
    let reference = coach.reference().expect("reference");
    let t3 = reference.corners.corners.iter().find(|c| c.id == "T3").expect("T3");
    assert!(!cues.is_empty());
    for c in &cues {
        assert!(c.before_braking_m <= cfg.lead_m && c.before_braking_m >= cfg.min_lead_m, "{c:?}");
        let corner = reference.corners.corners.iter().find(|x| x.id == c.corner).expect("corner");
        assert!(!(c.at_m >= corner.entry_m && c.at_m <= corner.exit_m), "inside: {c:?}");
        assert!(c.at_m < corner.entry_m);
    }
    let t3_laps: Vec<i32> = cues.iter().filter(|c| c.corner == "T3").map(|c| c.lap).collect();
    assert_eq!(t3_laps, vec![3, 5], "same words not on consecutive laps: {cues:#?}");
    assert!(
        cues.iter().filter(|c| c.corner == "T3").all(|c| c.text == "T3: brake 15 metres later" && c.at_m < t3.entry_m)
    );
    let t5: Vec<i32> = cues.iter().filter(|c| c.corner == "T5").map(|c| c.lap).collect();
    assert_eq!(t5, vec![7]);
    assert_eq!(cues.len(), 3, "{cues:#?}");
}

#[test]
fn blank_rows_and_gaps_do_not_panic_or_invent_laps() {
    let track = SynthTrack::club();
    let clean = track.lap(&[]);
    let mut s = stream(&[clean.clone(), clean], 60.0, 1, 2.0, 2.0, 0.5).samples;
    // A reset mid-lap.
    let mid = s.len() / 3;
    s[mid].blank = true;
    s[mid + 1].lap_pct = f64::NAN;
    let mut coach = LiveCoach::new(LiveConfig::default());
    let n: usize = s.iter().map(|x| coach.push(x).len()).sum();
    // The lap with the reset is incomplete; the second lap completes and becomes the reference.
    assert_eq!(n, 1);
}

#[test]
fn a_given_reference_is_used_from_the_first_lap() {
    use pitbox_coach::{AnalysisOptions, Stream};
    let track = SynthTrack::club();
    let coach_lap = stream(&[track.lap(&[])], 60.0, 1, 1.0, 1.0, 0.0);
    let st = Stream::new(coach_lap.samples, &AnalysisOptions::default()).expect("stream");
    let reference = st.reference(None, 1.0, "the coach's lap").expect("reference");
    let s = stream(&[track.lap(&[Fault::SlowCorner { corner: 1, kmh: 8.0 }])], 60.0, 4, 1.0, 1.0, 0.6);
    let mut coach = LiveCoach::with_reference(LiveConfig::default(), reference);
    let msgs: Vec<_> = s
        .samples
        .iter()
        .flat_map(|x| coach.push(x))
        .filter_map(|e| match e {
            LiveEvent::Coaching(c) => Some(*c),
            LiveEvent::Cue(_) => None,
        })
        .collect();
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].feedback.contains("to the coach's lap") && msgs[0].feedback.contains("T2: minimum speed 8 km/h lower"),
        "{}",
        msgs[0].feedback
    );
    assert_eq!(msgs[0].lap, Some(4));
}

/// A reference pinned mid-session (the pit wall's choice of a team lap) is what the next laps
/// are judged and cued against, even when the driver's own laps are faster than the driver's
/// best; a faster own lap does not replace it; unpinned, the coach goes back to the driver's
/// best lap, which it kept following. It travels as JSON (GET /api/laps/{id}/reference).
#[test]
fn a_pinned_reference_rules_until_unpinned_and_survives_json() {
    use pitbox_coach::{AnalysisOptions, Reference, Stream};
    let track = SynthTrack::club();
    // The teammate's lap: 8 km/h faster through T2 than this driver's usual lap.
    let teammate = stream(&[track.lap(&[])], 60.0, 1, 1.0, 1.0, 0.0);
    let st = Stream::new(teammate.samples, &AnalysisOptions::default()).expect("stream");
    let pinned = st.reference(None, 1.0, "lap 1 of sam").expect("reference");
    let pinned: Reference = serde_json::from_str(&serde_json::to_string(&pinned).expect("json")).expect("back");
    let slow = track.lap(&[Fault::SlowCorner { corner: 1, kmh: 8.0 }]);
    // Laps 1–2 own pace (lap 1 is the own reference, lap 2 matches it), pin, laps 3–5, unpin, 6.
    let s =
        stream(&[slow.clone(), slow.clone(), slow.clone(), slow.clone(), slow.clone(), slow], 60.0, 1, 2.0, 2.0, 0.3);
    let mut coach = LiveCoach::new(LiveConfig::default());
    let mut said: Vec<(u32, String)> = Vec::new();
    let mut cues: Vec<(i32, String)> = Vec::new();
    let mut pinned_slot = Some(pinned);
    for x in &s.samples {
        // Mid-lap: lap 2 has been judged (at the line, once iRacing timed it).
        if x.lap == 3
            && x.lap_pct > 0.5
            && let Some(p) = pinned_slot.take()
        {
            coach.pin_reference(Some(p)).expect("same track");
        }
        if x.lap == 6 && x.lap_pct > 0.5 && coach.reference().is_some_and(|r| r.name == "lap 1 of sam") {
            coach.pin_reference(None).expect("unpin");
        }
        for e in coach.push(x) {
            match e {
                LiveEvent::Coaching(c) => said.push((c.lap.unwrap_or(0), c.feedback)),
                LiveEvent::Cue(c) => cues.push((c.lap, c.text)),
            }
        }
    }
    let text = |lap: u32| said.iter().find(|(l, _)| *l == lap).map(|(_, t)| t.clone()).unwrap_or_default();
    assert!(text(1).contains("Reference lap set"), "{}", text(1));
    assert!(!text(2).contains("T2"), "lap 2 is the driver's own pace: {}", text(2));
    for lap in [3, 4, 5] {
        let t = text(lap);
        assert!(t.contains("to lap 1 of sam") && t.contains("T2: minimum speed 8 km/h lower"), "lap {lap}: {t}");
    }
    // Cued before T2 on the laps after a judged lap, against the pinned lap.
    assert!(cues.iter().any(|(l, t)| *l == 4 && t.starts_with("T2")), "{cues:?}");
    // Unpinned: the driver's own best lap again, where T2 costs nothing.
    let t = text(6);
    assert!(t.contains("to your best lap") && !t.contains("T2:"), "{t}");
    // Another track's lap is refused and changes nothing.
    let other = SynthTrack::long();
    let o = stream(&[other.lap(&[])], 60.0, 1, 1.0, 1.0, 0.0);
    let ost = Stream::new(o.samples, &AnalysisOptions::default()).expect("stream");
    let wrong = ost.reference(None, 1.0, "elsewhere").expect("reference");
    assert!(coach.pin_reference(Some(wrong.clone())).is_err());
    assert_eq!(coach.reference().map(|r| r.name.as_str()), Some("your best lap"));
    // Pinned before the track's length is known: dropped at the end of the first lap.
    let mut coach = LiveCoach::new(LiveConfig::default());
    coach.pin_reference(Some(wrong)).expect("nothing to check against yet");
    let s = stream(&[track.lap(&[]), track.lap(&[])], 60.0, 1, 2.0, 2.0, 0.3);
    let said: Vec<String> = s
        .samples
        .iter()
        .flat_map(|x| coach.push(x))
        .filter_map(|e| match e {
            LiveEvent::Coaching(c) => Some(c.feedback),
            LiveEvent::Cue(_) => None,
        })
        .collect();
    assert!(matches!(coach.take_pin_refusal(), Some(pitbox_coach::CoachError::TrackMismatch { .. })));
    assert!(coach.take_pin_refusal().is_none(), "said once");
    assert!(said.iter().all(|t| !t.contains("elsewhere")), "{said:?}");
}

#[test]
fn corner_ids_match_across_sessions_by_distance() {
    use pitbox_coach::corners::CornerMap;
    use pitbox_coach::{AnalysisOptions, Stream};
    let track = SynthTrack::club();
    let map = |hz: f64, faults: &[Fault]| {
        let s = stream(&[track.lap(faults)], hz, 1, 1.0, 1.0, 0.2);
        let st = Stream::new(s.samples, &AnalysisOptions::default()).expect("stream");
        st.reference(None, 1.0, "r").expect("reference").corners
    };
    let a = map(60.0, &[]);
    // Another session, another rate, another driver who is slow in T2: the same corners.
    let b: CornerMap = map(20.0, &[Fault::SlowCorner { corner: 1, kmh: 8.0 }]);
    let renamed = a.match_to(&b, 30.0);
    let ids: Vec<&str> = renamed.corners.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["T1", "T2", "T3", "T4", "T5", "T6"]);
    // A map with a corner the first one does not have keeps it apart.
    let mut extra = b.clone();
    extra.corners[0].apex_m += 200.0;
    assert_eq!(a.match_to(&extra, 30.0).corners[0].id, "T?1");
}

#[test]
fn cue_words_say_how_much_and_an_in_lap_arms_no_cue() {
    let track = SynthTrack::club();
    let clean = track.lap(&[]);
    let slow = track.lap(&[Fault::SlowCorner { corner: 1, kmh: 8.0 }]);
    let late = track.lap(&[Fault::LateThrottle { corner: 3, seconds: 0.4 }]);
    // 1 the reference, 2 slow in T2, 3 clean (cue T2), 4 late throttle out of T4, 5 clean (cue
    // T4), 6 slow in T2 but an in lap (pit road before the line), 7 the out lap: no cue.
    let laps = vec![clean.clone(), slow.clone(), clean.clone(), late, clean.clone(), slow, clean];
    let mut s = stream(&laps, 60.0, 1, 2.0, 2.0, 0.3).samples;
    for x in s.iter_mut().filter(|x| (x.lap == 6 && x.lap_pct > 0.97) || (x.lap == 7 && x.lap_pct < 0.01)) {
        x.on_pit_road = true;
    }
    let mut coach = LiveCoach::new(LiveConfig::default());
    let cues: Vec<_> = s
        .iter()
        .flat_map(|x| coach.push(x))
        .filter_map(|e| match e {
            LiveEvent::Cue(c) => Some(c),
            LiveEvent::Coaching(_) => None,
        })
        .collect();
    let got: Vec<(i32, &str)> = cues.iter().map(|c| (c.lap, c.text.as_str())).collect();
    println!("{got:?}");
    assert_eq!(got.iter().map(|c| c.0).collect::<Vec<_>>(), [3, 5], "{cues:#?}");
    let kmh: f64 = got[0]
        .1
        .strip_prefix("T2: carry ")
        .and_then(|r| r.strip_suffix(" km/h more"))
        .and_then(|n| n.parse().ok())
        .expect(got[0].1);
    assert!((7.0..=9.0).contains(&kmh), "{}", got[0].1);
    let secs: f64 = got[1]
        .1
        .strip_prefix("T4: throttle ")
        .and_then(|r| r.strip_suffix(" seconds earlier"))
        .and_then(|n| n.parse().ok())
        .expect(got[1].1);
    assert!((0.3..=0.5).contains(&secs), "{}", got[1].1);
    // The time to the braking point on the reference lap comes with the distance.
    for c in &cues {
        assert!(c.before_braking_s > 0.0 && c.before_braking_s < c.before_braking_m / 10.0, "{c:?}");
    }
}
