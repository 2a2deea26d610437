//! Every marker export read back by a real reader: OpenTimelineIO and its CMX 3600, FCP 7 XML and
//! FCPXML adapters (`tests/markers/read_markers.py`, installed by `scripts/setup_pytools.sh otio` into
//! `target/otio-py/`). The same markers, names and times (within one frame) must come back from
//! each format, at 25 fps, 29.97 and 59.94 drop frame with start timecodes that cross the drop,
//! and 23.976.
//!
//! `ROOMTONE_MARKERS_OUT=DIR` keeps the exports in DIR.
//!
//! Without `target/otio-py/` the test fails and says to run `scripts/setup_pytools.sh otio`, unless
//! `ROOMTONE_SKIP_OTIO=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use roomtone::report::markers::{
    marker_colour, render, FrameRate, Marker, MarkerClip, MarkerFormat, MarkerKind, Timecode,
};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder with OpenTimelineIO, or `None` when the test is to be skipped.
fn otio_path() -> Option<PathBuf> {
    let dir = root().join("target/otio-py");
    if dir.join("opentimelineio").is_dir() {
        return Some(dir);
    }
    if std::env::var("ROOMTONE_SKIP_OTIO").as_deref() == Ok("1") {
        eprintln!("markers_otio: skipped (ROOMTONE_SKIP_OTIO=1, no target/otio-py)");
        return None;
    }
    panic!(
        "{} is missing: run scripts/setup_pytools.sh otio (or set ROOMTONE_SKIP_OTIO=1 to skip)",
        dir.display()
    );
}

fn marker(label: &str, start_s: f64, end_s: f64, score: f32) -> Marker {
    Marker {
        kind: if label == "dialogue" {
            MarkerKind::Dialogue
        } else {
            MarkerKind::Ambience
        },
        label: label.to_string(),
        start_s,
        end_s,
        score,
    }
}

fn clip(rate: &str, start: &str, duration_s: f64, markers: Vec<Marker>) -> MarkerClip {
    let rate = FrameRate::parse(rate).unwrap();
    MarkerClip {
        name: "take 1 & 2.mov".to_string(),
        media_path: "/media/roomtone tests/take 1 & 2.mov".to_string(),
        duration_s,
        rate,
        rate_source: "--fps".to_string(),
        start_tc: Timecode::parse(start, rate).unwrap(),
        markers,
    }
}

fn cases() -> Vec<(&'static str, MarkerClip)> {
    vec![
        (
            "25fps",
            clip(
                "25",
                "00:00:00:00",
                60.0,
                vec![
                    marker("rain", 0.0, 12.3, 0.87),
                    marker("dialogue", 2.5, 7.25, 0.93),
                    marker("traffic", 12.3, 40.0, 0.61),
                    marker("other", 40.0, 60.0, 0.4),
                    marker("crowd", 55.0, 70.0, 0.55), // cut at the clip's end
                    marker("wind", 61.0, 62.0, 0.5),   // after the end: left out
                ],
            ),
        ),
        (
            "2997df",
            clip(
                "29.97",
                "00:59:59;28",
                700.0,
                vec![
                    marker("rain", 0.0, 30.0, 0.8),
                    marker("dialogue", 0.0, 4.0, 0.9), // same frame as rain
                    marker("dialogue", 59.9, 61.0, 0.7),
                    marker("wind", 60.06, 300.0, 0.66), // from 01:01:00;02, just after a drop
                    marker("hvac", 539.5, 650.0, 0.72), // spans 01:10:00;00 (a tenth minute: no drop)
                    marker("water", 690.0, 700.0, 0.5),
                ],
            ),
        ),
        (
            "23976",
            clip(
                "23.976",
                "01:00:00:00",
                30.0,
                vec![
                    marker("music", 1.0, 9.5, 0.77),
                    marker("dialogue", 3.3, 4.4, 0.8),
                    marker("nature", 9.5, 30.0, 0.52),
                ],
            ),
        ),
        (
            "5994df",
            clip(
                "59.94df",
                "10:00:59;50",
                20.0,
                vec![
                    marker("silence-like", 0.0, 0.5, 0.3),
                    marker("crowd", 0.2, 19.99, 0.6),
                ],
            ),
        ),
    ]
}

/// What a reader must find: name, absolute start frame, length in frames, colour, comment.
struct Expected {
    name: String,
    start: i64,
    frames: i64,
    label_for_colour: String,
    comment: String,
}

