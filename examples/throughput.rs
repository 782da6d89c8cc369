//! The demo: ringpipe beside rtrb and tokio's `io::duplex` on the same workload, as ratios.
//!
//! ```sh
//! cargo run --release --example throughput                       # the comparison, ~5-10 s
//! cargo run --release --example throughput -- --size 1K          # the same with 1 KiB writes
//! cargo run --release --example throughput -- --peer rtrb        # one implementation, ~5 s, live GB/s
//! cargo run --release --example throughput -- --mode blocking --size 1024
//! cargo run --release --example throughput -- --peer ospipe --bytes 4G
//! ```
//!
//! Without `--peer` or `--mode` it streams the same bytes through four implementations, each in
//! the mode it runs best in, three interleaved runs each (the median counts):
//!
//! * busy-polled (two threads spinning on non-blocking calls): ringpipe, configured as a
//!   busy-polling user would (`WakeFences::Asymmetric`), and rtrb;
//! * async (a tokio `current_thread` runtime on each core, one task each): ringpipe with default
//!   options (adaptive spin before park), and `tokio::io::duplex`;
//!
//! and prints GB/s, latency under load and a 64-byte ping-pong round trip for each, with the
//! ratio ringpipe ÷ peer in the same mode. It needs two idle cores: it reports how much CPU
//! other processes (or the host, as steal time) took on the two cores during each run, and
//! checks memcpy bandwidth and a cross-core round trip before and after; when either says the
//! machine was busy, it says so and that the figures do not mean anything.
//!
//! With `--peer` or `--mode` it streams through one implementation for about 5 seconds with a
//! live progress line, then measures the ping-pong.
//!
//! Options:
//! * `--peer ringpipe|rtrb|ringbuf|bbqueue|ospipe|socketpair|piper|async-ringbuf|duplex`
//! * `--mode spin|blocking|async` (ringpipe only; the peers run in the mode they support:
//!   rtrb, ringbuf and bbqueue spin, OS pipe and socketpair block, the async peers run as two
//!   tokio tasks on two cores)
//! * `--size BYTES` per write (default 16K), `--capacity BYTES` (default 1M),
//!   `--bytes BYTES` streamed by each implementation (default: about 1.5 s' worth each in the
//!   comparison, 5 s' worth for one implementation, calibrated by short first runs),
//!   `--spin N` (ringpipe's `spin_before_park` in `--mode blocking|async`; default 0: the
//!   default adaptive spinning), `--trips N` (ping-pong round trips at most, default 100000;
//!   the comparison also stops each implementation's ping-pong after about 0.3 s). Sizes take
//!   K, M, G suffixes (powers of 1024).
//!
//! Every byte is verified against a position-based pattern. The producer runs on core 0 and
//! the consumer on core 1; every 64 KiB (or every write, if larger) the producer puts its
//! clock in the first 8 bytes of a write, and the consumer turns it into a latency.

#[path = "../benches/common/mod.rs"]
mod common;

use common::peers;
use common::{
    async_stream, blocking_stream, cpu_model, cpu_times, fmt_ns, human, kernel_release, median,
    memcpy_gbps, ncpus, others_cores, pcts, pingpong_async, pingpong_blocking, pingpong_cachelines,
    pingpong_spin, spin_stream, AsyncMode, Pcts, Run, Spec, Stamp, Trips, CORE_RX, CORE_TX,
};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Spin,
    Blocking,
    Async,
}

struct Opts {
    /// `None`: the comparison.
    peer: Option<String>,
    mode: Mode,
    size: usize,
    cap: usize,
    bytes: Option<u64>,
    spin: u32,
    trips: usize,
}

/// One implementation in one mode.
#[derive(Clone, Copy)]
struct Imp<'a> {
    peer: &'a str,
    mode: Mode,
}

