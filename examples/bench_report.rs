//! The comparison report: runs the benchmark workloads for ringpipe and every peer in one
//! process (its own timed loops, no criterion), then writes
//! `target/ringpipe-bench/report.md` (tables of GB/s and ratios, latency percentiles, the
//! shared-memory pipe between two processes (`shm-peers`, which it builds and runs), memory of
//! idle pipes, the machine) and `target/ringpipe-bench/report.svg` (throughput by write
//! size, latency percentiles), and prints the tables.
//!
//! ```sh
//! cargo run --profile lto --example bench_report          # full: about 5 to 8 minutes on 2 cores
//! cargo run --profile lto --example bench_report -- --quick   # under a minute (--release works too)
//! cargo run --release --example bench_report -- --only spin,memory --reps 3
//! ```
//!
//! Workloads are those of `benches/common` (every byte verified, producer on core 0, consumer
//! on core 1). Each throughput figure is the median of `--reps` runs, and the runs of a cell
//! are interleaved across the implementations (rep 1 of each, then rep 2 of each, ...), so
//! that a burst of noise on a shared machine hits all of them alike.

#[path = "../benches/common/mod.rs"]
mod common;

use common::peers;
use common::{
    async_stream, blocking_stream, fmt_ns, human, median, memcpy_gbps, pcts, pingpong_async,
    pingpong_blocking, pingpong_cachelines, pingpong_spin, spin_stream, AsyncMode, Pcts, Run, Spec,
    Trips, CAPS, SIZES, SPIN,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// A counting allocator: bytes currently allocated.

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How this report was made: the build (the target directory's profile, `lto` for the
/// whole-program build) and the arguments.
fn command_line() -> String {
    let profile = common::build_profile();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile = if profile == "release" {
        "--release".to_string()
    } else {
        format!("--profile {profile}")
    };
    let mut cmd = format!("cargo run {profile} --example bench_report");
    if !args.is_empty() {
        cmd.push_str(" -- ");
        cmd.push_str(&args.join(" "));
    }
    cmd
}

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Resident set size in bytes (Linux), 0 elsewhere.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

// ---------------------------------------------------------------------------------------------
// Interference: how much CPU other processes took while we measured (`common::others_since`).

/// A run is retried (at most twice) when other processes kept more than this many cores busy
/// during it: on two cores, one busy stranger halves a spinning pair.
const DISTURBED: f64 = 0.3;

/// The machine itself, checked before and after every run: single-thread memcpy bandwidth and
/// the cross-core round trip of two spinning threads. On a shared VM both drop for tens of
/// seconds at a time (another tenant on the host), and /proc/stat does not show it: every
/// implementation of a cell then runs several times slower.
#[derive(Clone, Copy, Debug)]
struct Health {
    copy_gbps: f64,
    trip_ns: f64,
    /// A short busy-polled stream of 64-byte writes through rtrb, pinned as the benchmarks are:
    /// it falls with the instruction throughput of either core (a neighbour on a sibling
    /// hyperthread), which neither of the other two shows.
    spin_gbps: f64,
}

fn health() -> Health {
    let t = pingpong_cachelines(4000, false);
    let (tx, rx) = peers::rtrb(64 << 10);
    Health {
        copy_gbps: memcpy_gbps(1 << 20, 16, 2),
        trip_ns: t.total.as_nanos() as f64 / t.trips as f64,
        spin_gbps: spin_stream(tx, rx, &Spec::plain(64, 4 << 20)).gbps(),
    }
}

/// The machine's best state, measured at the start (best of several checks).
fn health_baseline() -> Health {
    let mut best = health();
    for _ in 0..6 {
        let h = health();
        best.copy_gbps = best.copy_gbps.max(h.copy_gbps);
        best.trip_ns = best.trip_ns.min(h.trip_ns);
        best.spin_gbps = best.spin_gbps.max(h.spin_gbps);
    }
    best
}

/// Whether `h` is far off the baseline: memcpy or the small stream below 60% of it, or round
/// trips 1.6x as long.
fn unhealthy(base: Health, h: Health) -> bool {
    h.copy_gbps < 0.6 * base.copy_gbps
        || h.trip_ns > 1.6 * base.trip_ns
        || h.spin_gbps < 0.6 * base.spin_gbps
}

/// Runs allowed per figure: the first, and retries while the machine is disturbed.
const ATTEMPTS: usize = 5;

/// Waits (checking four times a second, for at most `HEALTH_WAIT`, and only while the
/// report's waiting budget lasts) until the machine is near its baseline; returns whether it
/// is. When it stays off for the whole wait, the machine has moved to another steady state (on
/// a VM the two vCPUs can land on one physical core or on two, which changes the round trip by
/// half): the baseline becomes the present state, and the run goes ahead.
fn wait_healthy(opts: &Opts) -> bool {
    let start = Instant::now();
    let spend = |waited| {
        opts.wait_budget
            .set(opts.wait_budget.get().saturating_sub(waited))
    };
    loop {
        if !unhealthy(opts.base.get(), health()) {
            spend(start.elapsed());
            return true;
        }
        let waited = start.elapsed();
        if waited > HEALTH_WAIT || waited >= opts.wait_budget.get() {
            spend(waited);
            if waited > HEALTH_WAIT {
                opts.base.set(health_baseline());
                opts.rebaselined.set(opts.rebaselined.get() + 1);
            }
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// The longest wait for the machine to recover before a run.
const HEALTH_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// The most a whole report waits for the machine.
const WAIT_BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// Options

struct Opts {
    quick: bool,
    reps: usize,
    only: Option<Vec<String>>,
    /// The machine's best state, measured at the start (and again when it moved for good).
    base: std::cell::Cell<Health>,
    /// What is left of `WAIT_BUDGET`; how many times the baseline was measured again.
    wait_budget: std::cell::Cell<std::time::Duration>,
    rebaselined: std::cell::Cell<usize>,
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            quick: common::quick(),
            reps: 0,
            only: None,
            base: std::cell::Cell::new(Health {
                copy_gbps: 0.0,
                trip_ns: f64::MAX,
                spin_gbps: 0.0,
            }),
            wait_budget: std::cell::Cell::new(WAIT_BUDGET),
            rebaselined: std::cell::Cell::new(0),
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--verify" => match args.next().as_deref() {
                    Some("checksum") => common::verify_by_checksum(true),
                    Some("pattern") => common::verify_by_checksum(false),
                    other => panic!("--verify checksum|pattern, not {other:?}"),
                },
                "--reps" => o.reps = args.next().and_then(|v| v.parse().ok()).expect("--reps N"),
                "--only" => {
                    o.only = Some(
                        args.next()
                            .expect("--only spin,blocking,async,pingpong,ipc,memory")
                            .split(',')
                            .map(str::to_string)
                            .collect(),
                    )
                }
                "-h" | "--help" => {
                    println!(
                        "usage: bench_report [--quick] [--reps N] [--only spin,blocking,async,pingpong,ipc,memory] [--verify pattern|checksum]"
                    );
                    std::process::exit(0);
                }
                other => panic!("unknown argument {other:?} (try --help)"),
            }
        }
        if o.reps == 0 {
            o.reps = if o.quick { 3 } else { 5 };
        }
        o
    }

    fn wants(&self, part: &str) -> bool {
        self.only
            .as_ref()
            .map_or(true, |v| v.iter().any(|p| p == part))
    }

    /// Bytes per run of a streaming cell.
    fn volume(&self, kind: &str, size: usize) -> u64 {
        let full: u64 = match (kind, size) {
            ("spin", 64) => 256 << 20,
            ("spin", 1024) => 1 << 30,
            ("spin", _) => 4 << 30,
            (_, 64) => 64 << 20,
            (_, 1024) => 512 << 20,
            _ => 2 << 30,
        };
        if self.quick {
            full / 16
        } else {
            full
        }
    }

    fn trips(&self) -> usize {
        if self.quick {
            20_000
        } else {
            100_000
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming tables

type Runner = Box<dyn Fn(&Spec, usize) -> Run>;

struct Table {
    key: String,
    title: String,
    note: String,
    impls: Vec<&'static str>,
    /// (cap, size, GB/s per impl)
    rows: Vec<(usize, usize, Vec<f64>)>,
    /// Cores kept busy by other processes, averaged over the accepted runs; retried runs.
    others: f64,
    retries: usize,
    /// Runs redone because the machine itself was slow (see `Health`), and runs kept although
    /// it still was after every attempt.
    host_retries: usize,
    host_kept: usize,
}

fn spin_impls() -> Vec<(&'static str, Runner)> {
    vec![
        (
            "ringpipe",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::ringpipe(cap, 0);
                spin_stream(t, r, s)
            }),
        ),
        (
            "ringpipe-asymmetric",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::ringpipe_spinning(cap);
                spin_stream(t, r, s)
            }),
        ),
        (
            "ringpipe-symmetric",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::ringpipe_symmetric(cap);
                spin_stream(t, r, s)
            }),
        ),
        (
            "rtrb",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::rtrb(cap);
                spin_stream(t, r, s)
            }),
        ),
        (
            "ringbuf",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::ringbuf(cap);
                spin_stream(t, r, s)
            }),
        ),
        (
            "bbqueue",
            Box::new(|s: &Spec, cap| peers::with_bbqueue(cap, |t, r| spin_stream(t, r, s))),
        ),
    ]
}

