//! The report's cross-process section: ringpipe's shared-memory pipe between two processes
//! against a socketpair, pipe(2), iceoryx2 and the in-process pipe, measured by `shm-peers`
//! (the workspace crate of that name, a program of its own so that iceoryx2's build stays out
//! of everything else), built here with the cargo that runs the report, and run twice: with the
//! processes placed by the scheduler, and pinned to one CPU each.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The section's Markdown (a `##` heading and its tables, or why it could not be measured).
pub fn section(quick: bool) -> String {
    let mut md = String::from(
        "## Between two processes (shared memory)\n\n`shm-peers` (`shm-peers/README.md`): \
         64-byte round trips and 1 KiB / 16 KiB streams between two processes, every byte \
         checked; ratios are the targets of ringpipe's shared-memory pipe. Where the kernel \
         puts the two processes decides most of it (a blocking wake-up on one CPU costs µs, \
         across CPUs tens of µs): see `shm-peers/README.md` for `--pin same`.\n\n",
    );
    let bin = match build() {
        Ok(bin) => bin,
        Err(why) => return md + &format!("Not measured: {why}\n\n"),
    };
    let sizes: &[&str] = if quick {
        &["--quick"]
    } else {
        &["--trips", "50000", "--mib", "256"]
    };
    for (pin, label) in [("none", "not pinned"), ("split", "`--pin split`")] {
        md += &format!("### {label}\n\n");
        md += &match run(&bin, pin, sizes) {
            Ok(tables) => tables,
            Err(why) => format!("Not measured: {why}\n"),
        };
        md += "\n";
    }
    md
}

/// Builds `shm-peers` (release) with the cargo that runs this program; its executable.
fn build() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--release",
            "-p",
            "shm-peers",
            "--message-format=json",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(format!(
            "`cargo build --release -p shm-peers` failed: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ));
    }
    // The executable of the `shm-peers` binary, from cargo's JSON messages.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains("shm-peers"))
        .find_map(|l| {
            let rest = &l[l.find("\"executable\":\"")? + "\"executable\":\"".len()..];
            Some(PathBuf::from(&rest[..rest.find('"')?]))
        })
        .ok_or_else(|| "cargo built shm-peers but named no executable".to_string())
}

/// Runs `bin` with the processes placed as `pin` says; its Markdown tables.
fn run(bin: &Path, pin: &str, sizes: &[&str]) -> Result<String, String> {
    let md = std::env::temp_dir().join(format!(
        "ringpipe-shm-peers-{}-{pin}.md",
        std::process::id()
    ));
    let out = Command::new(bin)
        .args(["--pin", pin, "--markdown"])
        .arg(&md)
        .args(sizes)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let tables = std::fs::read_to_string(&md);
    let _ = std::fs::remove_file(&md);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("shm-peers failed ({}): {}", out.status, err.trim()));
    }
    tables.map_err(|e| format!("shm-peers wrote no tables: {e}"))
}
