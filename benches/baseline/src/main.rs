//! Before/after: the ringpipe cells of `bench_report` over two builds of the crate in one
//! binary, `ringpipe_base` (an old commit, unpacked by `run.sh` into `target/ringpipe-base`)
//! and `ringpipe` (the working tree), interleaved run by run, every run in a fresh child
//! process of this binary (`--in-process`: all in this process); reports new ÷ old per cell in
//! `target/ringpipe-bench/baseline.md`.
//!
//! ```sh
//! bash benches/baseline/run.sh <old-commit>                 # full: 5 pairs of runs per cell
//! bash benches/baseline/run.sh <old-commit> --quick         # 3 pairs, 1/16 of the volume
//! bash benches/baseline/run.sh <old-commit> --only spin,x2 --sizes 64 --reps 9
//! ```
//!
//! Workloads, volumes, trips and configurations are those of `bench_report` (and its
//! `benches/common`): every byte verified, producer on core 0 and consumer on core 1. For each
//! cell and variant, repetition `i` runs old and new back to back, in alternating order (old
//! first in one pair, new first in the next), so that drift and bursts of noise on a shared
//! machine hit both builds alike; a pair during which other processes kept more than 0.3 cores
//! busy is redone (up to twice). Each run is a child process (this binary with hidden
//! arguments naming the build, cell, variant and volume) that prints its figure on stdout; the
//! parent only schedules, checks interference (the children's CPU time counts as its own) and
//! reports. See "Isolation" below for why.
//!
//! Both builds are driven through the same adapter, written once (`ringpipe_adapter!`) and
//! instantiated for each crate; it uses only API both versions have (see the macro).

// The async adapters spell out `-> impl Future + Send` like the traits they implement.
#![allow(clippy::manual_async_fn)]

#[macro_use]
#[path = "../../common/mod.rs"]
mod common;

use common::{
    async_stream, blocking_stream, fmt_ns, human, median, pcts, pingpong_async, pingpong_blocking,
    pingpong_spin, spin_stream, AsyncMode, Pcts, Run, Spec, Trips, CAPS, SIZES, SPIN,
};
use std::fmt::Write as _;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The two builds behind one adapter

/// The configurations `bench_report` gives ringpipe (see `benches/common/peers.rs`); every one
/// has capacity = pause threshold = the cell's capacity and the default chunk size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cfg {
    /// `ringpipe` in the blocking and async tables: default options (adaptive spin, `Auto`
    /// fences).
    Default,
    /// `ringpipe+spin`: `SpinWait::Fixed(SPIN)` (= `spin_before_park(SPIN)`), `Auto` fences
    /// (hence asymmetric).
    Spin,
    /// `ringpipe-nospin`: `SpinWait::Never`.
    NoSpin,
    /// `ringpipe` in the spin tables: `WakeFences::Asymmetric`, as a busy-polling user
    /// configures it.
    Asymmetric,
    /// `ringpipe-symmetric` in the spin tables: `WakeFences::Symmetric`.
    Symmetric,
}

/// One build of the crate.
trait Build: 'static {
    type Tx: common::SpinTx + common::BlockTx + common::AsyncTx;
    type Rx: common::SpinRx + common::BlockRx + common::AsyncRx;
    fn pipe(cap: usize, cfg: Cfg) -> (Self::Tx, Self::Rx);
}

/// One build of the crate `$krate` as module `$module`: the shared adapter
/// (`benches/common/ringpipe_adapter.rs`, the code `bench_report` runs) and the options of each
/// `Cfg`. Both builds expand the same code.
macro_rules! build_of {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::Cfg;
            use ::$krate as rp;

            ringpipe_adapter!(adapter, $krate);

            pub struct Build;

            pub fn options(cap: usize, cfg: Cfg) -> rp::PipeOptions {
                let b = rp::PipeOptions::builder()
                    .capacity(cap)
                    .pause_writer_threshold(cap);
                let b = match cfg {
                    Cfg::Default => b.wake_fences(rp::WakeFences::Auto),
                    Cfg::Spin => b
                        .wake_fences(rp::WakeFences::Auto)
                        .spin_wait(rp::SpinWait::Fixed(super::SPIN)),
                    Cfg::NoSpin => b.spin_wait(rp::SpinWait::Never),
                    Cfg::Asymmetric => b.wake_fences(rp::WakeFences::Asymmetric),
                    Cfg::Symmetric => b.wake_fences(rp::WakeFences::Symmetric),
                };
                b.build().expect("valid ringpipe options")
            }

            impl super::Build for Build {
                type Tx = adapter::Tx;
                type Rx = adapter::Rx;
                fn pipe(cap: usize, cfg: Cfg) -> (adapter::Tx, adapter::Rx) {
                    adapter::pipe(options(cap, cfg))
                }
            }
        }
    };
}

