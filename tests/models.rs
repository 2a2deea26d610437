//! Model manifests against the real files and the real runtime (needs scripts/setup.sh, which
//! `make test` and .ci/run run first).

use roomtone::models::{self, Manifest, ModelError};

#[test]
fn every_manifest_loads_and_its_graphs_match_the_onnx_files() {
    let dir = models::models_dir();
    let names = models::manifest_names(&dir).expect("models folder");
    assert!(
        names.contains(&"yamnet".to_string()) && names.contains(&"dfn3".to_string()),
        "{names:?}"
    );
    for name in names {
        let m = models::verify(&dir, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!m.graphs.is_empty());
    }
}

#[test]
fn the_yamnet_manifest_drives_the_front_end() {
    let m = Manifest::load(&models::models_dir(), "yamnet").expect("manifest");
    let mel = m
        .mel_params()
        .expect("valid front end")
        .expect("yamnet has a mel front end");
    assert_eq!(mel, roomtone::features::MelParams::yamnet());
    let class_map =
        std::fs::read_to_string(m.file_path("yamnet_class_map.csv")).expect("class map");
    assert_eq!(
        class_map.lines().count(),
        1 + 521,
        "header + 521 AudioSet classes"
    );
}

#[test]
fn a_manifest_that_disagrees_with_its_graph_is_refused() {
    let real = models::models_dir();
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(real.join("yamnet.toml")).expect("manifest");
    let wrong = text.replacen("name = \"audio\"", "name = \"waveform\"", 1);
    assert_ne!(text, wrong, "the manifest names the input 'audio'");
    std::fs::write(dir.path().join("yamnet.toml"), wrong).expect("write");
    std::os::unix::fs::symlink(real.join("yamnet"), dir.path().join("yamnet"))
        .expect("link weights");
    match models::verify(dir.path(), "yamnet") {
        Err(ModelError::Mismatch { reason, .. }) => {
            assert!(reason.contains("waveform"), "{reason}")
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn missing_weights_say_how_to_fix_it() {
    let real = models::models_dir();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(real.join("dfn3.toml"), dir.path().join("dfn3.toml")).expect("copy");
    let err = models::verify(dir.path(), "dfn3").expect_err("no weights there");
    assert!(matches!(err, ModelError::MissingFile { .. }), "{err:?}");
    assert!(err.to_string().contains("scripts/setup.sh"), "{err}");
}