/// The comparison: (heading, the two implementations compared within it).
const COMPARISON: [(&str, [Imp<'static>; 2]); 2] = [
    (
        "busy-polled: two threads spinning on non-blocking calls",
        [
            Imp {
                peer: "ringpipe",
                mode: Mode::Spin,
            },
            Imp {
                peer: "rtrb",
                mode: Mode::Spin,
            },
        ],
    ),
    (
        "async: one task on a tokio current_thread runtime on each core",
        [
            Imp {
                peer: "ringpipe",
                mode: Mode::Async,
            },
            Imp {
                peer: "duplex",
                mode: Mode::Async,
            },
        ],
    ),
];

/// Runs per implementation in the comparison, interleaved; the median counts.
const ROUNDS: usize = 3;
/// Each comparison run lasts about this long (calibrated), unless `--bytes` says otherwise.
const RUN_SECS: f64 = 0.5;
/// The comparison's ping-pong stops after about this long per implementation.
const PINGPONG_BUDGET: Duration = Duration::from_millis(300);
/// Other processes taking more than this many cores of the two (on average over an
/// implementation's runs) make the figures meaningless: on two cores, one busy stranger halves
/// a spinning pair. The same threshold as `bench_report`'s.
const DISTURBED: f64 = 0.3;

fn parse_size(s: &str) -> u64 {
    common::parse_size(s).unwrap_or_else(|| usage(&format!("bad size {s:?}")))
}

fn usage(err: &str) -> ! {
    eprintln!(
        "error: {err}\nusage: throughput [--peer ringpipe|rtrb|ringbuf|bbqueue|ospipe|socketpair|piper|async-ringbuf|duplex]\n       [--mode spin|blocking|async] [--size 16K] [--capacity 1M] [--bytes 8G] [--spin N] [--trips N]\n       (no --peer and no --mode: ringpipe beside rtrb and tokio's duplex)"
    );
    std::process::exit(2)
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            peer: None,
            mode: Mode::Spin,
            size: 16 << 10,
            cap: 1 << 20,
            bytes: None,
            spin: 0,
            trips: 100_000,
        };
        let mut mode = None;
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = || {
                args.next()
                    .unwrap_or_else(|| usage(&format!("{a} needs a value")))
            };
            match a.as_str() {
                "--peer" => o.peer = Some(val()),
                "--mode" => {
                    mode = Some(match val().as_str() {
                        "spin" => Mode::Spin,
                        "blocking" => Mode::Blocking,
                        "async" => Mode::Async,
                        m => usage(&format!("unknown mode {m:?}")),
                    })
                }
                "--size" => o.size = parse_size(&val()) as usize,
                "--capacity" => o.cap = parse_size(&val()) as usize,
                "--bytes" => o.bytes = Some(parse_size(&val())),
                "--spin" => o.spin = val().parse().unwrap_or_else(|_| usage("--spin N")),
                "--trips" => o.trips = val().parse().unwrap_or_else(|_| usage("--trips N")),
                "-h" | "--help" => usage("help"),
                other => usage(&format!("unknown argument {other:?}")),
            }
        }
        if o.peer.is_none() && mode.is_some() {
            o.peer = Some("ringpipe".into());
        }
        if let Some(peer) = &o.peer {
            let natural = match peer.as_str() {
                "ringpipe" => mode.unwrap_or(Mode::Spin),
                "rtrb" | "ringbuf" | "bbqueue" => Mode::Spin,
                "ospipe" | "socketpair" => Mode::Blocking,
                "piper" | "async-ringbuf" | "duplex" => Mode::Async,
                p => usage(&format!("unknown peer {p:?}")),
            };
            if let Some(m) = mode {
                if m != natural {
                    usage(&format!("{peer} runs in {natural:?} mode only"));
                }
            }
            o.mode = natural;
        }
        if o.size == 0 || o.size > common::MAX_MSG {
            usage(&format!("--size must be 1..={}", common::MAX_MSG));
        }
        if o.size > o.cap {
            usage("--size must not exceed --capacity");
        }
        if o.trips == 0 {
            usage("--trips must be at least 1");
        }
        o
    }

    fn workload(&self) -> String {
        format!("{} writes, {} capacity", human(self.size), human(self.cap))
    }
}