build_of!(old, ringpipe_base);
build_of!(new, ringpipe);

// ---------------------------------------------------------------------------------------------
// Workloads

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Spin,
    Blocking,
    Async(AsyncMode),
}

fn stream<B: Build>(kind: Kind, cfg: Cfg, spec: &Spec, cap: usize) -> Run {
    let (t, r) = B::pipe(cap, cfg);
    match kind {
        Kind::Spin => spin_stream(t, r, spec),
        Kind::Blocking => blocking_stream(t, r, spec),
        Kind::Async(mode) => async_stream(mode, t, r, spec),
    }
}

/// The ring of every ping-pong pipe, as in `bench_report`.
const PING_CAP: usize = 64 << 10;

fn pingpong<B: Build>(kind: Kind, cfg: Cfg, trips: usize) -> Trips {
    let ((t1, r1), (t2, r2)) = (B::pipe(PING_CAP, cfg), B::pipe(PING_CAP, cfg));
    match kind {
        Kind::Spin => pingpong_spin((t1, r2), (r1, t2), trips, true),
        Kind::Blocking => pingpong_blocking((t1, r2), (r1, t2), trips, true),
        Kind::Async(mode) => pingpong_async(mode, (t1, r2), (r1, t2), trips, true),
    }
}

// ---------------------------------------------------------------------------------------------
// Isolation: every run in a fresh child process
//
// In one long-lived process each build keeps what it drew at the start for every run: its own
// process-wide chunk pool (a FIFO free list that keeps the chunks earlier cells left behind, so
// a 64 KiB ring cycles through all of them) and the memory of its allocations. With identical
// source, one process of the harness ran 1 KiB writes into 64 KiB at 11 GB/s for one build and
// 3.6-5.4 GB/s for the other in every pair, and the next process of the same binary at 11 GB/s
// for both: the speed of a stream depends on where its memory landed, that is fixed for the
// lifetime of a process, and it differs between the two builds' pools. It is not the offset
// within a page (fresh processes put both builds' chunks at the same offsets, and still run at
// either speed); probably the physical placement, which no process controls. A fresh process
// per run (one build, one cell and variant, one repetition or ping-pong round) gives both
// builds the same allocation history and a new draw of memory each time, so whatever placement
// does, it does to both builds alike, as noise the pairs show, not as a bias of one build.

/// Which build a run uses. The names have the same length, so that a child's arguments (and
/// what it allocates to hold them) are the same size for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Old,
    New,
}

impl Which {
    fn arg(self) -> &'static str {
        match self {
            Which::Old => "old",
            Which::New => "new",
        }
    }
}

impl Kind {
    fn arg(self) -> &'static str {
        match self {
            Kind::Spin => "spin",
            Kind::Blocking => "blocking",
            Kind::Async(m) => m.name(),
        }
    }

    fn from_arg(s: &str) -> Option<Kind> {
        match s {
            "spin" => Some(Kind::Spin),
            "blocking" => Some(Kind::Blocking),
            _ => AsyncMode::ALL
                .into_iter()
                .find(|m| m.name() == s)
                .map(Kind::Async),
        }
    }
}

impl Cfg {
    const ALL: [Cfg; 5] = [
        Cfg::Default,
        Cfg::Spin,
        Cfg::NoSpin,
        Cfg::Asymmetric,
        Cfg::Symmetric,
    ];

    fn arg(self) -> &'static str {
        match self {
            Cfg::Default => "default",
            Cfg::Spin => "spin",
            Cfg::NoSpin => "nospin",
            Cfg::Asymmetric => "asymmetric",
            Cfg::Symmetric => "symmetric",
        }
    }

    fn from_arg(s: &str) -> Option<Cfg> {
        Cfg::ALL.into_iter().find(|c| c.arg() == s)
    }
}

/// The hidden first argument of a child run.
const CHILD: &str = "--isolated-run";