fn blocking_impls() -> Vec<(&'static str, Runner)> {
    vec![
        (
            "ringpipe",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::ringpipe(cap, 0);
                blocking_stream(t, r, s)
            }),
        ),
        (
            "ringpipe+spin",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::ringpipe(cap, SPIN);
                blocking_stream(t, r, s)
            }),
        ),
        (
            "ringpipe-nospin",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::ringpipe_nospin(cap);
                blocking_stream(t, r, s)
            }),
        ),
        (
            "ospipe",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::os_pipe(cap);
                blocking_stream(t, r, s)
            }),
        ),
        (
            "socketpair",
            Box::new(|s: &Spec, cap| {
                let (t, r) = peers::socketpair(cap);
                blocking_stream(t, r, s)
            }),
        ),
    ]
}

fn async_impls(mode: AsyncMode) -> Vec<(&'static str, Runner)> {
    let mut v: Vec<(&'static str, Runner)> = vec![(
        "ringpipe",
        Box::new(move |s: &Spec, cap| {
            let (t, r) = peers::ringpipe(cap, 0);
            async_stream(mode, t, r, s)
        }),
    )];
    if mode != AsyncMode::Single {
        v.push((
            "ringpipe+spin",
            Box::new(move |s: &Spec, cap| {
                let (t, r) = peers::ringpipe(cap, SPIN);
                async_stream(mode, t, r, s)
            }),
        ));
    }
    v.push((
        "ringpipe-nospin",
        Box::new(move |s: &Spec, cap| {
            let (t, r) = peers::ringpipe_nospin(cap);
            async_stream(mode, t, r, s)
        }),
    ));
    v.push((
        "piper",
        Box::new(move |s: &Spec, cap| {
            let (t, r) = peers::piper(cap);
            async_stream(mode, t, r, s)
        }),
    ));
    v.push((
        "async-ringbuf",
        Box::new(move |s: &Spec, cap| {
            let (t, r) = peers::async_ringbuf(cap);
            async_stream(mode, t, r, s)
        }),
    ));
    v.push((
        "duplex",
        Box::new(move |s: &Spec, cap| {
            let (t, r) = peers::duplex(cap);
            async_stream(mode, t, r, s)
        }),
    ));
    v.push((
        "bbqueue",
        Box::new(move |s: &Spec, cap| {
            peers::with_bbqueue_async(cap, |t, r| async_stream(mode, t, r, s))
        }),
    ));
    v
}

