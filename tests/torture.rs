//! Runs scripts/torture.py (odd and broken files through every command; see its docstring) against
//! this build's binary. It needs python3 (>= 3.8, standard library only), as scripts/setup.sh does.

#[test]
fn every_command_survives_the_torture_library() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/torture.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["--bin", env!("CARGO_BIN_EXE_roomtone")])
        .output()
        .expect("python3 runs scripts/torture.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(" 0 failures"), "{stderr}");
}