/// A child run (`args` = everything after [`CHILD`]): `stream <build> <kind> <cfg> <size>
/// <cap> <bytes>` prints the GB/s of one stream; `pingpong <build> <kind> <cfg> <trips>` prints
/// the round trips' latencies in ns, one per line. Called before anything else in `main`.
fn child_main(args: &[String]) {
    let bad = || -> ! { panic!("{CHILD}: bad arguments {args:?}") };
    let num = |i: usize| -> usize {
        args.get(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| bad())
    };
    let which = match args.get(1).map(String::as_str) {
        Some("old") => Which::Old,
        Some("new") => Which::New,
        _ => bad(),
    };
    let kind = args
        .get(2)
        .and_then(|a| Kind::from_arg(a))
        .unwrap_or_else(|| bad());
    let cfg = args
        .get(3)
        .and_then(|a| Cfg::from_arg(a))
        .unwrap_or_else(|| bad());
    match args.first().map(String::as_str) {
        Some("stream") => {
            let (size, cap, bytes) = (num(4), num(5), num(6) as u64);
            let spec = Spec::plain(size, bytes);
            let gbps = match which {
                Which::Old => stream::<old::Build>(kind, cfg, &spec, cap),
                Which::New => stream::<new::Build>(kind, cfg, &spec, cap),
            }
            .gbps();
            println!("{gbps}");
        }
        Some("pingpong") => {
            let trips = num(4);
            let lat = match which {
                Which::Old => pingpong::<old::Build>(kind, cfg, trips),
                Which::New => pingpong::<new::Build>(kind, cfg, trips),
            }
            .latencies_ns;
            let mut out = String::with_capacity(lat.len() * 8);
            for ns in lat {
                let _ = writeln!(out, "{ns}");
            }
            use std::io::Write as _;
            std::io::stdout()
                .lock()
                .write_all(out.as_bytes())
                .expect("write to the parent");
        }
        _ => bad(),
    }
}

/// Runs this binary as a child with `args` after [`CHILD`] and returns its standard output.
fn run_child(args: &[&str]) -> String {
    static EXE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let exe = EXE.get_or_init(|| std::env::current_exe().expect("the path of this binary"));
    let out = std::process::Command::new(exe)
        .arg(CHILD)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "the run {args:?} failed ({}); its messages are above",
        out.status
    );
    String::from_utf8(out.stdout).expect("a child's output is text")
}

/// The GB/s of one stream of `which`, in a fresh child process when `isolate`.
fn measure_stream(
    isolate: bool,
    which: Which,
    kind: Kind,
    cfg: Cfg,
    spec: &Spec,
    cap: usize,
) -> f64 {
    if !isolate {
        return match which {
            Which::Old => stream::<old::Build>(kind, cfg, spec, cap),
            Which::New => stream::<new::Build>(kind, cfg, spec, cap),
        }
        .gbps();
    }
    let (size, cap, bytes) = (
        spec.size.to_string(),
        cap.to_string(),
        spec.total.to_string(),
    );
    let out = run_child(&[
        "stream",
        which.arg(),
        kind.arg(),
        cfg.arg(),
        &size,
        &cap,
        &bytes,
    ]);
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("a stream run printed {out:?}, not GB/s"))
}

/// The latencies (ns) of `trips` ping-pong round trips of `which`, in a fresh child process
/// when `isolate`.
fn measure_pingpong(isolate: bool, which: Which, kind: Kind, cfg: Cfg, trips: usize) -> Vec<u64> {
    if !isolate {
        return match which {
            Which::Old => pingpong::<old::Build>(kind, cfg, trips),
            Which::New => pingpong::<new::Build>(kind, cfg, trips),
        }
        .latencies_ns;
    }
    let out = run_child(&[
        "pingpong",
        which.arg(),
        kind.arg(),
        cfg.arg(),
        &trips.to_string(),
    ]);
    let lat: Vec<u64> = out
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|_| panic!("a ping-pong run printed {l:?}"))
        })
        .collect();
    assert_eq!(lat.len(), trips, "a ping-pong run's trips");
    lat
}