fn expected(c: &MarkerClip) -> Vec<Expected> {
    let fps = c.rate.fps();
    let total = (c.duration_s * fps).round() as i64;
    let mut out: Vec<(Expected, bool)> = c
        .markers
        .iter()
        .filter_map(|m| {
            let s = (m.start_s * fps).round() as i64;
            let e = ((m.end_s * fps).round() as i64).min(total);
            (s < total).then(|| {
                (
                    Expected {
                        name: m.label.clone(),
                        start: c.start_tc.frames as i64 + s,
                        frames: (e - s).max(1),
                        label_for_colour: if m.kind == MarkerKind::Dialogue {
                            "speech".into()
                        } else {
                            m.label.clone()
                        },
                        comment: format!("roomtone: {}, score {:.2}", m.label, m.score),
                    },
                    m.kind == MarkerKind::Dialogue,
                )
            })
        })
        .collect();
    out.sort_by_key(|(e, dialogue)| (e.start, *dialogue));
    out.into_iter().map(|(e, _)| e).collect()
}

fn read_back(otio: &Path, file: &Path, rate: &FrameRate) -> Value {
    let out = Command::new("python3")
        .arg(root().join("tests/markers/read_markers.py"))
        .arg(file)
        .arg("--rate")
        .arg(format!("{}/{}", rate.num, rate.den))
        .env("PYTHONPATH", otio)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "read_markers.py {} failed:\n{}\n--- file ---\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).expect("reader prints JSON")
}

/// Checks `found` (the reader's marker list) against `want`; `colour` gives the colour a format
/// carries for a label (`None`: the format has none), `comments` whether it carries the note.
fn check(
    what: &str,
    found: &Value,
    want: &[Expected],
    colour: Option<&dyn Fn(&str) -> String>,
    comments: bool,
    durations: bool,
) {
    let found = found
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no markers list"));
    let names: Vec<&str> = found
        .iter()
        .map(|m| m["name"].as_str().unwrap_or("?"))
        .collect();
    let want_names: Vec<&str> = want.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, want_names, "{what}: marker names");
    for (m, e) in found.iter().zip(want) {
        let start = m["start_frame"].as_i64().unwrap();
        assert!(
            (start - e.start).abs() <= 1,
            "{what}: {} starts at frame {start}, expected {} (within one frame)",
            e.name,
            e.start
        );
        if durations {
            let frames = m["duration_frames"].as_i64().unwrap();
            assert!(
                (frames - e.frames).abs() <= 1,
                "{what}: {} lasts {frames} frames, expected {}",
                e.name,
                e.frames
            );
        }
        if let Some(colour) = colour {
            assert_eq!(
                m["colour"].as_str(),
                Some(colour(&e.label_for_colour).as_str()),
                "{what}: colour of {}",
                e.name
            );
        }
        if comments {
            assert_eq!(
                m["comment"].as_str(),
                Some(e.comment.as_str()),
                "{what}: comment"
            );
        }
    }
}

#[test]
fn every_export_reads_back_with_the_same_markers() {
    let Some(otio) = otio_path() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // ROOMTONE_MARKERS_OUT=DIR keeps the exports there, to look at or import into an editor.
    let dir = std::env::var_os("ROOMTONE_MARKERS_OUT")
        .map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    for (case, c) in cases() {
        let want = expected(&c);
        assert!(!want.is_empty());
        let fps = c.rate.fps();
        for format in MarkerFormat::ALL {
            let file = dir.join(format!("{case}.{}", format.extension()));
            std::fs::write(&file, render(format, &c)).unwrap();
            let got = read_back(&otio, &file, &c.rate);
            let what = format!("{case} {format}");
            let rate = got["rate"].as_f64().unwrap();
            assert!(
                (rate - fps).abs() < 1e-6,
                "{what}: rate {rate}, expected {fps}"
            );
            if let Some(start) = got["clip_start_frame"].as_i64() {
                let diff = (start - c.start_tc.frames as i64).abs();
                assert!(
                    diff <= 1,
                    "{what}: clip starts at frame {start}, expected {}",
                    c.start_tc.frames
                );
            }
            let otio_colour = |l: &str| marker_colour(l).otio.to_string();
            match format {
                MarkerFormat::Otio => check(
                    &what,
                    &got["markers"],
                    &want,
                    Some(&otio_colour),
                    true,
                    true,
                ),
                MarkerFormat::Edl => {
                    // Avid/OTIO `* LOC:` lines: start, name, colour; no length, no note.
                    check(
                        &what,
                        &got["markers"],
                        &want,
                        Some(&otio_colour),
                        false,
                        false,
                    );
                    // Resolve's marker events: start, name, colour, length and note.
                    let resolve = |l: &str| marker_colour(l).resolve.to_string();
                    check(
                        &format!("{what} (Resolve events)"),
                        &got["resolve_markers"],
                        &want,
                        Some(&resolve),
                        true,
                        true,
                    );
                }
                // FCPXML markers have no colour, and the adapter does not keep `note`.
                MarkerFormat::Fcpxml => check(&what, &got["markers"], &want, None, false, true),
                MarkerFormat::Xmeml => check(&what, &got["markers"], &want, None, true, true),
                MarkerFormat::CsvMarkers => {
                    let hex = |l: &str| marker_colour(l).hex.to_string();
                    check(&what, &got["markers"], &want, Some(&hex), true, true)
                }
            }
        }
    }
}

