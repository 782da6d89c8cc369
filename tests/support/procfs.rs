//! What `/proc` says of this process: its open descriptors, its threads' names and its peak
//! memory, for the tests that check that nothing is left behind or grows without bound.

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

/// The names (`comm`, at most 15 bytes) of this process's threads; a thread that ends while
/// they are listed is left out.
pub fn thread_names() -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let Ok(entry) = entry else { continue };
        if let Ok(name) = std::fs::read_to_string(entry.path().join("comm")) {
            names.push(name.trim_end().to_owned());
        }
    }
    names
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