impl Imp<'_> {
    /// "tokio duplex" for "duplex".
    fn name(&self) -> &str {
        match self.peer {
            "duplex" => "tokio duplex",
            "ospipe" => "OS pipe",
            p => p,
        }
    }

    /// "busy-polled ringpipe", "async tokio duplex".
    fn label(&self) -> String {
        format!("{} {}", short_mode(self.mode), self.name())
    }

    /// How it runs: the calls, and ringpipe's options.
    fn how(&self, spin: u32) -> String {
        let opts = if spin > 0 {
            format!("spin_before_park({spin}), asymmetric wake fences")
        } else {
            "default options: adaptive spin before park".to_string()
        };
        let runtimes = "two tokio current_thread runtimes, one per core";
        match (self.peer, self.mode) {
            ("ringpipe", Mode::Spin) => "try_get_memory + advance + commit, try_read + \
                                         advance_to; WakeFences::Asymmetric (nobody parks)"
                .into(),
            ("ringpipe", Mode::Blocking) => {
                format!("write_all_blocking, read_blocking + advance_to; {opts}")
            }
            ("ringpipe", Mode::Async) => {
                format!("write_all().await, read().await + advance_to; {opts}; {runtimes}")
            }
            ("rtrb", _) => "write_chunk_uninit, read_chunk".into(),
            ("ringbuf", _) => "push_slice, pop_slice".into(),
            ("bbqueue", _) => "grant_exact, read".into(),
            ("ospipe" | "socketpair", _) => "blocking write, read".into(),
            ("duplex", _) => format!("write_all().await, read().await into a buffer; {runtimes}"),
            (_, _) => format!("async; {runtimes}"),
        }
    }
}

