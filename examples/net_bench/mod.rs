//! What the socket and codec benchmarks (`examples/socket_bench.rs`,
//! `examples/framed_bench.rs`) share: the two tokio runtime flavours, the interleaved
//! repetitions, medians and paired ratios, and the machine's state for the report; the named
//! pipe benchmark (`examples/ipc_bench.rs`) uses the repetitions, statistics and machine
//! helpers. Each example includes `benches/common` as `common` (the CPU-time and machine
//! helpers of the other measuring programs); this module uses it from there.

#![allow(dead_code)]

pub mod counted_io;

use crate::common::{cpu_model, kernel_release, machine_times, median, ncpus, others_since};

/// The runtime a measurement runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `new_multi_thread().worker_threads(2)`: tokio places the tasks on its two workers.
    Multi2,
    /// `new_current_thread()`: every task on the one thread.
    Current,
}

impl Flavor {
    pub const ALL: [Flavor; 2] = [Flavor::Multi2, Flavor::Current];

    pub fn name(self) -> &'static str {
        match self {
            Flavor::Multi2 => "multi-thread (2 workers)",
            Flavor::Current => "current_thread",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Flavor::Multi2 => "mt2",
            Flavor::Current => "ct",
        }
    }

    pub fn parse(s: &str) -> Option<Flavor> {
        match s {
            "mt2" | "multi" => Some(Flavor::Multi2),
            "ct" | "current" => Some(Flavor::Current),
            _ => None,
        }
    }

    /// A fresh runtime of this flavour (I/O and time drivers on).
    pub fn runtime(self) -> tokio::runtime::Runtime {
        let mut b = match self {
            Flavor::Multi2 => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
            Flavor::Current => tokio::runtime::Builder::new_current_thread(),
        };
        b.enable_all().build().expect("a tokio runtime")
    }
}

/// Runs `f` and measures how many cores' worth of CPU time other processes (or the host, as
/// steal time) took meanwhile, on average (/proc/stat's busy time minus this process's).
/// /proc/stat counts in ticks of 10 ms: measure spans of a second or more.
pub fn others_during<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let cpu = machine_times();
    let out = f();
    (out, others_since(cpu))
}

/// Runs `reps` repetitions of every implementation `0..n`, interleaved: repetition `r` runs
/// each implementation once, in order for even `r` and in reverse order for odd `r`, so that a
/// slow spell of the shared machine and whatever one run leaves behind for the next hit every
/// implementation alike. Returns the results by implementation, then by repetition.
pub fn interleaved<T>(n: usize, reps: usize, mut run: impl FnMut(usize) -> T) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = (0..n).map(|_| Vec::with_capacity(reps)).collect();
    for r in 0..reps {
        for k in 0..n {
            let i = if r % 2 == 0 { k } else { n - 1 - k };
            out[i].push(run(i));
        }
    }
    out
}

/// Median, smallest and largest of some figures.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub med: f64,
    pub min: f64,
    pub max: f64,
}

pub fn stat(v: &[f64]) -> Stat {
    let mut s = v.to_vec();
    let med = median(&mut s);
    Stat {
        med,
        min: s[0],
        max: s[s.len() - 1],
    }
}

/// `a ÷ b` of the medians, and the range of the paired ratios `a[r] ÷ b[r]` (repetition by
/// repetition: the two ran next to each other).
pub fn ratio(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let paired: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    let p = stat(&paired);
    (stat(a).med / stat(b).med, p.min, p.max)
}

/// "1.23x (1.10–1.31)".
pub fn fmt_ratio((r, lo, hi): (f64, f64, f64)) -> String {
    format!("**{r:.2}x** ({lo:.2}–{hi:.2})")
}

/// The load averages, as `uptime` prints them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The date and time, UTC.
pub fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into())
}

/// The machine and the build, for the report's first lines.
pub fn machine(example: &str, args: &[String], started: &str) -> String {
    let profile = crate::common::build_profile();
    format!(
        "`cargo run --profile {profile} --features tokio --example {example}{}{}`; {started}; \
         {} ({} CPUs), Linux {}; load average at the start {}",
        if args.is_empty() { "" } else { " -- " },
        args.join(" "),
        cpu_model(),
        ncpus(),
        kernel_release(),
        loadavg(),
    )
}

/// The period of the benchmarks' stream pattern (a prime-ish odd length, so that a lost,
/// repeated or moved run of bytes shows up unless it is a multiple of it long).
pub const PATTERN_PERIOD: usize = (1 << 20) - 3;

/// The longest run [`pattern`] hands out in one slice.
pub const PATTERN_SPAN: usize = 256 << 10;

/// The stream pattern's bytes at positions `at .. at + n` (`n <= PATTERN_SPAN`): byte `p` is
/// byte `p % 8` of splitmix64(`(p % PATTERN_PERIOD) / 8`). One table of `PATTERN_PERIOD +
/// PATTERN_SPAN` bytes, built once, so writing and checking the pattern are slices and
/// `memcmp`s.
pub fn pattern(at: u64, n: usize) -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..PATTERN_PERIOD + PATTERN_SPAN)
            .map(|i| {
                let p = i % PATTERN_PERIOD;
                (splitmix64((p >> 3) as u64) >> ((p & 7) * 8)) as u8
            })
            .collect()
    });
    let off = (at % PATTERN_PERIOD as u64) as usize;
    &table[off..off + n]
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
