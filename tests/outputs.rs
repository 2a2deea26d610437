//! How output files are put in place: temporary names short enough for any legal final name,
//! normal permissions, and stem pairs written both or neither.

mod common;

use std::path::Path;

use roomtone::audio::{finish_pair, read_all, AudioBlock, AudioOutput, OutputFormat};

fn block(frames: usize) -> AudioBlock {
    AudioBlock {
        sample_rate: 8000,
        channels: vec![common::sine(440.0, 8000, frames, 0.3)],
    }
}

fn writer(path: &Path, frames: usize, force: bool) -> AudioOutput {
    let mut w = AudioOutput::create(path, 8000, 1, OutputFormat::Wav16, force).expect("create");
    w.write_block(&block(frames)).expect("write");
    w
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_final_name_of_255_bytes_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The longest name most file systems take: 240 bytes + ".background.wav".
    let name = format!("{}.background.wav", "x".repeat(240));
    assert_eq!(name.len(), 255);
    let target = dir.path().join(&name);
    writer(&target, 800, false).finish().expect("finish");
    assert_eq!(read_all(&target).expect("read").frames(), 800);
    assert_eq!(names(dir.path()), [name]);

    let text = dir.path().join(format!("{}.csv", "y".repeat(251)));
    roomtone::report::write_text_atomic(&text, "a,b\n", false).expect("text");
    assert_eq!(std::fs::read_to_string(&text).expect("read"), "a,b\n");
}

#[cfg(unix)]
#[test]
fn outputs_get_normal_permissions_not_the_temporary_files_private_ones() {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    // What a file made with mode 0644 gets under this process's umask.
    let probe = dir.path().join("probe");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&probe)
        .expect("probe");
    let normal = mode(&probe);
    assert_ne!(
        normal & 0o044,
        0,
        "this test needs a umask that lets others read"
    );

    let wav = dir.path().join("take.speech.wav");
    writer(&wav, 100, false).finish().expect("finish");
    assert_eq!(mode(&wav), normal, "WAV output");
    let (s, b) = (dir.path().join("s.wav"), dir.path().join("b.wav"));
    finish_pair(writer(&s, 100, false), writer(&b, 100, false)).expect("pair");
    assert_eq!((mode(&s), mode(&b)), (normal, normal), "stem pair");
    let text = dir.path().join("labels.csv");
    roomtone::report::write_text_atomic(&text, "x\n", false).expect("text");
    assert_eq!(mode(&text), normal, "text output");
}

#[test]
fn a_stem_pair_is_put_in_place_both_or_neither() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (speech, background) = (
        dir.path().join("t.speech.wav"),
        dir.path().join("t.background.wav"),
    );
    // The second rename fails (a folder has the name): the first file is taken back.
    std::fs::create_dir_all(background.join("x")).expect("mkdir");
    let err = finish_pair(writer(&speech, 100, true), writer(&background, 100, true))
        .expect_err("the background cannot be put in place");
    assert!(err.to_string().contains("t.background.wav"), "{err}");
    assert!(!speech.exists(), "no lone speech stem");
    assert_eq!(
        names(dir.path()),
        ["t.background.wav"],
        "no temporary file left"
    );

    // Without force an existing second file refuses the pair, and the first is not left either.
    std::fs::remove_dir_all(&background).expect("rm");
    std::fs::write(&background, b"keep me").expect("write");
    let err = finish_pair(writer(&speech, 100, false), writer(&background, 100, false))
        .expect_err("exists");
    assert!(err.to_string().contains("t.background.wav"), "{err}");
    assert!(!speech.exists());
    assert_eq!(std::fs::read(&background).expect("read"), b"keep me");

    // Both written when nothing is in the way.
    std::fs::remove_file(&background).expect("rm");
    let (a, b) =
        finish_pair(writer(&speech, 100, false), writer(&background, 200, false)).expect("pair");
    assert_eq!(read_all(&a).expect("read").frames(), 100);
    assert_eq!(read_all(&b).expect("read").frames(), 200);
}