/// One stream over `imp`.
fn stream(imp: Imp, o: &Opts, spec: &Spec) -> Run {
    let cap = o.cap;
    match (imp.peer, imp.mode) {
        ("ringpipe", Mode::Spin) => {
            // Busy-polling: nobody parks, so no fence on the publish path.
            let (t, r) = peers::ringpipe_spinning(cap);
            spin_stream(t, r, spec)
        }
        ("ringpipe", Mode::Blocking) => {
            let (t, r) = peers::ringpipe(cap, o.spin);
            blocking_stream(t, r, spec)
        }
        ("ringpipe", Mode::Async) => {
            let (t, r) = peers::ringpipe(cap, o.spin);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        ("rtrb", _) => {
            let (t, r) = peers::rtrb(cap);
            spin_stream(t, r, spec)
        }
        ("ringbuf", _) => {
            let (t, r) = peers::ringbuf(cap);
            spin_stream(t, r, spec)
        }
        ("bbqueue", _) => peers::with_bbqueue(cap, |t, r| spin_stream(t, r, spec)),
        ("ospipe", _) => {
            let (t, r) = peers::os_pipe(cap);
            blocking_stream(t, r, spec)
        }
        ("socketpair", _) => {
            let (t, r) = peers::socketpair(cap);
            blocking_stream(t, r, spec)
        }
        ("piper", _) => {
            let (t, r) = peers::piper(cap);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        ("async-ringbuf", _) => {
            let (t, r) = peers::async_ringbuf(cap);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        ("duplex", _) => {
            let (t, r) = peers::duplex(cap);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        (p, m) => unreachable!("{p} in {m:?}"),
    }
}

/// `n` 64-byte round trips over two pipes of `imp`.
fn pingpong(imp: Imp, o: &Opts, n: usize) -> Trips {
    const CAP: usize = 64 << 10;
    let x2 = AsyncMode::Cross;
    match (imp.peer, imp.mode) {
        ("ringpipe", mode) => {
            let make = || {
                if mode == Mode::Spin {
                    peers::ringpipe_spinning(CAP)
                } else {
                    peers::ringpipe(CAP, o.spin)
                }
            };
            let ((t1, r1), (t2, r2)) = (make(), make());
            match mode {
                Mode::Spin => pingpong_spin((t1, r2), (r1, t2), n, true),
                Mode::Blocking => pingpong_blocking((t1, r2), (r1, t2), n, true),
                Mode::Async => pingpong_async(x2, (t1, r2), (r1, t2), n, true),
            }
        }
        ("rtrb", _) => {
            let ((t1, r1), (t2, r2)) = (peers::rtrb(CAP), peers::rtrb(CAP));
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }
        ("ringbuf", _) => {
            let ((t1, r1), (t2, r2)) = (peers::ringbuf(CAP), peers::ringbuf(CAP));
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }
        ("bbqueue", _) => peers::with_bbqueue(CAP, |t1, r1| {
            peers::with_bbqueue(CAP, |t2, r2| pingpong_spin((t1, r2), (r1, t2), n, true))
        }),
        ("ospipe", _) => {
            let ((t1, r1), (t2, r2)) = (peers::os_pipe(CAP), peers::os_pipe(CAP));
            pingpong_blocking((t1, r2), (r1, t2), n, true)
        }
        ("socketpair", _) => {
            let ((t1, r1), (t2, r2)) = (peers::socketpair(CAP), peers::socketpair(CAP));
            pingpong_blocking((t1, r2), (r1, t2), n, true)
        }
        ("piper", _) => {
            let ((t1, r1), (t2, r2)) = (peers::piper(CAP), peers::piper(CAP));
            pingpong_async(x2, (t1, r2), (r1, t2), n, true)
        }
        ("async-ringbuf", _) => {
            let ((t1, r1), (t2, r2)) = (peers::async_ringbuf(CAP), peers::async_ringbuf(CAP));
            pingpong_async(x2, (t1, r2), (r1, t2), n, true)
        }
        ("duplex", _) => {
            let ((t1, r1), (t2, r2)) = (peers::duplex(CAP), peers::duplex(CAP));
            pingpong_async(x2, (t1, r2), (r1, t2), n, true)
        }
        (p, m) => unreachable!("{p} in {m:?}"),
    }
}

/// How many round trips of `imp` fit in `budget` (at most `max`), from a short first run.
fn pingpong_trips(imp: Imp, o: &Opts, budget: Duration, max: usize) -> usize {
    let probe = 200.min(max);
    let t = pingpong(imp, o, probe);
    let per_trip = t.total.as_secs_f64() / probe as f64;
    ((budget.as_secs_f64() / per_trip.max(1e-9)) as usize).clamp(probe, max)
}

/// About `secs` seconds' worth of bytes through `imp`, from short runs of the same workload.
fn calibrate(imp: Imp, o: &Opts, secs: f64) -> u64 {
    let mut total: u64 = 16 << 20;
    loop {
        let total_aligned = (total / o.size as u64).max(1) * o.size as u64;
        let run = stream(imp, o, &Spec::plain(o.size, total_aligned));
        if run.elapsed >= Duration::from_millis(50) || total >= 8 << 30 {
            return bytes_for(o, run.bytes as f64 / run.elapsed.as_secs_f64() * secs);
        }
        total *= 8;
    }
}

/// `bytes` rounded down to whole writes, at least one.
fn bytes_for(o: &Opts, bytes: f64) -> u64 {
    ((bytes as u64) / o.size as u64).max(1) * o.size as u64
}

fn gb(b: f64) -> String {
    format!("{:.2} GB", b / 1e9)
}

/// "1.22x", "61.3x", "274x".
fn ratio(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.2}x")
    } else if r < 100.0 {
        format!("{r:.1}x")
    } else {
        format!("{r:.0}x")
    }
}

// ---------------------------------------------------------------------------------------------
// Is the machine fit to measure?

/// The machine's speed, independent of any pipe: single-thread memcpy, and the round trip of
/// two threads on the two cores flipping two cache lines. On a shared VM both drop when
/// another tenant runs on the host, which /proc/stat does not always show.
#[derive(Clone, Copy)]
struct Health {
    copy_gbps: f64,
    /// `None` with one CPU: the two threads would take turns, milliseconds per trip.
    trip_ns: Option<f64>,
}

fn health() -> Health {
    let mut h = Health {
        copy_gbps: 0.0,
        trip_ns: None,
    };
    for _ in 0..3 {
        h.copy_gbps = h.copy_gbps.max(memcpy_gbps(1 << 20, 16, 2));
        if ncpus() >= 2 {
            let t = pingpong_cachelines(2000, false);
            let ns = t.total.as_nanos() as f64 / t.trips as f64;
            h.trip_ns = Some(h.trip_ns.map_or(ns, |b: f64| b.min(ns)));
        }
    }
    h
}

impl Health {
    fn describe(&self) -> String {
        match self.trip_ns {
            Some(t) => format!(
                "memcpy {:.1} GB/s, cross-core round trip {t:.0} ns",
                self.copy_gbps
            ),
            None => format!("memcpy {:.1} GB/s", self.copy_gbps),
        }
    }
}

/// The two cores the benchmark threads are pinned to.
fn pinned_cpus() -> Vec<usize> {
    let n = ncpus();
    let mut v = vec![CORE_TX % n, CORE_RX % n];
    v.dedup();
    v
}

/// The cores' worth of CPU that others took on the pinned cores during one measurement.
#[derive(Clone, Copy)]
struct Sample {
    cores: f64,
    secs: f64,
}

impl Sample {
    /// Whether others took more than `DISTURBED` cores for sure: /proc/stat counts in clock
    /// ticks (10 ms), so a short measurement can be off by a few ticks' worth.
    fn disturbed(&self) -> bool {
        // SAFETY: sysconf has no preconditions.
        let tick = 1.0 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        self.cores - 4.0 * tick / self.secs > DISTURBED
    }
}

/// Runs `f`, returning its result and what others took on the pinned cores meanwhile (`None`
/// without /proc/stat).
fn watched<R>(f: impl FnOnce() -> R) -> (R, Option<Sample>) {
    let cpus = pinned_cpus();
    let (a, start) = (cpu_times(&cpus), Instant::now());
    let r = f();
    let secs = start.elapsed().as_secs_f64();
    let cores = a.zip(cpu_times(&cpus)).map(|(a, b)| others_cores(a, b));
    (r, cores.map(|cores| Sample { cores, secs }))
}

/// What others took on the two cores (cores' worth, from /proc/stat) while one implementation
/// was measured.
#[derive(Default)]
struct Watch {
    label: String,
    /// During each stream run.
    streams: Vec<Sample>,
    /// During the ping-pong.
    pingpong: Option<Sample>,
}

/// The verdict on the machine: `Ok(why the figures hold)` or `Err(why they do not)`.
fn verdict(before: Health, after: Health, watches: &[Watch]) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    if ncpus() < 2 {
        problems.push(format!(
            "this process may run on {} CPU: the producer and the consumer take turns on it",
            ncpus()
        ));
    }
    let all: Vec<Sample> = watches
        .iter()
        .flat_map(|w| w.streams.iter().chain(&w.pingpong).copied())
        .collect();
    // Weighted by time: the short measurements count for little.
    let mean = all.iter().map(|x| x.cores * x.secs).sum::<f64>()
        / all.iter().map(|x| x.secs).sum::<f64>().max(1e-9);
    let (mut disturbed, mut runs, mut measured) = (0, 0, 0);
    let mut spoiled = Vec::new();
    for w in watches {
        let bad = w.streams.iter().filter(|x| x.disturbed()).count();
        disturbed += bad;
        runs += w.streams.len();
        measured += w.streams.len() + usize::from(w.pingpong.is_some());
        let mut what = Vec::new();
        // The median of n runs survives (n - 1) / 2 disturbed ones.
        if !w.streams.is_empty() && bad > (w.streams.len() - 1) / 2 {
            what.push(format!("{bad} of {} stream runs", w.streams.len()));
        }
        if w.pingpong.is_some_and(|x| x.disturbed()) {
            what.push("the ping-pong".to_string());
        }
        if !what.is_empty() {
            spoiled.push(format!("{} ({})", w.label, what.join(", ")));
        }
    }
    let spoiled_all = all.iter().all(|x| x.disturbed());
    if !spoiled.is_empty() || mean > DISTURBED {
        problems.push(format!(
            "other processes (or the host, as steal time) kept {mean:.2} of the two cores busy \
             on average, more than {DISTURBED} (which spoils a run) during {}. The producer and \
             the consumer each need an idle core",
            if spoiled_all {
                format!("all {measured} measured runs")
            } else if spoiled.is_empty() {
                "most runs".to_string()
            } else {
                spoiled.join(", ")
            }
        ));
    }
    let changed = |a: f64, b: f64, by: f64| a > by * b || b > by * a;
    let trip_changed = match (before.trip_ns, after.trip_ns) {
        (Some(b), Some(a)) => changed(a, b, 1.6),
        _ => false,
    };
    if changed(before.copy_gbps, after.copy_gbps, 1.0 / 0.6) || trip_changed {
        problems.push(format!(
            "the machine's own speed changed during the run ({} before, {} after): other \
             processes, or another tenant on the host",
            before.describe(),
            after.describe()
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if all.is_empty() {
        return Ok(
            "machine: /proc/stat unavailable, interference not measured; memcpy and \
                   round trip steady."
                .to_string(),
        );
    }
    let left_out = if disturbed > 0 {
        format!(
            "; {disturbed} of {runs} stream runs were disturbed (others took more than \
             {DISTURBED} cores), too few to move the medians"
        )
    } else {
        String::new()
    };
    Ok(format!(
        "machine: quiet enough (others took {mean:.2} of the two cores on average{left_out}; \
         memcpy and round trip steady), so these figures mean something; on a shared VM they \
         still move by tens of percent between runs."
    ))
}

fn print_verdict(v: &Result<String, Vec<String>>) {
    match v {
        Ok(s) => println!("{s}"),
        Err(problems) => {
            println!("THE MACHINE WAS TOO BUSY: these figures do not mean anything.");
            for p in problems {
                println!("  - {p}");
            }
            println!("  Rerun on an idle machine with two free cores.");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Progress

/// Runs `f` (a stream of `total` bytes that reports into `progress`) on another thread and
/// shows a progress line on stderr while it runs (when stderr is a terminal).
fn with_progress<R: Send>(
    label: &str,
    total: u64,
    progress: &AtomicU64,
    f: impl FnOnce() -> R + Send,
) -> R {
    let live = std::io::stderr().is_terminal();
    std::thread::scope(|s| {
        let h = s.spawn(f);
        let start = Instant::now();
        let mut err = std::io::stderr();
        while !h.is_finished() {
            std::thread::sleep(Duration::from_millis(100));
            if !live {
                continue;
            }
            let done = progress.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64();
            let frac = done as f64 / total as f64;
            let bar: String = (0..30)
                .map(|i| if (i as f64) < frac * 30.0 { '#' } else { '.' })
                .collect();
            let _ = write!(
                err,
                "\r  {label} [{bar}] {:>5.1}%  {} / {}  {:>6.2} GB/s so far ",
                frac * 100.0,
                gb(done as f64),
                gb(total as f64),
                done as f64 / secs / 1e9
            );
            let _ = err.flush();
        }
        if live {
            let _ = write!(err, "\r{:100}\r", "");
        }
        h.join().expect("stream panicked")
    })
}

/// The stream's spec: `bytes` of `o.size` writes, stamped every 64 KiB (or every write).
fn make_spec(o: &Opts, bytes: u64, progress: &Arc<AtomicU64>) -> (Spec, u64) {
    let period = (o.size as u64) * (65536 / o.size as u64).max(1);
    progress.store(0, Ordering::Relaxed);
    let spec = Spec {
        size: o.size,
        total: bytes,
        stamp: (o.size >= 8).then(|| Stamp {
            base: Instant::now(),
            period,
        }),
        progress: Some(progress.clone()),
    };
    (spec, period)
}

fn machine_line(h: Health) -> String {
    format!(
        "machine: {}, {} CPUs, kernel {}; {}",
        cpu_model(),
        ncpus(),
        kernel_release(),
        h.describe()
    )
}

// ---------------------------------------------------------------------------------------------
// The comparison (the default)

struct Figures {
    gbps: f64,
    runs: Vec<f64>,
    lat: Pcts,
    pp: Pcts,
    pp_trips: usize,
    watch: Watch,
}

fn compare(o: &Opts) {
    let imps: Vec<Imp> = COMPARISON.iter().flat_map(|(_, i)| *i).collect();
    println!(
        "ringpipe beside rtrb and tokio's duplex: {}, producer on core {CORE_TX}, consumer on core \
         {CORE_RX}, every byte verified; median of {ROUNDS} interleaved runs each",
        o.workload()
    );
    let before = health();
    println!("{}", machine_line(before));

    // Volumes: calibrated (about RUN_SECS per run), or --bytes split over the rounds.
    let mut watches: Vec<Watch> = imps
        .iter()
        .map(|imp| Watch {
            label: imp.label(),
            ..Watch::default()
        })
        .collect();
    let volumes: Vec<u64> = imps
        .iter()
        .map(|&imp| match o.bytes {
            Some(b) => bytes_for(o, b as f64 / ROUNDS as f64),
            None => {
                eprint!("calibrating {} ... ", imp.name());
                let b = calibrate(imp, o, RUN_SECS);
                eprintln!("{} per run", gb(b as f64));
                b
            }
        })
        .collect();

    let progress = Arc::new(AtomicU64::new(0));
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); imps.len()];
    let mut lats: Vec<Vec<u64>> = vec![Vec::new(); imps.len()];
    for round in 0..ROUNDS {
        for (i, &imp) in imps.iter().enumerate() {
            let (spec, _) = make_spec(o, volumes[i], &progress);
            let label = format!("run {}/{ROUNDS} {:<13}", round + 1, imp.name());
            let (run, oth) =
                watched(|| with_progress(&label, volumes[i], &progress, || stream(imp, o, &spec)));
            watches[i].streams.extend(oth);
            eprintln!(
                "  run {}/{ROUNDS} {:<13} {:>6.2} GB/s{}",
                round + 1,
                imp.name(),
                run.gbps(),
                oth.map_or(String::new(), |x| format!(
                    "  (others took {:.2} cores)",
                    x.cores
                ))
            );
            runs[i].push(run.gbps());
            lats[i].extend(run.latencies_ns);
        }
    }

    let mut figs: Vec<Figures> = Vec::new();
    for (i, &imp) in imps.iter().enumerate() {
        eprint!("ping-pong {} ... ", imp.name());
        let ((trips, t), oth) = watched(|| {
            let n = pingpong_trips(imp, o, PINGPONG_BUDGET, o.trips);
            (n, pingpong(imp, o, n))
        });
        eprintln!("{trips} round trips");
        watches[i].pingpong = oth;
        let mut t = t;
        let mut r = runs[i].clone();
        figs.push(Figures {
            gbps: median(&mut r),
            runs: runs[i].clone(),
            lat: pcts(&mut lats[i]),
            pp: pcts(&mut t.latencies_ns),
            pp_trips: trips,
            watch: std::mem::take(&mut watches[i]),
        });
    }
    let after = health();

    // The table: one block per mode, ratios against ringpipe in the same mode.
    let verdict = verdict(
        before,
        after,
        &figs
            .iter_mut()
            .map(|f| std::mem::take(&mut f.watch))
            .collect::<Vec<_>>(),
    );
    println!();
    let row = |s: String| println!("{}", s.trim_end());
    row(format!(
        "{:<16}{:>7} {:>7}   {:<21}   {:<29}",
        "", "stream", "", "latency under load", "64 B ping-pong round trip"
    ));
    row(format!(
        "{:<16}{:>7} {:>7}   {:>9} {:>11}   {:>9} {:>9} {:>9}",
        "", "GB/s", "ratio", "p50", "p99", "p50", "p99", "ratio"
    ));
    let mut summary = Vec::new();
    for (k, (heading, pair)) in COMPARISON.iter().enumerate() {
        println!("{heading}");
        let ours = &figs[2 * k];
        let mut parts = Vec::new();
        for (j, imp) in pair.iter().enumerate() {
            let f = &figs[2 * k + j];
            let (x, px) = if j == 0 {
                (String::new(), String::new())
            } else {
                (
                    ratio(ours.gbps / f.gbps),
                    ratio(f.pp.p50 as f64 / (ours.pp.p50 as f64).max(1.0)),
                )
            };
            row(format!(
                "  {:<14}{:>7.2} {x:>7}   {:>9} {:>11}   {:>9} {:>9} {px:>9}",
                imp.name(),
                f.gbps,
                fmt_ns(f.lat.p50 as f64),
                fmt_ns(f.lat.p99 as f64),
                fmt_ns(f.pp.p50 as f64),
                fmt_ns(f.pp.p99 as f64),
            ));
            parts.push(if j == 0 {
                format!("{} {:.2} GB/s", imp.name(), f.gbps)
            } else {
                format!("{} {:.2} GB/s ({x})", imp.name(), f.gbps)
            });
        }
        summary.push(format!(
            "{}: {}",
            short_mode(pair[0].mode),
            parts.join(", ")
        ));
    }
    println!(
        "ratio = ringpipe's GB/s ÷ the peer's in the same mode (above 1: ringpipe faster); for the \
         ping-pong, the peer's p50 ÷ ringpipe's."
    );
    for (imp, f) in imps.iter().zip(&figs) {
        println!(
            "  {}: {}; runs {} GB/s; {} ping-pong trips",
            imp.label(),
            imp.how(o.spin),
            f.runs
                .iter()
                .map(|g| format!("{g:.2}"))
                .collect::<Vec<_>>()
                .join(" / "),
            f.pp_trips
        );
    }
    println!();
    match &verdict {
        Ok(_) => println!("summary: {}", summary.join("; ")),
        Err(_) => println!(
            "summary (NOT MEANINGFUL, the machine was busy: see below): {}",
            summary.join("; ")
        ),
    }
    print_verdict(&verdict);
}

fn short_mode(m: Mode) -> &'static str {
    match m {
        Mode::Spin => "busy-polled",
        Mode::Blocking => "blocking",
        Mode::Async => "async",
    }
}

// ---------------------------------------------------------------------------------------------
// One implementation (--peer / --mode)

fn single(o: &Opts, peer: &str) {
    let imp = Imp { peer, mode: o.mode };
    let label = format!(
        "{} ({}: {}), {}",
        imp.name(),
        short_mode(imp.mode),
        imp.how(o.spin),
        o.workload()
    );
    eprintln!("throughput: {label}");
    let before = health();
    let mut watch = Watch {
        label: imp.label(),
        ..Watch::default()
    };
    let bytes = match o.bytes {
        Some(b) => bytes_for(o, b as f64),
        None => {
            eprint!("calibrating ... ");
            let b = calibrate(imp, o, 5.0);
            eprintln!("{} for about 5 s", gb(b as f64));
            b
        }
    };
    let progress = Arc::new(AtomicU64::new(0));
    let (spec, period) = make_spec(o, bytes, &progress);
    let (run, oth) = watched(|| with_progress("", bytes, &progress, || stream(imp, o, &spec)));
    watch.streams.extend(oth);

    let mut lat = run.latencies_ns.clone();
    let lp = pcts(&mut lat);
    println!("{label}");
    println!("{}", machine_line(before));
    println!(
        "  streamed {} in {:.2} s: {:.2} GB/s ({:.2} GiB/s), every byte verified",
        gb(run.bytes as f64),
        run.elapsed.as_secs_f64(),
        run.gbps(),
        run.bytes as f64 / run.elapsed.as_secs_f64() / (1u64 << 30) as f64
    );
    if lp.n > 0 {
        println!(
            "  latency under load (producer clock embedded every {}, {} samples): p50 {}  p99 {}  p99.9 {}  max {}",
            human(period as usize),
            lp.n,
            fmt_ns(lp.p50 as f64),
            fmt_ns(lp.p99 as f64),
            fmt_ns(lp.p999 as f64),
            fmt_ns(*lat.last().unwrap_or(&0) as f64)
        );
    }
    eprint!("ping-pong ({} round trips of 64 bytes) ... ", o.trips);
    let (mut t, oth) = watched(|| pingpong(imp, o, o.trips));
    watch.pingpong = oth;
    eprintln!("done");
    let pp = pcts(&mut t.latencies_ns);
    println!(
        "  64-byte ping-pong round trip (two pipes, 64 KiB each, {} trips): p50 {}  p99 {}  p99.9 {}  mean {}",
        pp.n,
        fmt_ns(pp.p50 as f64),
        fmt_ns(pp.p99 as f64),
        fmt_ns(pp.p999 as f64),
        fmt_ns(pp.mean)
    );
    let after = health();
    print_verdict(&verdict(before, after, &[watch]));
}

fn main() {
    common::keep_freed_memory();
    let o = Opts::parse();
    match o.peer.clone() {
        None => compare(&o),
        Some(peer) => single(&o, &peer),
    }
}