fn run_table(
    opts: &Opts,
    key: &str,
    title: &str,
    note: &str,
    kind: &str,
    impls: Vec<(&'static str, Runner)>,
) -> Table {
    let mut rows = Vec::new();
    let (mut others_sum, mut others_n, mut retries) = (0.0, 0usize, 0usize);
    let (mut host_retries, mut host_kept) = (0usize, 0usize);
    for cap in CAPS {
        for size in SIZES {
            let spec = Spec::plain(size, opts.volume(kind, size));
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); impls.len()];
            for _ in 0..opts.reps {
                for (i, (_, run)) in impls.iter().enumerate() {
                    for attempt in 0..ATTEMPTS {
                        let fine_before = wait_healthy(opts);
                        let a = common::machine_times();
                        let g = run(&spec, cap).gbps();
                        let o = common::others_since(a);
                        let sick = !fine_before || unhealthy(opts.base.get(), health());
                        let last = attempt + 1 == ATTEMPTS || opts.wait_budget.get().is_zero();
                        if (o <= DISTURBED && !sick) || last {
                            samples[i].push(g);
                            others_sum += o;
                            others_n += 1;
                            host_kept += usize::from(sick);
                            break;
                        }
                        if sick {
                            host_retries += 1;
                        } else {
                            retries += 1;
                        }
                    }
                }
            }
            let meds: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
            eprintln!(
                "  {key:<12} cap {:>7} write {:>6}: {}",
                human(cap),
                human(size),
                impls
                    .iter()
                    .zip(&meds)
                    .map(|((n, _), g)| format!("{n} {g:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            rows.push((cap, size, meds));
        }
    }
    eprintln!(
        "  {key:<12} others kept {:.2} cores busy on average; {retries} runs redone; \
         {host_retries} redone and {host_kept} kept while the machine was slow",
        others_sum / others_n.max(1) as f64
    );
    Table {
        key: key.to_string(),
        title: title.to_string(),
        note: note.to_string(),
        impls: impls.iter().map(|(n, _)| *n).collect(),
        rows,
        others: others_sum / others_n.max(1) as f64,
        retries,
        host_retries,
        host_kept,
    }
}

fn is_ours(name: &str) -> bool {
    name.starts_with("ringpipe")
}

fn table_md(t: &Table) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### {}\n\n{}\n\nInterference: other processes kept {:.2} cores busy on average during \
         the accepted runs; {} runs were redone because others took more than {DISTURBED} cores. \
         Host check (memcpy, a cross-core round trip and a small stream before and after every \
         run, against the machine's best at the start; a run waits up to {} s for the machine to recover): {} \
         runs redone because the machine itself was slow, {} kept although it still was after \
         {ATTEMPTS} attempts.\n",
        t.title,
        t.note,
        t.others,
        t.retries,
        HEALTH_WAIT.as_secs(),
        t.host_retries,
        t.host_kept
    );
    let peers: Vec<usize> = (0..t.impls.len())
        .filter(|&i| !is_ours(t.impls[i]))
        .collect();
    let ours: Vec<usize> = (0..t.impls.len())
        .filter(|&i| is_ours(t.impls[i]))
        .collect();
    let mut head = String::from("| write | capacity |");
    let mut sep = String::from("|---|---|");
    for &i in &ours {
        let _ = write!(head, " {} GB/s |", t.impls[i]);
        sep += "---:|";
    }
    for &i in &peers {
        let _ = write!(head, " {} GB/s (ringpipe ÷) |", t.impls[i]);
        sep += "---:|";
    }
    head += " best peer | **ringpipe ÷ best** |";
    sep += "---|---:|";
    for &i in &ours[1..] {
        let _ = write!(head, " {} ÷ best |", t.impls[i]);
        sep += "---:|";
    }
    let _ = writeln!(s, "{head}\n{sep}");
    for (cap, size, g) in &t.rows {
        let rp = g[ours[0]];
        let _ = write!(s, "| {} | {} |", human(*size), human(*cap));
        for &i in &ours {
            let _ = write!(s, " {:.2} |", g[i]);
        }
        for &i in &peers {
            let _ = write!(s, " {:.2} ({}x) |", g[i], ratio(rp / g[i]));
        }
        let best = peers
            .iter()
            .copied()
            .max_by(|&a, &b| g[a].partial_cmp(&g[b]).expect("no NaN"))
            .expect("a peer");
        let _ = write!(s, " {} | **{}x** |", t.impls[best], ratio(rp / g[best]));
        for &i in &ours[1..] {
            let _ = write!(s, " {}x |", ratio(g[i] / g[best]));
        }
        s += "\n";
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Latency

struct LatRow {
    group: String,
    name: &'static str,
    p: Pcts,
}

type Pinger = Box<dyn Fn(usize) -> Trips>;

fn pingers() -> Vec<(String, &'static str, Pinger)> {
    const CAP: usize = 64 << 10;
    let mut v: Vec<(String, &'static str, Pinger)> = Vec::new();
    let mut add = |group: &str, name: &'static str, f: Pinger| v.push((group.to_string(), name, f));
    add(
        "spin",
        "floor-2-cache-lines",
        Box::new(|n| pingpong_cachelines(n, true)),
    );
    add(
        "spin",
        "ringpipe",
        Box::new(|n| {
            let ((t1, r1), (t2, r2)) = (peers::ringpipe(CAP, 0), peers::ringpipe(CAP, 0));
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }),
    );
    add(
        "spin",
        "ringpipe-asymmetric",
        Box::new(|n| {
            let ((t1, r1), (t2, r2)) =
                (peers::ringpipe_spinning(CAP), peers::ringpipe_spinning(CAP));
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }),
    );
    add(
        "spin",
        "ringpipe-symmetric",
        Box::new(|n| {
            let ((t1, r1), (t2, r2)) = (
                peers::ringpipe_symmetric(CAP),
                peers::ringpipe_symmetric(CAP),
            );
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }),
    );
    add(
        "spin",
        "rtrb",
        Box::new(|n| {
            let ((t1, r1), (t2, r2)) = (peers::rtrb(CAP), peers::rtrb(CAP));
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }),
    );
    for (name, spin) in [("ringpipe", 0), ("ringpipe+spin", SPIN)] {
        add(
            "blocking",
            name,
            Box::new(move |n| {
                let ((t1, r1), (t2, r2)) = (peers::ringpipe(CAP, spin), peers::ringpipe(CAP, spin));
                pingpong_blocking((t1, r2), (r1, t2), n, true)
            }),
        );
    }
    add(
        "blocking",
        "ringpipe-nospin",
        Box::new(|n| {
            let ((t1, r1), (t2, r2)) = (peers::ringpipe_nospin(CAP), peers::ringpipe_nospin(CAP));
            pingpong_blocking((t1, r2), (r1, t2), n, true)
        }),
    );
    add(
        "blocking",
        "ospipe",
        Box::new(|n| {
            let ((t1, r1), (t2, r2)) = (peers::os_pipe(CAP), peers::os_pipe(CAP));
            pingpong_blocking((t1, r2), (r1, t2), n, true)
        }),
    );
    add(
        "blocking",
        "socketpair",
        Box::new(|n| {
            let ((t1, r1), (t2, r2)) = (peers::socketpair(CAP), peers::socketpair(CAP));
            pingpong_blocking((t1, r2), (r1, t2), n, true)
        }),
    );
    for mode in AsyncMode::ALL {
        let g = format!("async {}", mode.name());
        add(
            &g,
            "ringpipe",
            Box::new(move |n| {
                let ((t1, r1), (t2, r2)) = (peers::ringpipe(CAP, 0), peers::ringpipe(CAP, 0));
                pingpong_async(mode, (t1, r2), (r1, t2), n, true)
            }),
        );
        if mode != AsyncMode::Single {
            add(
                &g,
                "ringpipe+spin",
                Box::new(move |n| {
                    let ((t1, r1), (t2, r2)) =
                        (peers::ringpipe(CAP, SPIN), peers::ringpipe(CAP, SPIN));
                    pingpong_async(mode, (t1, r2), (r1, t2), n, true)
                }),
            );
        }
        add(
            &g,
            "ringpipe-nospin",
            Box::new(move |n| {
                let ((t1, r1), (t2, r2)) =
                    (peers::ringpipe_nospin(CAP), peers::ringpipe_nospin(CAP));
                pingpong_async(mode, (t1, r2), (r1, t2), n, true)
            }),
        );
        add(
            &g,
            "piper",
            Box::new(move |n| {
                let ((t1, r1), (t2, r2)) = (peers::piper(CAP), peers::piper(CAP));
                pingpong_async(mode, (t1, r2), (r1, t2), n, true)
            }),
        );
        add(
            &g,
            "async-ringbuf",
            Box::new(move |n| {
                let ((t1, r1), (t2, r2)) = (peers::async_ringbuf(CAP), peers::async_ringbuf(CAP));
                pingpong_async(mode, (t1, r2), (r1, t2), n, true)
            }),
        );
        add(
            &g,
            "duplex",
            Box::new(move |n| {
                let ((t1, r1), (t2, r2)) = (peers::duplex(CAP), peers::duplex(CAP));
                pingpong_async(mode, (t1, r2), (r1, t2), n, true)
            }),
        );
    }
    v
}

/// Every variant's round trips, in `opts.reps` interleaved rounds (round 1 of each variant,
/// then round 2 of each, ...), pooled.
fn latency(opts: &Opts) -> Vec<LatRow> {
    let ps = pingers();
    let per_round = opts.trips().div_ceil(opts.reps);
    let mut all: Vec<Vec<u64>> = vec![Vec::new(); ps.len()];
    for _ in 0..opts.reps {
        for (i, (_, _, f)) in ps.iter().enumerate() {
            all[i].extend(f(per_round).latencies_ns);
        }
    }
    ps.iter()
        .zip(all.iter_mut())
        .map(|((group, name, _), lat)| {
            let p = pcts(lat);
            eprintln!(
                "  {group:<10} {name:<20} p50 {:>9}  p99 {:>9}  p99.9 {:>9}",
                fmt_ns(p.p50 as f64),
                fmt_ns(p.p99 as f64),
                fmt_ns(p.p999 as f64)
            );
            LatRow {
                group: group.clone(),
                name,
                p,
            }
        })
        .collect()
}

/// A ratio with two significant digits at least ("0.62", "0.0048").
fn ratio(r: f64) -> String {
    if r >= 0.1 || r == 0.0 {
        format!("{r:.2}")
    } else {
        let digits = (-r.log10()).ceil() as usize + 1;
        format!("{r:.digits$}")
    }
}

fn latency_md(rows: &[LatRow], trips: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Ping-pong latency (64-byte round trip, {trips} trips per row in interleaved rounds, every trip timed)\n\n\
         A writes 64 bytes into pipe 1; B reads them and writes them back into pipe 2; A reads \
         them. Every byte verified on both sides. The ratio columns are ringpipe ÷ this row, so \
         **below 1.00 means ringpipe is faster** (the group's plain `ringpipe` row is the \
         reference, with default options: adaptive spinning up to 20 µs, adaptive fences \
         (`WakeFences::Auto`); `ringpipe+spin` uses `spin_before_park({SPIN})`; \
         `ringpipe-nospin` parks at once (`SpinWait::Never`); in the spin group \
         `ringpipe-asymmetric` and `ringpipe-symmetric` fix the fences).\n"
    );
    let _ = writeln!(
        s,
        "| mode | implementation | p50 | p99 | p99.9 | ringpipe p50 ÷ | ringpipe p99 ÷ | ringpipe+spin p50 ÷ |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let find = |name: &str| rows.iter().find(|x| x.group == r.group && x.name == name);
        let rp = find("ringpipe").expect("ringpipe row");
        let spin = find("ringpipe+spin")
            .map(|x| ratio(x.p.p50 as f64 / r.p.p50 as f64))
            .unwrap_or_else(|| "–".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.group,
            r.name,
            fmt_ns(r.p.p50 as f64),
            fmt_ns(r.p.p99 as f64),
            fmt_ns(r.p.p999 as f64),
            ratio(rp.p.p50 as f64 / r.p.p50 as f64),
            ratio(rp.p.p99 as f64 / r.p.p99 as f64),
            spin
        );
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Memory of idle pipes

const IDLE: usize = 10_000;

struct Mem {
    rows: Vec<(String, f64, f64)>,
    notes: Vec<String>,
}

fn memory() -> Mem {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let cap = 1 << 20;
    let little = common::src(0, 100);

    // ringpipe: 10,000 pipes of 1 MiB sharing one pool.
    let pool = ringpipe::ChunkPool::new(ringpipe::DEFAULT_CHUNK_SIZE, 64).expect("pool");
    let opts = ringpipe::PipeOptions::builder()
        .capacity(cap)
        .pool(pool.clone())
        .build()
        .expect("options");
    let (a0, r0) = (allocated(), rss());
    let mut pipes: Vec<_> = (0..IDLE).map(|_| ringpipe::pipe(opts.clone())).collect();
    let (a1, r1) = (allocated(), rss());
    rows.push((
        format!(
            "ringpipe, 1 MiB capacity, fresh (never written; {} chunk slots)",
            opts.slots()
        ),
        (a1 - a0) as f64 / IDLE as f64,
        (r1.saturating_sub(r0)) as f64 / IDLE as f64,
    ));
    for (w, r) in pipes.iter_mut() {
        w.write_all_blocking(little).expect("write");
        let end = r.try_read().expect("read").expect("data").buffer().end();
        r.advance_to(end, end).expect("advance");
    }
    let (a2, r2) = (allocated(), rss());
    let pool_idle = (pool.retained() * pool.chunk_size()) as isize;
    rows.push((
        "ringpipe, 1 MiB capacity, after 100 bytes written and consumed".to_string(),
        (a2 - a0 - pool_idle) as f64 / IDLE as f64,
        (r2.saturating_sub(r0)) as f64 / IDLE as f64,
    ));
    notes.push(format!(
        "ringpipe: one `ChunkPool` of {} chunks shared by the {IDLE} pipes; after the traffic the \
         pool lends {} chunks (one per pipe: the writer keeps its current chunk) and keeps {} idle \
         ones ({} bytes, not counted per pipe).",
        human(pool.chunk_size()),
        pool.in_use(),
        pool.retained(),
        pool_idle
    ));
    drop(pipes);

    // How the header grows with the capacity (one chunk slot per chunk of capacity).
    for c in [64usize << 10, 16 << 20] {
        let o = ringpipe::PipeOptions::builder()
            .capacity(c)
            .pool(pool.clone())
            .build()
            .expect("options");
        let a0 = allocated();
        let pipes: Vec<_> = (0..IDLE).map(|_| ringpipe::pipe(o.clone())).collect();
        let a1 = allocated();
        rows.push((
            format!(
                "ringpipe, {} capacity, fresh ({} chunk slots)",
                human(c),
                o.slots()
            ),
            (a1 - a0) as f64 / IDLE as f64,
            f64::NAN,
        ));
        drop(pipes);
    }

    // rtrb: 10,000 rings of 1 MiB.
    let (a0, r0) = (allocated(), rss());
    let mut rings: Vec<_> = (0..IDLE)
        .map(|_| rtrb::RingBuffer::<u8>::new(cap))
        .collect();
    for (p, c) in rings.iter_mut() {
        p.write_chunk_uninit(little.len())
            .expect("room")
            .fill_from_iter(little.iter().copied());
        let n = c.slots();
        c.read_chunk(n).expect("data").commit_all();
    }
    let (a1, r1) = (allocated(), rss());
    rows.push((
        "rtrb `RingBuffer<u8>`, 1 MiB, after 100 bytes written and consumed".to_string(),
        (a1 - a0) as f64 / IDLE as f64,
        (r1.saturating_sub(r0)) as f64 / IDLE as f64,
    ));
    notes.push(
        "rtrb allocates its whole buffer up front; the allocator maps it lazily, so its resident \
         memory stays small until the ring has been filled once, but the allocation (and the \
         address space) is the full capacity."
            .to_string(),
    );
    drop(rings);
    Mem { rows, notes }
}

fn memory_md(m: &Mem) -> String {
    let mut s = format!(
        "### Memory of {IDLE} idle pipes\n\nMeasured with a counting global allocator (bytes \
         currently allocated) and the process's resident set (/proc/self/statm), before and after \
         creating the pipes, divided by {IDLE}.\n\n| what | allocated per pipe | resident per pipe |\n|---|---:|---:|\n"
    );
    for (what, a, r) in &m.rows {
        let r = if r.is_nan() {
            "–".to_string()
        } else {
            bytes_h(*r)
        };
        let _ = writeln!(s, "| {what} | {} | {r} |", bytes_h(*a));
    }
    s += "\n";
    for n in &m.notes {
        let _ = writeln!(s, "- {n}");
    }
    s
}

fn bytes_h(b: f64) -> String {
    if b.abs() >= (1 << 20) as f64 {
        format!("{:.2} MiB", b / (1 << 20) as f64)
    } else if b.abs() >= 10240.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

// ---------------------------------------------------------------------------------------------
// Machine

fn machine() -> String {
    let cpu = common::cpu_model();
    let cmd = |c: &str, args: &[&str]| {
        std::process::Command::new(c)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let dir = env!("CARGO_MANIFEST_DIR");
    let rev = cmd("git", &["-C", dir, "rev-parse", "--short", "HEAD"]);
    let dirty = cmd("git", &["-C", dir, "status", "--porcelain", "--", "src"]);
    let dirty = if dirty.is_empty() || dirty == "unknown" {
        String::new()
    } else {
        format!(
            " plus uncommitted changes to {}",
            dirty
                .lines()
                .filter_map(|l| l.split_whitespace().last())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "- CPU: {cpu}, {} CPUs available (`nproc`)\n- kernel: {kernel}\n- {}\n- ringpipe source: \
         commit {rev}{dirty}\n- date: {}\n",
        common::ncpus(),
        cmd("rustc", &["--version"]),
        cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    )
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------------------------
// SVG

const COLORS: [(&str, &str); 11] = [
    ("ringpipe", "#d62728"),
    ("ringpipe+spin", "#ff9896"),
    ("ringpipe-nospin", "#8c564b"),
    ("ringpipe-symmetric", "#ff7f0e"),
    ("rtrb", "#1f77b4"),
    ("ringbuf", "#2ca02c"),
    ("bbqueue", "#9467bd"),
    ("ospipe", "#8c564b"),
    ("socketpair", "#7f7f7f"),
    ("piper", "#17becf"),
    ("async-ringbuf", "#bcbd22"),
];

fn color(name: &str) -> &'static str {
    COLORS.iter().find(|(n, _)| *n == name).map_or(
        if name == "duplex" {
            "#e377c2"
        } else {
            "#000000"
        },
        |c| c.1,
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Grouped bars of GB/s (log scale) by write size, one panel per table and capacity; then
/// p50/p99 latency bars (log scale).
fn svg(tables: &[Table], lat: &[LatRow], memcpy: Option<f64>) -> String {
    let (pw, ph) = (470.0, 230.0); // panel size
    let (ml, mt) = (60.0, 40.0); // margins inside a panel
    let cols = 2.0;
    let rows = tables.len() as f64;
    let lat_h = if lat.is_empty() {
        0.0
    } else {
        80.0 + 16.0 * lat.len() as f64
    };
    let width = 40.0 + cols * (pw + 20.0);
    let height = 60.0 + rows * (ph + 20.0) + lat_h + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="20" y="28" font-size="16" font-weight="bold">ringpipe vs peers: throughput by write size (GB/s, log scale; every byte verified)</text>"#
    );
    let (lo, hi) = (0.01f64, 100.0f64);
    let ylog = |v: f64, top: f64, h: f64| {
        let v = v.clamp(lo, hi);
        top + h - (v.log10() - lo.log10()) / (hi.log10() - lo.log10()) * h
    };
    for (ti, t) in tables.iter().enumerate() {
        for (ci, cap) in CAPS.iter().enumerate() {
            let x0 = 20.0 + ci as f64 * (pw + 20.0);
            let y0 = 50.0 + ti as f64 * (ph + 20.0);
            let (px, py, w, h) = (x0 + ml, y0 + mt, pw - ml - 10.0, ph - mt - 30.0);
            let _ = writeln!(
                s,
                r##"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>"##
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" font-size="12" font-weight="bold">{} — capacity {}</text>"#,
                x0 + 8.0,
                y0 + 16.0,
                esc(&t.title),
                human(*cap)
            );
            // Grid.
            let mut v = lo;
            while v <= hi * 1.001 {
                let y = ylog(v, py, h);
                let _ = writeln!(
                    s,
                    r##"<line x1="{px}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
                    px + w,
                    px - 4.0,
                    y + 4.0,
                    if v < 1.0 {
                        format!("{v}")
                    } else {
                        format!("{v:.0}")
                    }
                );
                v *= 10.0;
            }
            if let (Some(m), true) = (memcpy, t.key == "spin") {
                let y = ylog(m, py, h);
                let _ = writeln!(
                    s,
                    r##"<line x1="{px}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#000" stroke-dasharray="4 3"/><text x="{}" y="{:.1}" text-anchor="end" fill="#000">memcpy 1 MiB (1 thread) {m:.1}</text>"##,
                    px + w,
                    px + w - 2.0,
                    y + 12.0
                );
            }
            let n = t.impls.len() as f64;
            let gw = w / SIZES.len() as f64;
            let bw = (gw * 0.8) / n;
            for (si, size) in SIZES.iter().enumerate() {
                let gx = px + si as f64 * gw + gw * 0.1;
                if let Some((_, _, g)) = t.rows.iter().find(|(c, sz, _)| c == cap && sz == size) {
                    for (ii, name) in t.impls.iter().enumerate() {
                        let y = ylog(g[ii], py, h);
                        let _ = writeln!(
                            s,
                            r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {} write, {} cap: {:.2} GB/s</title></rect>"#,
                            gx + ii as f64 * bw,
                            bw - 1.0,
                            py + h - y,
                            color(name),
                            name,
                            human(*size),
                            human(*cap),
                            g[ii]
                        );
                    }
                }
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} writes</text>"#,
                    gx + gw * 0.4,
                    py + h + 14.0,
                    human(*size)
                );
            }
            // Legend.
            let mut lx = x0 + 8.0;
            for name in &t.impls {
                let _ = writeln!(
                    s,
                    r#"<rect x="{lx}" y="{}" width="9" height="9" fill="{}"/><text x="{}" y="{}">{}</text>"#,
                    y0 + ph - 14.0,
                    color(name),
                    lx + 12.0,
                    y0 + ph - 6.0,
                    name
                );
                lx += 14.0 + 6.5 * name.len() as f64 + 8.0;
            }
        }
    }
    if !lat.is_empty() {
        let y0 = 50.0 + rows * (ph + 20.0);
        let (px, w) = (250.0, width - 300.0);
        let (llo, lhi) = (50.0f64, 1e6f64);
        let xlog = |v: f64| {
            px + (v.clamp(llo, lhi).log10() - llo.log10()) / (lhi.log10() - llo.log10()) * w
        };
        let _ = writeln!(
            s,
            r#"<text x="20" y="{}" font-size="14" font-weight="bold">64-byte ping-pong round trip: p50 (dark) and p99 (light), log scale</text>"#,
            y0 + 10.0
        );
        let top = y0 + 40.0;
        let bottom = top + 16.0 * lat.len() as f64;
        for v in [100.0, 1e3, 1e4, 1e5, 1e6] {
            let x = xlog(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{bottom}" stroke="#eee"/><text x="{x:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
                top - 4.0,
                top - 8.0,
                fmt_ns(v)
            );
        }
        for (i, r) in lat.iter().enumerate() {
            let y = top + 16.0 * i as f64;
            let c = color(r.name);
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" text-anchor="end">{} · {}</text><rect x="{px}" y="{}" width="{:.1}" height="12" fill="{c}" opacity="0.35"><title>p99 {}</title></rect><rect x="{px}" y="{}" width="{:.1}" height="12" fill="{c}"><title>p50 {}</title></rect><text x="{:.1}" y="{}" fill="#333">{} / {}</text>"##,
                px - 6.0,
                y + 10.0,
                esc(&r.group),
                r.name,
                y,
                xlog(r.p.p99 as f64) - px,
                fmt_ns(r.p.p99 as f64),
                y,
                xlog(r.p.p50 as f64) - px,
                fmt_ns(r.p.p50 as f64),
                xlog(r.p.p99 as f64) + 4.0,
                y + 10.0,
                fmt_ns(r.p.p50 as f64),
                fmt_ns(r.p.p99 as f64)
            );
        }
    }
    s += "</svg>\n";
    s
}

// ---------------------------------------------------------------------------------------------

fn main() {
    common::keep_freed_memory();
    let opts = Opts::parse();
    opts.base.set(health_baseline());
    let base0 = opts.base.get();
    eprintln!(
        "machine check: memcpy {:.1} GB/s, cross-core round trip {:.0} ns, rtrb 64 B stream \
         {:.2} GB/s (runs are redone while the machine is far off these)",
        base0.copy_gbps, base0.trip_ns, base0.spin_gbps
    );
    let started = Instant::now();
    let load_start = loadavg();
    eprintln!(
        "bench_report: {} mode, median of {} runs per cell, load average {load_start} ({})",
        if opts.quick { "quick" } else { "full" },
        opts.reps,
        command_line()
    );

    let memcpy = opts.wants("spin").then(|| memcpy_gbps(1 << 20, 2000, 5));
    let mut tables = Vec::new();
    if opts.wants("spin") {
        eprintln!("spin streaming ...");
        tables.push(run_table(
            &opts,
            "spin",
            "Sync streaming, spin-waiting",
            "Two pinned threads busy-polling: ringpipe `try_get_memory`/`advance`/`commit` and \
             `try_read`/`advance_to` with default options (`ringpipe`; its adaptive fences stay \
             asymmetric since nobody parks), with `WakeFences::Asymmetric` and with \
             `WakeFences::Symmetric`; rtrb `write_chunk_uninit`/`read_chunk`; ringbuf \
             `push_slice`/`pop_slice` (its reader copies out); bbqueue `grant_exact`/`read`.",
            "spin",
            spin_impls(),
        ));
    }
    if opts.wants("blocking") {
        eprintln!("blocking streaming ...");
        tables.push(run_table(
            &opts,
            "blocking",
            "Sync streaming, blocking calls",
            &format!(
                "Two pinned threads: ringpipe `write_all_blocking`/`read_blocking` (default \
                 options: adaptive spinning up to 20 µs, adaptive fences; with \
                 `spin_before_park({SPIN})`; and, as `ringpipe-nospin`, parking at once); OS pipe with F_SETPIPE_SZ = capacity; Unix \
                 socketpair with SO_SNDBUF/SO_RCVBUF = capacity; `write_all`/`read` into a \
                 64 KiB buffer."
            ),
            "blocking",
            blocking_impls(),
        ));
    }
    if opts.wants("async") {
        for mode in AsyncMode::ALL {
            eprintln!("async streaming ({}) ...", mode.name());
            tables.push(run_table(
                &opts,
                &format!("async_{}", mode.name()),
                &format!("Async streaming on tokio, {}", mode.name()),
                &format!(
                    "{}. ringpipe `write_all().await`/`read().await`; piper \
                     `poll_fill_bytes`/`peek_buf`+`consume`; async-ringbuf \
                     `push_exact`/`wait_occupied`+`as_slices`+`skip`; tokio `duplex` \
                     `write_all`/`read` into a 64 KiB buffer; bbqueue (maitake notifier) \
                     `wait_grant_exact`/`wait_read`.",
                    mode.describe()
                ),
                "async",
                async_impls(mode),
            ));
        }
    }
    let mut lat_others = 0.0;
    let lat = if opts.wants("pingpong") {
        eprintln!("ping-pong ...");
        let a = common::machine_times();
        let rows = latency(&opts);
        lat_others = common::others_since(a);
        rows
    } else {
        Vec::new()
    };

    let ipc = opts.wants("ipc").then(|| {
        eprintln!("between two processes (shm-peers) ...");
        common::cross_process::section(opts.quick)
    });

    // Memory last: creating and freeing 10,000 pipes and 10,000 rtrb rings (10 GiB of address
    // space) leaves this VM several times slower for tens of seconds afterwards (the kernel or
    // the host reclaiming the freed memory), which every timing section after it measured.
    let mem = opts.wants("memory").then(|| {
        eprintln!("memory of {IDLE} idle pipes ...");
        memory()
    });

    // The report.
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# ringpipe benchmark report\n\n`{}` — {} mode, \
         every throughput figure the median of {} runs (interleaved across implementations), \
         volumes of {} per run at 64 B / 1 KiB / 16 KiB writes (spin) and {} (blocking, async); \
         took {:.0} s; load average {load_start} at the start, {} at the end.\n\n## Machine\n\n{}",
        command_line(),
        if opts.quick { "quick" } else { "full" },
        opts.reps,
        [64, 1024, 16384]
            .map(|s| human(opts.volume("spin", s) as usize))
            .join(" / "),
        [64, 1024, 16384]
            .map(|s| human(opts.volume("async", s) as usize))
            .join(" / "),
        started.elapsed().as_secs_f64(),
        loadavg(),
        machine()
    );
    if let Some(m) = memcpy {
        let _ = writeln!(
            md,
            "- single-thread memcpy between two 1 MiB buffers: **{m:.1} GB/s** (the bandwidth \
             reference)"
        );
    }
    let _ = writeln!(
        md,
        "- machine check at the start (best of 7): memcpy {:.1} GB/s, two-cache-line cross-core \
         round trip {:.0} ns, a 4 MiB busy-polled rtrb stream of 64-byte writes {:.2} GB/s; a \
         run is redone when either is far off before or after it (the \
         machine moved to a new steady state {} times during the report, and the check \
         followed it; {:.0} s of waiting for it to recover)\n",
        base0.copy_gbps,
        base0.trip_ns,
        base0.spin_gbps,
        opts.rebaselined.get(),
        (WAIT_BUDGET - opts.wait_budget.get()).as_secs_f64()
    );
    let _ = writeln!(
        md,
        "## Throughput (GB/s; ratios are ringpipe ÷ peer, **above 1.00 means ringpipe is faster**)\n\n\
         Every byte is verified by position on the consumer side; producer on core 0, consumer on \
         core 1. ringpipe runs with `capacity = pause_writer_threshold = ` the cell's capacity and \
         16 KiB chunks from the global pool.\n"
    );
    for t in &tables {
        md += &table_md(t);
        if t.key == "spin" {
            if let (Some(m), Some((_, _, g))) = (
                memcpy,
                t.rows
                    .iter()
                    .find(|(c, s, _)| *c == 1 << 20 && *s == 16 << 10),
            ) {
                let _ = writeln!(
                    md,
                    "\nringpipe at 16 KiB writes into 1 MiB: {:.2} GB/s = {:.0}% of single-thread \
                     memcpy ({m:.1} GB/s).",
                    g[0],
                    100.0 * g[0] / m
                );
            }
        }
        md += "\n";
    }
    if !lat.is_empty() {
        md += "## Latency\n\n";
        md += &latency_md(&lat, opts.trips());
        let _ = writeln!(
            md,
            "\nInterference: other processes kept {lat_others:.2} cores busy on average during \
             the ping-pong runs."
        );
        md += "\n";
    }
    if let Some(section) = &ipc {
        md += section;
    }
    if let Some(m) = &mem {
        md += "## Memory\n\n";
        md += &memory_md(m);
    }
    let dir = common::out_dir();
    let md_path = dir.join("report.md");
    std::fs::write(&md_path, &md).expect("write report.md");
    let svg_path = dir.join("report.svg");
    if !tables.is_empty() || !lat.is_empty() {
        std::fs::write(&svg_path, svg(&tables, &lat, memcpy)).expect("write report.svg");
    }
    println!("{md}");
    eprintln!(
        "wrote {} and {} in {:.0} s",
        md_path.display(),
        svg_path.display(),
        started.elapsed().as_secs_f64()
    );
}