/// A group of cells: a table of `bench_report` (or a group of its ping-pong table).
struct Group {
    /// The `--only` name.
    key: &'static str,
    title: String,
    kind: Kind,
    variants: Vec<(&'static str, Cfg)>,
}

fn groups() -> Vec<Group> {
    let full = vec![
        ("ringpipe", Cfg::Default),
        ("ringpipe+spin", Cfg::Spin),
        ("ringpipe-nospin", Cfg::NoSpin),
    ];
    let mut v = vec![
        Group {
            key: "spin",
            title: "spin: two threads busy-polling (`try_get_memory`/`advance`/`commit`, \
                    `try_read`/`advance_to`)"
                .into(),
            kind: Kind::Spin,
            variants: vec![
                ("ringpipe", Cfg::Asymmetric),
                ("ringpipe-symmetric", Cfg::Symmetric),
            ],
        },
        Group {
            key: "blocking",
            title: "blocking: two threads (`write_all_blocking`/`read_blocking`)".into(),
            kind: Kind::Blocking,
            variants: full.clone(),
        },
    ];
    for mode in AsyncMode::ALL {
        let mut variants = full.clone();
        if mode == AsyncMode::Single {
            // As in bench_report: a fixed spin on one thread only delays the other task.
            variants.retain(|&(_, c)| c != Cfg::Spin);
        }
        v.push(Group {
            key: mode.name(),
            title: format!(
                "async {}: {} (`write_all().await`/`read().await`)",
                mode.name(),
                mode.describe()
            ),
            kind: Kind::Async(mode),
            variants,
        });
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Interference (as in bench_report, `common::others_since`, which counts the isolated runs, the
// children waited for, as ours): how much CPU other processes took during a pair of runs.

/// A pair is redone (at most `ATTEMPTS - 1` times) when others kept more cores busy than this.
const DISTURBED: f64 = 0.3;
const ATTEMPTS: usize = 3;

/// Interference over a group's accepted pairs.
#[derive(Default)]
struct Noise {
    others_sum: f64,
    pairs: usize,
    redone: usize,
}

impl Noise {
    fn others(&self) -> f64 {
        self.others_sum / self.pairs.max(1) as f64
    }
}

/// Runs old and new back to back, old first when `old_first`; redoes both while other
/// processes disturbed them.
fn pair<T>(noise: &mut Noise, old_first: bool, old: impl Fn() -> T, new: impl Fn() -> T) -> (T, T) {
    for attempt in 0..ATTEMPTS {
        let a = common::machine_times();
        let (o, n) = if old_first {
            let o = old();
            (o, new())
        } else {
            let n = new();
            (old(), n)
        };
        let others = common::others_since(a);
        if others <= DISTURBED || attempt + 1 == ATTEMPTS {
            noise.others_sum += others;
            noise.pairs += 1;
            return (o, n);
        }
        noise.redone += 1;
    }
    unreachable!("the last attempt returns")
}

// ---------------------------------------------------------------------------------------------
// Options

struct Opts {
    quick: bool,
    reps: usize,
    only: Option<Vec<String>>,
    sizes: Vec<usize>,
    caps: Vec<usize>,
    trips: usize,
    /// `--trips` as given (for the rerun command).
    trips_given: Option<usize>,
    out: std::path::PathBuf,
    /// Every run in a fresh child process (the default; `--in-process` turns it off).
    isolate: bool,
}

const USAGE: &str = "usage: bash benches/baseline/run.sh <old-commit> [--quick] [--reps N] \
     [--only spin,blocking,async,x2,mt2,ct1,pingpong] [--sizes 64,1K,16K] [--caps 64K,1M] \
     [--trips N] [--out FILE] [--in-process]";

/// "64", "1K", "16KiB", "1M" -> bytes.
fn parse_bytes(s: &str) -> usize {
    common::parse_size(s).unwrap_or_else(|| panic!("not a size: {s:?} (64, 1K, 16K, 1M)")) as usize
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            quick: false,
            reps: 0,
            only: None,
            sizes: SIZES.to_vec(),
            caps: CAPS.to_vec(),
            trips: 0,
            trips_given: None,
            out: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/ringpipe-bench/baseline.md"),
            isolate: true,
        };
        let mut args = std::env::args().skip(1);
        let list = |v: Option<String>, what: &str| -> Vec<String> {
            v.unwrap_or_else(|| panic!("{what} needs a value ({USAGE})"))
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--in-process" => o.isolate = false,
                "--reps" => o.reps = args.next().and_then(|v| v.parse().ok()).expect("--reps N"),
                "--trips" => o.trips = args.next().and_then(|v| v.parse().ok()).expect("--trips N"),
                "--only" => o.only = Some(list(args.next(), "--only")),
                "--sizes" => {
                    o.sizes = list(args.next(), "--sizes")
                        .iter()
                        .map(|s| parse_bytes(s))
                        .collect()
                }
                "--caps" => {
                    o.caps = list(args.next(), "--caps")
                        .iter()
                        .map(|s| parse_bytes(s))
                        .collect()
                }
                "--out" => o.out = args.next().expect("--out FILE").into(),
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => panic!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        if let Some(only) = &o.only {
            const KNOWN: [&str; 7] = ["spin", "blocking", "async", "x2", "mt2", "ct1", "pingpong"];
            for p in only {
                assert!(
                    KNOWN.contains(&p.as_str()),
                    "--only: unknown part {p:?} (known: {})",
                    KNOWN.join(",")
                );
            }
        }
        for &s in &o.sizes {
            assert!(
                s > 0 && s <= common::MAX_MSG,
                "--sizes: {s} is not in 1..={}",
                common::MAX_MSG
            );
        }
        if o.reps == 0 {
            o.reps = if o.quick { 3 } else { 5 };
        }
        o.trips_given = (o.trips > 0).then_some(o.trips);
        if o.trips == 0 {
            o.trips = if o.quick { 20_000 } else { 100_000 };
        }
        o
    }

    /// Whether the group `key` runs: `--only` names it, or `async` and it is an async mode.
    fn wants(&self, key: &str) -> bool {
        self.only.as_ref().map_or(true, |v| {
            v.iter().any(|p| {
                p == key || (p == "async" && AsyncMode::ALL.iter().any(|m| m.name() == key))
            })
        })
    }

    /// Bytes per run of a streaming cell: bench_report's volumes.
    fn volume(&self, kind: Kind, size: usize) -> u64 {
        let full: u64 = match (kind, size) {
            (Kind::Spin, s) if s <= 64 => 256 << 20,
            (Kind::Spin, s) if s <= 1024 => 1 << 30,
            (Kind::Spin, _) => 4 << 30,
            (_, s) if s <= 64 => 64 << 20,
            (_, s) if s <= 1024 => 512 << 20,
            _ => 2 << 30,
        };
        if self.quick {
            full / 16
        } else {
            full
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// One cell: median GB/s of each build and the paired ratios (new ÷ old of each pair).
struct StreamRow {
    cap: usize,
    size: usize,
    variant: &'static str,
    old: f64,
    new: f64,
    paired: Vec<f64>,
}

struct StreamTable {
    key: &'static str,
    title: String,
    rows: Vec<StreamRow>,
    noise: Noise,
}

fn run_streams(opts: &Opts, g: &Group) -> StreamTable {
    let mut noise = Noise::default();
    let mut rows = Vec::new();
    for &cap in &opts.caps {
        for &size in &opts.sizes {
            let spec = Spec::plain(size, opts.volume(g.kind, size));
            let mut samples = vec![(Vec::new(), Vec::new()); g.variants.len()];
            for rep in 0..opts.reps {
                for (i, &(_, cfg)) in g.variants.iter().enumerate() {
                    let run = |w| measure_stream(opts.isolate, w, g.kind, cfg, &spec, cap);
                    let (o, n) = pair(
                        &mut noise,
                        (rep + i) % 2 == 0,
                        || run(Which::Old),
                        || run(Which::New),
                    );
                    samples[i].0.push(o);
                    samples[i].1.push(n);
                }
            }
            for (&(variant, _), (o, n)) in g.variants.iter().zip(samples.iter_mut()) {
                let paired: Vec<f64> = o.iter().zip(n.iter()).map(|(o, n)| n / o).collect();
                let row = StreamRow {
                    cap,
                    size,
                    variant,
                    old: median(o),
                    new: median(n),
                    paired,
                };
                eprintln!(
                    "  {:<8} cap {:>7} write {:>6} {:<18} old {:>7.2} GB/s  new {:>7.2} GB/s  new/old {:.3}",
                    g.key,
                    human(cap),
                    human(size),
                    variant,
                    row.old,
                    row.new,
                    row.new / row.old
                );
                rows.push(row);
            }
        }
    }
    StreamTable {
        key: g.key,
        title: g.title.clone(),
        rows,
        noise,
    }
}

/// One ping-pong variant: the pooled round trips of each build, and the paired p50 ratios.
struct LatRow {
    group: String,
    variant: &'static str,
    old: Pcts,
    new: Pcts,
    paired_p50: Vec<f64>,
}

fn run_pingpong(opts: &Opts, gs: &[Group]) -> (Vec<LatRow>, Noise) {
    let mut noise = Noise::default();
    let per_round = opts.trips.div_ceil(opts.reps);
    let cells: Vec<(String, Kind, &'static str, Cfg)> = gs
        .iter()
        .flat_map(|g| {
            let name = match g.kind {
                Kind::Async(m) => format!("async {}", m.name()),
                _ => g.key.to_string(),
            };
            g.variants
                .iter()
                .map(move |&(v, c)| (name.clone(), g.kind, v, c))
        })
        .collect();
    let mut all = vec![(Vec::new(), Vec::new(), Vec::new()); cells.len()];
    for rep in 0..opts.reps {
        for (i, &(_, kind, _, cfg)) in cells.iter().enumerate() {
            let run = |w| measure_pingpong(opts.isolate, w, kind, cfg, per_round);
            let (mut o, mut n) = pair(
                &mut noise,
                (rep + i) % 2 == 0,
                || run(Which::Old),
                || run(Which::New),
            );
            let (po, pn) = (pcts(&mut o).p50, pcts(&mut n).p50);
            all[i].2.push(pn as f64 / po.max(1) as f64);
            all[i].0.extend(o);
            all[i].1.extend(n);
        }
    }
    let rows = cells
        .into_iter()
        .zip(all)
        .map(|((group, _, variant, _), (mut o, mut n, paired_p50))| {
            let row = LatRow {
                group,
                variant,
                old: pcts(&mut o),
                new: pcts(&mut n),
                paired_p50,
            };
            eprintln!(
                "  pingpong {:<10} {:<18} p50 old {:>9} new {:>9} ({:.3})  p99 old {:>9} new {:>9} ({:.3})",
                row.group,
                row.variant,
                fmt_ns(row.old.p50 as f64),
                fmt_ns(row.new.p50 as f64),
                row.new.p50 as f64 / row.old.p50.max(1) as f64,
                fmt_ns(row.old.p99 as f64),
                fmt_ns(row.new.p99 as f64),
                row.new.p99 as f64 / row.old.p99.max(1) as f64,
            );
            row
        })
        .collect();
    (rows, noise)
}

// ---------------------------------------------------------------------------------------------
// The report

/// How much slower than old a cell may be before it is flagged.
const TOLERANCE: f64 = 0.03;

/// Whether the pairs agree that new is slower: every pair's slowdown beyond 0 (for
/// throughput, every paired new ÷ old below 1).
fn every_pair_slower(paired_slowdowns: &[f64]) -> bool {
    !paired_slowdowns.is_empty() && paired_slowdowns.iter().all(|&d| d > 0.0)
}

/// A cell's verdict from its slowdown (how much longer new takes than old, as a fraction) and
/// whether every pair agrees.
fn verdict(slowdown: f64, consistent: bool) -> String {
    if slowdown > TOLERANCE && consistent {
        format!("**{:.1}% slower** (every pair)", slowdown * 100.0)
    } else if slowdown > TOLERANCE {
        format!("**{:.1}% slower?** (pairs disagree)", slowdown * 100.0)
    } else if slowdown < -TOLERANCE {
        format!("{:.1}% faster", -slowdown * 100.0)
    } else {
        "within 3%".to_string()
    }
}

fn range(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{lo:.3}–{hi:.3}")
}

/// A flagged cell.
struct Flag {
    name: String,
    slowdown: f64,
    consistent: bool,
    /// The `--only` key, and the write size and capacity (streams only), to re-measure it.
    key: String,
    cell: Option<(usize, usize)>,
}

/// What the summary needs: the flagged cells and the worst cell.
#[derive(Default)]
struct Summary {
    cells: usize,
    flags: Vec<Flag>,
    worst: Option<(String, f64)>,
}

impl Summary {
    fn note(&mut self, flag: Flag) {
        self.cells += 1;
        if self.worst.as_ref().map_or(true, |w| flag.slowdown > w.1) {
            self.worst = Some((flag.name.clone(), flag.slowdown));
        }
        if flag.slowdown > TOLERANCE {
            self.flags.push(flag);
        }
    }

    /// Arguments that re-measure every flagged cell (and the cells that share its group, write
    /// size and capacity) with more pairs.
    fn rerun_args(&self, opts: &Opts) -> Option<String> {
        let (reps, quick, trips) = (opts.reps, opts.quick, opts.trips_given);
        if self.flags.is_empty() {
            return None;
        }
        let mut keys: Vec<&str> = Vec::new();
        let (mut sizes, mut caps): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        for f in &self.flags {
            if !keys.contains(&f.key.as_str()) {
                keys.push(&f.key);
            }
            if let Some((size, cap)) = f.cell {
                if !sizes.contains(&size) {
                    sizes.push(size);
                }
                if !caps.contains(&cap) {
                    caps.push(cap);
                }
            }
        }
        sizes.sort_unstable();
        caps.sort_unstable();
        let list = |v: &[usize]| {
            v.iter()
                .map(|&b| common::short(b))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut a = format!("--only {}", keys.join(","));
        if !sizes.is_empty() {
            let _ = write!(a, " --sizes {} --caps {}", list(&sizes), list(&caps));
        }
        let _ = write!(
            a,
            "{}{}{} --reps {}",
            if quick { " --quick" } else { "" },
            if opts.isolate { "" } else { " --in-process" },
            trips.map_or(String::new(), |t| format!(" --trips {t}")),
            (reps * 3).max(9)
        );
        Some(a)
    }
}

fn stream_md(t: &StreamTable, sum: &mut Summary) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### {}\n\nOther processes kept {:.2} cores busy on average during the {} accepted pairs; \
         {} pairs redone because they took more than {DISTURBED}.\n\n\
         | write | capacity | variant | old GB/s | new GB/s | **new ÷ old** | paired new ÷ old (min–max) | verdict |\n\
         |---|---|---|---:|---:|---:|---:|---|",
        t.title,
        t.noise.others(),
        t.noise.pairs,
        t.noise.redone
    );
    for r in &t.rows {
        let ratio = r.new / r.old;
        // Throughput: new takes old/new as long.
        let slowdown = 1.0 / ratio - 1.0;
        let paired: Vec<f64> = r.paired.iter().map(|p| 1.0 / p - 1.0).collect();
        let consistent = every_pair_slower(&paired);
        sum.note(Flag {
            name: format!(
                "{} {} into {} {}",
                t.key,
                human(r.size),
                human(r.cap),
                r.variant
            ),
            slowdown,
            consistent,
            key: t.key.to_string(),
            cell: Some((r.size, r.cap)),
        });
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.2} | **{:.3}** | {} | {} |",
            human(r.size),
            human(r.cap),
            r.variant,
            r.old,
            r.new,
            ratio,
            range(&r.paired),
            verdict(slowdown, consistent)
        );
    }
    s
}

fn lat_md(rows: &[LatRow], noise: &Noise, trips: usize, reps: usize, sum: &mut Summary) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### ping-pong: 64-byte round trip through two {} rings ({trips} trips per build and \
         variant, in {reps} interleaved rounds, every trip timed)\n\n\
         Lower is better: a ratio above 1 is slower. The verdict is on p50 (p99 and p99.9 of a \
         shared VM move by more than 3% between identical builds). Other processes kept {:.2} \
         cores busy on average during the {} accepted pairs of rounds; {} redone.\n\n\
         | mode | variant | old p50 | new p50 | **p50 new ÷ old** | paired p50 ratio (min–max) | old p99 | new p99 | p99 new ÷ old | old p99.9 | new p99.9 | verdict (p50) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        human(PING_CAP),
        noise.others(),
        noise.pairs,
        noise.redone
    );
    for r in rows {
        let p50 = r.new.p50 as f64 / r.old.p50.max(1) as f64;
        let p99 = r.new.p99 as f64 / r.old.p99.max(1) as f64;
        let slowdown = p50 - 1.0;
        let paired: Vec<f64> = r.paired_p50.iter().map(|p| p - 1.0).collect();
        let consistent = every_pair_slower(&paired);
        sum.note(Flag {
            name: format!("ping-pong {} {} p50", r.group, r.variant),
            slowdown,
            consistent,
            key: "pingpong".to_string(),
            cell: None,
        });
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | **{:.3}** | {} | {} | {} | {:.3} | {} | {} | {} |",
            r.group,
            r.variant,
            fmt_ns(r.old.p50 as f64),
            fmt_ns(r.new.p50 as f64),
            p50,
            range(&r.paired_p50),
            fmt_ns(r.old.p99 as f64),
            fmt_ns(r.new.p99 as f64),
            p99,
            fmt_ns(r.old.p999 as f64),
            fmt_ns(r.new.p999 as f64),
            verdict(slowdown, consistent)
        );
    }
    s
}

