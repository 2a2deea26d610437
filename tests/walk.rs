//! One walker for every command: link loops end, each file is found once, hidden files are skipped,
//! and roomtone's own output folders are never taken for inputs (issue 11, 4 and 6).

mod common;

use std::path::Path;

use roomtone::audio::{expand_inputs, Walker, OUTPUT_MARKER};

fn clip(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    common::write_wav(path, 16_000, &common::sine(440.0, 16_000, 8_000, 0.2));
}

#[cfg(unix)]
#[test]
fn link_loops_end_and_each_file_is_found_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("lib");
    clip(&root.join("z.wav"));
    clip(&root.join("sub/a.wav"));
    clip(&root.join(".hidden/h.wav"));
    clip(&root.join("sub/.h.wav"));
    // A link to itself, a loop through a parent, and a second name for one folder.
    std::os::unix::fs::symlink(".", root.join("self")).expect("link");
    std::os::unix::fs::symlink("..", root.join("sub/up")).expect("link");
    std::os::unix::fs::symlink("sub", root.join("alias")).expect("link");
    let (files, unreadable) = expand_inputs(&[root.clone(), root.join("sub")]);
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(&root)
                .expect("under root")
                .display()
                .to_string()
        })
        .collect();
    // "alias" sorts before "sub": the folder is found once, under the first name reached.
    assert_eq!(names, ["alias/a.wav", "z.wav"], "{names:?}");
}

#[test]
fn output_folders_are_skipped_below_a_root_but_a_root_is_walked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("lib");
    clip(&root.join("take.wav"));
    clip(&root.join("out/stems/take.speech.wav"));
    std::fs::write(root.join("out").join(OUTPUT_MARKER), "").expect("marker");
    clip(&root.join("other/stems/x.wav"));
    let mut w = Walker::new();
    w.exclude(&root.join("other"));
    assert_eq!(w.walk(&root), [root.join("take.wav")]);
    // Given as a root, a marked folder is walked (the user asked for it).
    let mut w = Walker::new();
    assert_eq!(
        w.walk(&root.join("out")),
        [root.join("out/stems/take.speech.wav")]
    );
}

#[cfg(unix)]
#[test]
fn tag_on_a_folder_with_link_loops_tags_each_file_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("lib");
    clip(&root.join("z.wav"));
    std::os::unix::fs::symlink(".", root.join("self")).expect("link");
    std::os::unix::fs::symlink(".", root.join("self2")).expect("link");
    let out = common::roomtone()
        .args(["tag", "--format", "jsonl"])
        .arg(&root)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("z.wav"), "{stdout}");
}

#[test]
fn batch_with_its_outdir_inside_the_input_tree_does_not_feed_on_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("lib");
    clip(&root.join("a/take.wav"));
    let out = root.join("out");
    let run = |resume: bool| {
        let mut cmd = common::roomtone();
        cmd.args(["batch", "--quiet", "--separate", "--jobs", "1", "--out"])
            .arg(&out)
            .arg(&root);
        if resume {
            cmd.arg("--resume");
        }
        let o = cmd
            .timeout(std::time::Duration::from_secs(300))
            .output()
            .expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(false);
    run(true);
    // A second OUTDIR in the same tree skips the first one's stems too.
    let out2 = root.join("out2");
    let o = common::roomtone()
        .args(["batch", "--quiet", "--jobs", "1", "--out"])
        .arg(&out2)
        .arg(&root)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for labels in [out.join("labels.jsonl"), out2.join("labels.jsonl")] {
        let text = std::fs::read_to_string(&labels).expect("labels");
        assert_eq!(text.lines().count(), 1, "{}: {text}", labels.display());
        assert!(
            text.contains("take.wav") && !text.contains(".speech."),
            "{text}"
        );
    }
    let mut stems = Vec::new();
    let mut stack = vec![out.join("stems")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read").flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                stems.push(e.path());
            }
        }
    }
    assert_eq!(stems.len(), 2, "{stems:?}");
}
