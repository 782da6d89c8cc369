//! The whole binary with tiny counts: every transport runs its two processes, the answers and
//! the stream bytes are checked, and the run leaves no unexpected iceoryx2 file.

use std::process::Command;

#[test]
fn every_transport_runs_between_two_processes() {
    let out = Command::new(env!("CARGO_BIN_EXE_shm-peers"))
        .args(["--warmup", "10", "--trips", "300", "--mib", "2"])
        .output()
        .expect("run shm-peers");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    assert!(!stdout.contains("UNEXPECTED"), "{stdout}");
    for name in shm_peers::transports().iter().map(|t| t.name()) {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{name} "))),
            "no row for {name}:\n{stdout}"
        );
    }
    for row in ["rtt 64 B", "stream 1 KiB", "stream 16 KiB"] {
        assert!(stdout.contains(row), "no {row} row:\n{stdout}");
    }
}