fn summary_md(sum: &Summary, opts: &Opts, old_arg: &str) -> String {
    let mut md = String::from("## Summary\n\n");
    let Some((worst, w)) = &sum.worst else {
        md += "No cells ran (see `--only`, `--sizes`, `--caps`).\n";
        return md;
    };
    let (firm, noisy): (Vec<&Flag>, Vec<&Flag>) = sum.flags.iter().partition(|f| f.consistent);
    let list = |v: &[&Flag]| {
        v.iter()
            .map(|f| format!("{} ({:+.1}%)", f.name, f.slowdown * 100.0))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let _ = writeln!(
        md,
        "{} cells; **{} flagged** (new more than 3% slower than old); worst: {worst} ({:+.1}% \
         time).\n",
        sum.cells,
        sum.flags.len(),
        w * 100.0
    );
    if !firm.is_empty() {
        let _ = writeln!(
            md,
            "- slower in every pair ({}): {}",
            firm.len(),
            list(&firm)
        );
    }
    if !noisy.is_empty() {
        let _ = writeln!(
            md,
            "- slower in the medians only, the pairs disagree ({}): {}",
            noisy.len(),
            list(&noisy)
        );
    }
    if let Some(args) = sum.rerun_args(opts) {
        let _ = writeln!(
            md,
            "\nTo measure the flagged cells again with more pairs: \
             `bash benches/baseline/run.sh {old_arg} {args}`"
        );
    }
    md
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    common::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(CHILD) {
        child_main(&args[1..]);
        return;
    }
    let opts = Opts::parse();
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let old_desc = env(
        "RINGPIPE_BASELINE_OLD",
        "ringpipe_base (target/ringpipe-base)",
    );
    let new_desc = env("RINGPIPE_BASELINE_NEW", "ringpipe (working tree)");
    let profile = env("RINGPIPE_BASELINE_PROFILE", "");
    let load_start = loadavg();
    let started = Instant::now();
    eprintln!(
        "baseline: old = {old_desc}; new = {new_desc}; {} mode, {} interleaved pairs per cell, \
         {}, load average {load_start}",
        if opts.quick { "quick" } else { "full" },
        opts.reps,
        if opts.isolate {
            "every run in a fresh process"
        } else {
            "all runs in this process"
        }
    );

    if !opts.isolate {
        // Warm-up: fault in both builds' global chunk pools and the threads' first allocations.
        let warm = Spec::plain(16 << 10, 16 << 20);
        for _ in 0..2 {
            stream::<old::Build>(Kind::Blocking, Cfg::Default, &warm, 1 << 20);
            stream::<new::Build>(Kind::Blocking, Cfg::Default, &warm, 1 << 20);
        }
    }

    let gs = groups();
    let mut tables = Vec::new();
    for g in &gs {
        if opts.wants(g.key) {
            eprintln!("{} ...", g.title);
            tables.push(run_streams(&opts, g));
        }
    }
    let lat = opts.wants("pingpong").then(|| {
        eprintln!("ping-pong ...");
        run_pingpong(&opts, &gs)
    });

    let mut sum = Summary::default();
    let mut body = String::new();
    for t in &tables {
        body += &stream_md(t, &mut sum);
        body += "\n";
    }
    if let Some((rows, noise)) = &lat {
        let trips = opts.reps * opts.trips.div_ceil(opts.reps);
        body += &lat_md(rows, noise, trips, opts.reps, &mut sum);
    }

    let old_arg = env("RINGPIPE_BASELINE_OLD_ARG", "<old-commit>");
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# ringpipe before/after\n\n\
         - **old**: {old_desc} (crate `ringpipe_base`, built from `target/ringpipe-base`)\n\
         - **new**: {new_desc} (crate `ringpipe`)\n\
         - `bash benches/baseline/run.sh {old_arg}{}` — {} mode: every cell runs old and new back to \
           back {} times (old first in one pair, new first in the next), {}, \
           through the same adapter; throughput is the median of the {} runs of each build; \
           volumes per run {} (spin) and {} (blocking, async) at 64 B / 1 KiB / 16 KiB writes; \
           {} ping-pong trips per build and variant.\n\
         - release profile: the root's{}; {} CPUs; load average {load_start} at the start, {} \
           at the end; took {:.0} s.\n\
         - **new ÷ old**: above 1 is faster for throughput, slower for latency. A cell is \
           flagged when new is more than 3% slower than old. The paired ratios (one per pair \
           of runs) show the noise: when their range spans 1, the difference is within it. \
           Compare with a run of `run.sh HEAD` (old and new identical) for this machine's \
           noise floor.\n",
        std::env::args()
            .skip(1)
            .map(|a| format!(" {a}"))
            .collect::<String>(),
        if opts.quick { "quick" } else { "full" },
        opts.reps,
        if opts.isolate {
            "each run (one build, one cell and variant, one repetition or ping-pong round) in a \
             fresh process of its own"
        } else {
            "all in one process (`--in-process`)"
        },
        opts.reps,
        [64, 1024, 16384]
            .map(|s| human(opts.volume(Kind::Spin, s) as usize))
            .join(" / "),
        [64, 1024, 16384]
            .map(|s| human(opts.volume(Kind::Blocking, s) as usize))
            .join(" / "),
        opts.reps * opts.trips.div_ceil(opts.reps),
        if profile.is_empty() {
            String::new()
        } else {
            format!(" (`{profile}`)")
        },
        common::ncpus(),
        loadavg(),
        started.elapsed().as_secs_f64()
    );
    md += &summary_md(&sum, &opts, &old_arg);
    md += "\n";
    md += "## Cells\n\n";
    md += &body;

    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir).expect("create the report's directory");
    }
    std::fs::write(&opts.out, &md).expect("write the report");
    println!("{md}");
    let out = std::fs::canonicalize(&opts.out).unwrap_or(opts.out);
    eprintln!("written to {}", out.display());
}
