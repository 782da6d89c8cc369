//! What `/proc` says of this process: its open descriptors, its threads (by name: how many,
//! how often they slept) and its peak memory, for the tests that check that nothing is left
//! behind or grows without bound, or that a thread stays asleep.

use std::collections::BTreeSet;
use std::os::fd::RawFd;

/// The descriptors open in this process, but the one that lists them.
pub fn open_fds() -> BTreeSet<RawFd> {
    let listing = format!("/proc/{}/fd", std::process::id());
    let mut fds = BTreeSet::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let entry = entry.unwrap();
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if target.as_os_str() == listing.as_str() {
            continue; // the directory being read
        }
        fds.insert(entry.file_name().to_str().unwrap().parse().unwrap());
    }
    fds
}

/// How many of this process's threads are named `name` (as the kernel keeps it: `comm`, its
/// first 15 bytes); a thread that ends while they are counted is left out.
pub fn threads_named(name: &str) -> usize {
    tasks_named(name).count()
}

/// The `/proc/self/task` directories of the threads named `name` (its first 15 bytes).
fn tasks_named(name: &str) -> impl Iterator<Item = std::path::PathBuf> + '_ {
    let comm = &name.as_bytes()[..name.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(move |task| {
            std::fs::read(task.join("comm"))
                .is_ok_and(|c| c.strip_suffix(b"\n").unwrap_or(&c) == comm)
        })
}

/// How often this process's threads named `name` have gone to sleep and been woken
/// (`voluntary_ctxt_switches`, summed over them; a thread that ends meanwhile is left out).
pub fn sleeps_of(name: &str) -> u64 {
    tasks_named(name)
        .filter_map(|task| {
            let status = std::fs::read_to_string(task.join("status")).ok()?;
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?;
            line.trim().parse::<u64>().ok()
        })
        .sum()
}

/// The most resident memory this process has had (`VmHWM`), in KiB; 0 if unknown.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