#[test]
fn an_empty_marker_list_reads_back_empty() {
    let Some(otio) = otio_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let c = clip("29.97", "01:00:00;00", 10.0, vec![]);
    for format in MarkerFormat::ALL {
        let file = dir.path().join(format!("empty.{}", format.extension()));
        std::fs::write(&file, render(format, &c)).unwrap();
        let got = read_back(&otio, &file, &c.rate);
        assert_eq!(got["markers"], serde_json::json!([]), "{format}");
    }
}

/// Runs ffmpeg (a test prerequisite: scripts/setup_test.sh installs it).
fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg (scripts/setup_test.sh installs it)");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// The clip `roomtone tag` should describe for `file`: its JSON record's segments (silence left
/// out) and dialogue regions, at `rate` from `start`.
fn clip_from_json(file: &Path, rate: &str, start: &str) -> MarkerClip {
    let out = assert_cmd::Command::cargo_bin("roomtone")
        .unwrap()
        .args(["tag", "--format", "jsonl"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut markers: Vec<Marker> = Vec::new();
    for s in t["segments"].as_array().unwrap() {
        if s["label"] != "silence" {
            markers.push(marker(
                s["label"].as_str().unwrap(),
                s["start_s"].as_f64().unwrap(),
                s["end_s"].as_f64().unwrap(),
                s["score"].as_f64().unwrap() as f32,
            ));
        }
    }
    let speech = t["speech_segments"].as_array().unwrap();
    assert!(!speech.is_empty(), "the example has dialogue: {t}");
    for s in speech {
        markers.push(marker(
            "dialogue",
            s["start_s"].as_f64().unwrap(),
            s["end_s"].as_f64().unwrap(),
            s["score"].as_f64().unwrap() as f32,
        ));
    }
    let mut c = clip(rate, start, t["duration_s"].as_f64().unwrap(), markers);
    c.name = file.file_name().unwrap().to_string_lossy().into_owned();
    c
}

#[test]
fn the_cli_puts_a_real_clip_at_its_own_rate_and_timecode() {
    let Some(otio) = otio_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let example = root().join("examples/speech_over_rain.ogg");
    let example = example.to_str().unwrap();
    // A 29.97 drop-frame MOV whose timecode track starts at 00:59:59;28 (the drop at the next
    // minute falls inside it), and a Broadcast WAV recorded at 10:00:00 (bext time reference).
    let mov = dir.path().join("take 1.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=r=30000/1001:d=12:s=160x90",
        "-i",
        example,
        "-timecode",
        "00:59:59;28",
        "-c:v",
        "mpeg4",
        "-c:a",
        "pcm_s16le",
        "-shortest",
        mov.to_str().unwrap(),
    ]);
    let wav = dir.path().join("sound roll.wav");
    ffmpeg(&[
        "-i",
        example,
        "-write_bext",
        "1",
        "-metadata",
        "time_reference=1728000000",
        "-c:a",
        "pcm_s24le",
        wav.to_str().unwrap(),
    ]);
    for (file, rate, start, note) in [
        (&mov, "29.97df", "00:59:59;28", false),
        (&wav, "25", "10:00:00:00", true),
    ] {
        let c = clip_from_json(file, rate, start);
        let want = expected(&c);
        for format in MarkerFormat::ALL {
            let out = dir.path().join(format!("out.{}", format.extension()));
            let run = assert_cmd::Command::cargo_bin("roomtone")
                .unwrap()
                .args(["tag", "--force", "--format", format.name(), "-o"])
                .arg(&out)
                .arg(file)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(run.status.success(), "{stderr}");
            // An audio-only file without a rate says which it used.
            assert_eq!(stderr.contains("markers at 25 fps"), note, "{stderr}");
            let got = read_back(&otio, &out, &c.rate);
            let what = format!("{} {format}", file.display());
            assert!(
                (got["rate"].as_f64().unwrap() - c.rate.fps()).abs() < 1e-6,
                "{what}"
            );
            if let Some(s) = got["clip_start_frame"].as_i64() {
                assert!(
                    (s - c.start_tc.frames as i64).abs() <= 1,
                    "{what}: clip at {s}"
                );
            }
            check(
                &what,
                &got["markers"],
                &want,
                None,
                false,
                format != MarkerFormat::Edl,
            );
        }
    }
}
