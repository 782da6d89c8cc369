//! Stress suite: long two-thread runs with random everything, every byte checked.
//!
//! Each test is one waiting style and loops over random configurations until its time budget
//! is used:
//!
//! * `stress_spin`: `try_get_memory` / `commit` / `try_flush` / `try_read`, spinning and
//!   yielding (`read_at_least` emulated by examining everything until enough is there);
//! * `stress_blocking`: the `*_blocking` calls (each wait preceded by a non-waiting try);
//! * `stress_async_tokio`: `get_memory` / `flush` / `write_all` / `read` / `read_at_least`
//!   awaited in two tasks spawned separately on a two-worker tokio runtime, some waits cut
//!   short by `tokio::time::timeout` (cancel safety);
//! * `stress_async_minimal_executor`: the same futures on the minimal executors of
//!   `support::exec`, either one thread per side (`block_on` with a thread-unparking waker) or
//!   both futures on one thread (a two-task executor); some futures are polled once and
//!   dropped.
//!
//! A run picks capacity (tiny, 64..4096, larger, the default), chunk size (1..300, 16, 64, 256,
//! 4096, 16 KiB, ...), pause/resume thresholds (none, default, random), `SpinWait` (never, fixed, adaptive),
//! the pool (private, shared by the runs of a test, the process-wide one, or
//! `PipeOptions::default()`), how many bytes, how the stream ends (writer completes, is
//! dropped, completes with an error; or the reader stops early: completes, fails, is dropped),
//! whether a third thread cancels reads and flushes at random, and whether each side cancels
//! itself (its next read or flush must then report `is_canceled`).
//!
//! The writer mixes `write_all` (pieces up to a few chunks and past the capacity) with
//! `get_memory(hint)` + `advance(n)` (n from 0 to the grant, sometimes two advances per grant),
//! then commits, flushes, `try_flush`es or leaves the data unflushed for later. The reader mixes
//! `read`, `read_at_least(n)` and `try_read`, and picks consumed anywhere in the buffer and
//! examined anywhere from consumed to the end (re-reads included).
//!
//! The byte at stream position `p` is a hash of `p` and the run's seed. The reader checks every
//! new byte when it first sees it, a random window through the `Sequence` API, and every
//! consumed byte again, exactly once and in order, when it consumes it, folding it into a
//! position-weighted checksum that must equal the writer's. At the end the reader's total must
//! equal the writer's, completion (or the writer's error, the same `Arc` on every call) must
//! arrive, an early-stopping reader must be seen by the writer as `is_completed` (or its error),
//! and the pool must have every chunk back.
//!
//! Liveness by construction (no `WouldDeadlock` may ever happen): the writer commits before it
//! waits for room, its size hints are at most `H`, and the reader that examines everything
//! keeps at most `min(capacity - H, slots - 1)` bytes unconsumed and asks `read_at_least(n)`
//! only for `n <= min(capacity - H + 1, slots)`. These bounds are tight: hints that do not fit
//! in a chunk may leave one byte per chunk, so every slot may be needed, and a chunk the reader
//! has consumed must be given back while it waits, however the writer fills and seals chunks
//! meanwhile (`try_*` writers included; the held-chunk shape, `RunCfg::held`, makes that
//! common). A watchdog fails a run that makes no
//! progress for 10 s (600 s under Miri), naming the seed, the configuration and what each side
//! was doing.
//!
//! Environment:
//! * `RINGPIPE_STRESS_SECS`: seconds per test (a float; default 2, so the file takes a few
//!   seconds in a debug build). For a long run:
//!   `RINGPIPE_STRESS_SECS=300 cargo test --release --test stress -- --nocapture`.
//! * `RINGPIPE_STRESS_SEED`: the master seed (decimal or 0x-hex); random by default, printed
//!   in the summary line and in every failure. It fixes each run's configuration and the sides'
//!   random streams, not the threads' interleaving (nor, therefore, what each read returns).
//! * `RINGPIPE_STRESS_RUN_SEED`: repeat only the run with this seed (from a failure message).
//! * `RINGPIPE_TEST_FENCES=asymmetric` runs the suite over asymmetric fences (`support::test_fences`).
//!
//! Each test prints a summary line (runs, bytes, reads, cancels seen and issued; visible with
//! `--nocapture`). Under Miri each test does four tiny runs (a few hundred bytes) with a fixed
//! seed (isolated Miri sees no environment unless given `-Zmiri-env-forward=...`), and the
//! tokio test is skipped.

mod support;

use ringpipe::{
    ChunkPool, CompletionError, FlushResult, PipeCanceller, PipeOptions, PipeReader, PipeWriter,
    Position, ReadError, ReadResult, SpinWait, WriteError,
};
use std::any::Any;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use support::exec::{backoff, block_on, block_on_both, poll_noop};
use support::rng::{splitmix64, Rng};
use support::TestError;

/// Seconds per test when `RINGPIPE_STRESS_SECS` is not set.
const DEFAULT_SECS: f64 = 2.0;
/// Runs per test under Miri (which is ~1000x slower and whose clock is virtual).
const MIRI_RUNS: u64 = 4;
/// A run that makes no progress for this long is declared hung.
const STALL: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 10 });

// ---------------------------------------------------------------------------------------------
// The expected stream and a checksum.

/// Fills `dst` with the stream bytes at positions `from..`: byte `p` is byte `p % 8` of a hash
/// of `p / 8` and the seed.
fn fill_expected(dst: &mut [u8], seed: u64, from: u64) {
    let mut p = from;
    let mut i = 0;
    while i < dst.len() {
        let word = splitmix64(seed ^ (p >> 3).wrapping_mul(0xD6E8_FEB8_6659_FD93)).to_le_bytes();
        let off = (p & 7) as usize;
        let n = (8 - off).min(dst.len() - i);
        dst[i..i + n].copy_from_slice(&word[off..off + n]);
        i += n;
        p += n as u64;
    }
}

/// The first byte of `src` (stream positions `from..`) that is not the stream's:
/// `(position, found, expected)`.
fn mismatch(src: &[u8], seed: u64, from: u64) -> Option<(u64, u8, u8)> {
    let mut want = [0u8; 256];
    let mut i = 0;
    while i < src.len() {
        let n = (src.len() - i).min(want.len());
        fill_expected(&mut want[..n], seed, from + i as u64);
        if src[i..i + n] != want[..n] {
            let j = (0..n)
                .find(|&j| src[i + j] != want[j])
                .expect("a difference");
            return Some((from + (i + j) as u64, src[i + j], want[j]));
        }
        i += n;
    }
    None
}

/// A position-weighted checksum of `bytes` at stream positions `from..` (split-independent:
/// the sum over pieces equals the sum over the whole).
fn checksum(bytes: &[u8], from: u64) -> u64 {
    let mut sum = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        let p = from + i as u64;
        sum = sum.wrapping_add((b as u64 + 1).wrapping_mul(p.wrapping_mul(2).wrapping_add(1)));
    }
    sum
}

// ---------------------------------------------------------------------------------------------
// Environment.

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => v.replace('_', "").parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={v:?} is not a number: {e}")))
}

fn budget() -> Duration {
    let secs = match std::env::var("RINGPIPE_STRESS_SECS") {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("RINGPIPE_STRESS_SECS={v:?} is not a number: {e}")),
        Err(_) => DEFAULT_SECS,
    };
    Duration::from_secs_f64(secs.max(0.0))
}

fn master_seed() -> u64 {
    if let Some(s) = env_u64("RINGPIPE_STRESS_SEED") {
        return s;
    }
    if cfg!(miri) {
        // Isolated Miri has no wall clock; vary nothing.
        return 0x5EED_0000_0001;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    splitmix64(nanos ^ ((std::process::id() as u64) << 32))
}

// ---------------------------------------------------------------------------------------------
// Run configurations.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Spin,
    Blocking,
    Tokio,
    Mini,
}

/// How a side waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Spin,
    Blocking,
    Tokio,
    Mini,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolKind {
    /// A fresh pool for this run, keeping up to this many idle chunks.
    Private(usize),
    /// One pool per chunk size, shared by the runs of a test.
    Shared,
    /// The process-wide pool for the chunk size (runs using it are serialised, so the pool's
    /// `in_use` can be checked).
    Global,
    /// `PipeOptions::default()`: 1 MiB, 16 KiB chunks from the process-wide pool.
    Defaults,
}

/// How the stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The writer writes everything and calls `complete`.
    Complete,
    /// The writer writes everything and is dropped.
    Drop,
    /// The writer writes everything and calls `complete_with_error`.
    WriterFails,
    /// The reader stops once it consumed `at` bytes; the writer writes until it notices.
    ReaderStops { at: u64, how: Stop },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Complete,
    Fail,
    Drop,
}

#[derive(Clone, Copy, Debug)]
struct RunCfg {
    seed: u64,
    capacity: Option<usize>,
    chunk: Option<usize>,
    /// `None`: the default threshold.
    pause: Option<usize>,
    resume: Option<usize>,
    spin: SpinWait,
    pool: PoolKind,
    /// Bytes the writer writes (unless the reader stops early).
    total: u64,
    end: End,
    /// A third thread cancels reads and flushes at random.
    canceller: bool,
    /// Each side sometimes cancels its own next read / flush (which must then be canceled).
    self_cancel: bool,
    /// Minimal executor: both futures on one thread.
    join: bool,
    /// The held-chunk shape: the writer puts one byte in each fresh chunk (its hints never fit
    /// what is left), sometimes polling `try_get_memory` instead of waiting, and the reader
    /// often consumes everything and waits in `read_at_least` for as much as the ring can ever
    /// hold: every slot is needed, so a consumed chunk held while the reader waits fails the
    /// run.
    held: bool,
}

impl RunCfg {
    fn random(seed: u64, mode: Mode) -> RunCfg {
        let mut rng = Rng::new(seed ^ 0xC0F1_6000);
        let end = |rng: &mut Rng, total: u64| match rng.below(10) {
            0..=2 => End::Complete,
            3 => End::Drop,
            4 | 5 => End::WriterFails,
            _ => End::ReaderStops {
                at: rng.range(0, total as usize) as u64,
                how: match rng.below(3) {
                    0 => Stop::Complete,
                    1 => Stop::Fail,
                    _ => Stop::Drop,
                },
            },
        };
        if cfg!(miri) {
            // A few hundred bytes through tiny pipes: every hand-off path, little time.
            let chunk = [3, 8, 16, 64][rng.below(4)];
            let capacity = rng.range(4, 96);
            let total = rng.range(0, 300) as u64;
            return RunCfg {
                seed,
                capacity: Some(capacity),
                chunk: Some(chunk),
                pause: match rng.below(3) {
                    0 => Some(0),
                    1 => None,
                    _ => Some(rng.range(1, capacity)),
                },
                resume: None,
                spin: if rng.one_in(4) {
                    SpinWait::Fixed(8)
                } else {
                    SpinWait::Never
                },
                pool: if rng.one_in(2) {
                    PoolKind::Shared
                } else {
                    PoolKind::Private(rng.range(0, 8))
                },
                total,
                end: end(&mut rng, total),
                canceller: rng.one_in(2),
                self_cancel: rng.one_in(2),
                join: mode == Mode::Mini && rng.one_in(2),
                held: rng.one_in(3),
            };
        }
        let pool = match rng.below(10) {
            0 => PoolKind::Defaults,
            1 => PoolKind::Global,
            2..=4 => PoolKind::Shared,
            _ => PoolKind::Private(if rng.one_in(2) { rng.range(0, 8) } else { 4096 }),
        };
        let (capacity, chunk, pause, resume, spin) = if pool == PoolKind::Defaults {
            (None, None, None, None, ringpipe::DEFAULT_SPIN_WAIT)
        } else {
            let chunk = match rng.below(9) {
                0 => 16,
                1 => 64,
                2 => 256,
                3 => 16 << 10,
                4 => 4096,
                5 => rng.range(1, 16),
                6 => rng.range(17, 300),
                7 => rng.range(300, 5000),
                _ => 1,
            };
            let capacity = match rng.below(10) {
                0..=4 => rng.range(64, 4096),
                5 => rng.range(1, 63),
                6 => ringpipe::DEFAULT_CAPACITY,
                7 => rng.range(4096, 256 << 10),
                _ => chunk * rng.range(1, 8),
            };
            // Keep the slot array sane (and under MAX_SLOTS).
            let chunk = chunk.max(capacity.div_ceil(1 << 16));
            let pause = match rng.below(4) {
                0 => Some(0),
                1 => None,
                _ => Some(rng.range(1, capacity)),
            };
            let resume = match pause {
                Some(p) if p > 0 => match rng.below(3) {
                    0 => None,
                    1 => Some(p),
                    _ => Some(rng.range(0, p)),
                },
                _ => None,
            };
            let spin = if rng.one_in(4) {
                SpinWait::Fixed(rng.range(1, 300) as u32)
            } else if cfg!(miri) || rng.one_in(2) {
                SpinWait::Never
            } else {
                // Adaptive, from no spin at all to longer than a thread wake-up.
                SpinWait::Adaptive {
                    max: Duration::from_nanos(rng.range(0, 50_000) as u64),
                }
            };
            (Some(capacity), Some(chunk), pause, resume, spin)
        };
        // Bytes: a few tiny streams, else from a kilobyte up to an amount that a tiny pipe
        // moves quickly too.
        let cap = capacity.unwrap_or(ringpipe::DEFAULT_CAPACITY);
        let max = (cap * 256 + 4096).min(256 << 10);
        let total = if rng.one_in(8) {
            rng.range(0, 64)
        } else {
            rng.range(1024, max)
        } as u64;
        RunCfg {
            seed,
            capacity,
            chunk,
            pause,
            resume,
            spin,
            pool,
            total,
            end: end(&mut rng, total),
            canceller: rng.below(5) < 2,
            self_cancel: rng.below(3) == 0,
            join: mode == Mode::Mini && rng.one_in(2),
            held: rng.one_in(4),
        }
    }

    fn error_id(&self) -> u32 {
        (self.seed as u32) | 1
    }

    fn stops(&self) -> Option<Stop> {
        match self.end {
            End::ReaderStops { how, .. } => Some(how),
            _ => None,
        }
    }
}

/// Serialises the runs that use the process-wide pools, so that their `in_use` is exact.
static GLOBAL_POOLS: Mutex<()> = Mutex::new(());
/// A run over a process-wide pool failed (its hung threads may still hold chunks): later runs
/// use private pools instead, so that they do not fail for that run's sake.
static GLOBAL_POOLS_TAINTED: AtomicBool = AtomicBool::new(false);

/// Builds the run's options; returns them, the pool to check, and the global-pool guard.
fn build_options(
    cfg: &RunCfg,
    shared: &mut HashMap<usize, ChunkPool>,
) -> (PipeOptions, ChunkPool, Option<MutexGuard<'static, ()>>) {
    let global = matches!(cfg.pool, PoolKind::Global | PoolKind::Defaults);
    if global && GLOBAL_POOLS_TAINTED.load(Relaxed) {
        let chunk = cfg.chunk.unwrap_or(ringpipe::DEFAULT_CHUNK_SIZE);
        let cfg = RunCfg {
            pool: PoolKind::Private(8),
            chunk: Some(chunk),
            ..*cfg
        };
        return build_options(&cfg, shared);
    }
    if cfg.pool == PoolKind::Defaults {
        let guard = GLOBAL_POOLS.lock().unwrap_or_else(|e| e.into_inner());
        let opts = PipeOptions::default();
        let pool = opts.pool().clone();
        return (opts, pool, Some(guard));
    }
    let chunk = cfg.chunk.expect("a chunk size");
    let mut b = PipeOptions::builder()
        .spin_wait(cfg.spin)
        .wake_fences(support::test_fences());
    if let Some(c) = cfg.capacity {
        b = b.capacity(c);
    }
    if let Some(p) = cfg.pause {
        b = b.pause_writer_threshold(p);
    }
    if let Some(r) = cfg.resume {
        b = b.resume_writer_threshold(r);
    }
    let (b, guard) = match cfg.pool {
        PoolKind::Private(retained) => {
            (b.pool(ChunkPool::new(chunk, retained).expect("pool")), None)
        }
        PoolKind::Shared => {
            let pool = shared
                .entry(chunk)
                .or_insert_with(|| ChunkPool::new(chunk, 4).expect("pool"));
            (b.pool(pool.clone()), None)
        }
        PoolKind::Global | PoolKind::Defaults => (
            b.chunk_size(chunk),
            Some(GLOBAL_POOLS.lock().unwrap_or_else(|e| e.into_inner())),
        ),
    };
    let opts = b
        .build()
        .unwrap_or_else(|e| panic!("options of {cfg:?}: {e}"));
    let pool = opts.pool().clone();
    (opts, pool, guard)
}

/// What the options allow, and the bounds that keep a well-behaved reader live.
#[derive(Clone, Copy, Debug)]
struct Limits {
    capacity: usize,
    chunk: usize,
    slots: usize,
    pause: usize,
    /// Shown in failure messages.
    #[allow(dead_code)]
    resume: usize,
    max_memory: usize,
    /// Largest size hint the writer uses.
    hint_max: usize,
    /// Most bytes the reader leaves unconsumed when it examines everything.
    retain_max: usize,
    /// Largest `read_at_least` minimum.
    at_least_max: usize,
}

impl Limits {
    fn new(opts: &PipeOptions, seed: u64, held: bool) -> Limits {
        let mut rng = Rng::new(seed ^ 0x11_4175);
        let capacity = opts.capacity();
        let chunk = opts.chunk_size();
        let slots = opts.slots();
        let max_memory = capacity.min(chunk);
        let hint_max = match rng.below(4) {
            // The held-chunk shape: hints of a whole chunk never fit a chunk with a byte in it.
            _ if held => max_memory,
            0 => 1,
            1 => (max_memory / 2).max(1),
            2 => max_memory,
            _ => rng.range(1, max_memory),
        };
        Limits {
            capacity,
            chunk,
            slots,
            pause: opts.pause_writer_threshold(),
            resume: opts.resume_writer_threshold(),
            max_memory,
            hint_max,
            // Tight bounds: one byte per chunk, every slot used. A consumed chunk held while the
            // reader waits (the held-chunk class) would leave one slot short and fail the run
            // with `WouldDeadlock` or hang it (the watchdog).
            retain_max: (capacity - hint_max).min(slots - 1),
            at_least_max: (capacity - hint_max + 1).min(slots),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Progress, for the watchdog.

#[derive(Clone, Copy, Debug)]
enum Phase {
    Start,
    TryGetMemory,
    GetMemory,
    Commit,
    Flush,
    TryFlush,
    WriteAll,
    Completing,
    TryRead,
    Read,
    ReadAtLeast,
    Advance,
    WaitCompletion,
    Done,
}

const PHASES: [&str; 14] = [
    "starting",
    "try_get_memory",
    "waiting for memory (get_memory)",
    "commit",
    "flush (may wait while paused)",
    "try_flush",
    "write_all",
    "completing",
    "try_read",
    "read",
    "read_at_least",
    "advance_to",
    "waiting for the other side's completion",
    "done",
];

#[derive(Default)]
struct SideWatch {
    phase: AtomicUsize,
    pos: AtomicU64,
    arg: AtomicU64,
    ops: AtomicU64,
}

impl SideWatch {
    fn set(&self, phase: Phase, pos: u64, arg: u64) {
        self.phase.store(phase as usize, Relaxed);
        self.pos.store(pos, Relaxed);
        self.arg.store(arg, Relaxed);
    }
    fn op(&self) {
        self.ops.fetch_add(1, Relaxed);
    }
    fn describe(&self) -> String {
        format!(
            "{} (arg {}) at byte {}, {} operations",
            PHASES[self.phase.load(Relaxed)],
            self.arg.load(Relaxed),
            self.pos.load(Relaxed),
            self.ops.load(Relaxed)
        )
    }
}

#[derive(Default)]
struct Watch {
    writer: SideWatch,
    reader: SideWatch,
    /// The reader's examined position.
    examined: AtomicU64,
    /// Cancels issued by the canceller thread.
    cancel_reads: AtomicU64,
    cancel_flushes: AtomicU64,
    stop: AtomicBool,
}

// ---------------------------------------------------------------------------------------------
// Waiting.

fn short_timeout(rng: &mut Rng) -> Duration {
    Duration::from_micros(rng.range(1, 300) as u64)
}

// ---------------------------------------------------------------------------------------------
// The writer.

#[derive(Debug, Default)]
struct WriterReport {
    written: u64,
    checksum: u64,
    flush_cancels: u64,
    self_cancels: u64,
}

struct WriterSide {
    w: PipeWriter,
    cfg: RunCfg,
    lim: Limits,
    style: Style,
    rng: Rng,
    watch: Arc<Watch>,
    me: PipeCanceller,
    /// Stream position: bytes advanced.
    pos: u64,
    /// Bytes advanced since the last commit (kept only while the reader is there).
    unflushed: usize,
    checksum: u64,
    self_cancel_pending: bool,
    flush_cancels: u64,
    self_cancels: u64,
    /// A flush or write reported the reader's completion.
    gone: bool,
    reader_error: Option<CompletionError>,
    spins: u32,
    data: Vec<u8>,
}

impl WriterSide {
    fn new(w: PipeWriter, cfg: RunCfg, lim: Limits, style: Style, watch: Arc<Watch>) -> Self {
        let me = w.canceller();
        WriterSide {
            w,
            cfg,
            lim,
            style,
            rng: Rng::new(cfg.seed ^ 0x5752_4954),
            watch,
            me,
            pos: 0,
            unflushed: 0,
            checksum: 0,
            self_cancel_pending: false,
            flush_cancels: 0,
            self_cancels: 0,
            gone: false,
            reader_error: None,
            spins: 0,
            data: Vec::new(),
        }
    }

    fn phase(&self, phase: Phase, arg: usize) {
        self.watch.writer.set(phase, self.pos, arg as u64);
    }

    fn op(&self) {
        self.watch.writer.op();
    }

    fn at(&self) -> String {
        format!(
            "writer at byte {} (unflushed {}, paused {})",
            self.pos,
            self.unflushed,
            self.w.is_paused()
        )
    }

    fn pick_piece(&mut self) -> usize {
        const ODD: [usize; 16] = [
            1, 2, 3, 7, 15, 16, 17, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097,
        ];
        let (chunk, cap) = (self.lim.chunk.min(1 << 16), self.lim.capacity.min(1 << 17));
        let n = match self.rng.below(6) {
            0 => self.rng.range(1, 8),
            1 => self.rng.range(1, chunk),
            2 => self.rng.range(1, 4 * chunk),
            3 => self.rng.range(1, 2 * cap + 3),
            4 => ODD[self.rng.below(ODD.len())],
            _ => self.rng.range(1, 64),
        };
        n.min(256 << 10)
    }

    fn pick_hint(&mut self, left: usize) -> usize {
        let h = self.lim.hint_max;
        if self.cfg.held && !self.rng.one_in(8) {
            return h;
        }
        match self.rng.below(5) {
            0 => 0,
            1 => 1,
            2 => left.min(h),
            3 => h,
            _ => self.rng.range(1, h),
        }
    }

    /// How much of `avail` granted bytes to write: usually all, sometimes fewer, rarely none.
    fn pick_take(&mut self, avail: usize) -> usize {
        if self.cfg.held && !self.rng.one_in(8) {
            // One byte per chunk.
            return avail.min(1);
        }
        match self.rng.below(8) {
            0 => 0,
            1 | 2 => self.rng.range(0, avail),
            _ => avail,
        }
    }

    fn commit(&mut self) {
        self.phase(Phase::Commit, 0);
        self.w.commit();
        self.unflushed = 0;
        self.op();
    }

    /// At least `hint` bytes of memory (waiting in the run's style); returns how many.
    async fn get_memory(&mut self, hint: usize) -> Result<usize, String> {
        self.phase(Phase::TryGetMemory, hint);
        match self.w.try_get_memory(hint) {
            Ok(m) => return Ok(m.len()),
            Err(WriteError::Full { requested }) if requested == hint => {}
            Err(e) => return Err(format!("try_get_memory({hint}), {}: {e:?}", self.at())),
        }
        // Let the reader see everything before waiting for room: a reader waiting for bytes
        // we hold unflushed would wait forever (and both would get WouldDeadlock).
        self.commit();
        self.phase(Phase::GetMemory, hint);
        loop {
            let r = self.wait_for_memory(hint).await;
            if matches!(r, Err(WriteError::Canceled)) {
                // cancel_pending_flush ends a wait for room (once); wait again.
                self.flush_cancel_seen("get_memory")?;
                continue;
            }
            return r
                .map_err(|e| format!("get_memory({hint}) after a commit, {}: {e:?}", self.at()));
        }
    }

    /// One wait for `hint` bytes of room, in the run's style. In the held-chunk shape, a
    /// writer with a thread of its own sometimes polls `try_get_memory` instead (a `try_*`
    /// writer beside a parked reader).
    async fn wait_for_memory(&mut self, hint: usize) -> Result<usize, WriteError> {
        let own_thread =
            self.style == Style::Blocking || (self.style == Style::Mini && !self.cfg.join);
        let style = if self.cfg.held && own_thread && self.rng.one_in(2) {
            Style::Spin
        } else {
            self.style
        };
        match style {
            Style::Spin => loop {
                match self.w.try_get_memory(hint) {
                    Ok(m) => break Ok(m.len()),
                    Err(WriteError::Full { .. }) => backoff(&mut self.spins),
                    Err(e) => break Err(e),
                }
            },
            Style::Blocking => self.w.get_memory_blocking(hint).map(|m| m.len()),
            Style::Mini => {
                // Sometimes start the wait and give it up, as a `select!` would.
                let early = if self.rng.one_in(4) {
                    poll_noop(self.w.get_memory(hint)).map(|r| r.map(|m| m.len()))
                } else {
                    None
                };
                match early {
                    Some(r) => r,
                    None => self.w.get_memory(hint).await.map(|m| m.len()),
                }
            }
            Style::Tokio => {
                let early = if self.rng.one_in(4) {
                    let d = short_timeout(&mut self.rng);
                    tokio::time::timeout(d, self.w.get_memory(hint))
                        .await
                        .ok()
                        .map(|r| r.map(|m| m.len()))
                } else {
                    None
                };
                match early {
                    Some(r) => r,
                    None => self.w.get_memory(hint).await.map(|m| m.len()),
                }
            }
        }
    }

    /// A flush-cancel was observed (by a flush, a `write_all` or a wait for room): it must
    /// have been asked for.
    fn flush_cancel_seen(&mut self, what: &str) -> Result<(), String> {
        if !self.cfg.canceller && !self.self_cancel_pending {
            return Err(format!(
                "{what} returned canceled though nobody canceled, {}",
                self.at()
            ));
        }
        self.self_cancel_pending = false;
        self.flush_cancels += 1;
        Ok(())
    }

    /// Writes stream bytes into `k` bytes of the granted memory and advances.
    fn put(&mut self, k: usize) -> Result<(), String> {
        let (seed, pos) = (self.cfg.seed, self.pos);
        let mem = self.w.granted_memory();
        if mem.len() < k {
            return Err(format!(
                "granted_memory() has {} bytes, {k} expected, at byte {pos}",
                mem.len()
            ));
        }
        fill_expected(&mut mem[..k], seed, pos);
        let sum = checksum(&mem[..k], pos);
        self.w.advance(k);
        if !self.gone {
            self.checksum = self.checksum.wrapping_add(sum);
        }
        self.pos += k as u64;
        self.unflushed += k;
        Ok(())
    }

    /// A piece through `get_memory` + `advance` (not published).
    async fn write_piece(&mut self, piece: usize) -> Result<(), String> {
        let mut left = piece;
        while left > 0 {
            let hint = self.pick_hint(left);
            let len = self.get_memory(hint).await?;
            self.op();
            if len < hint.max(1) || len > self.lim.max_memory {
                return Err(format!(
                    "get_memory({hint}) returned {len} bytes (want {}..={}), {}",
                    hint.max(1),
                    self.lim.max_memory,
                    self.at()
                ));
            }
            let k = self.pick_take(len.min(left));
            self.put(k)?;
            left -= k;
            if k > 0 && left > 0 && self.rng.one_in(6) {
                // A second advance into the same grant.
                let rest = self.w.granted_memory().len();
                if rest != len - k {
                    return Err(format!(
                        "granted_memory() has {rest} bytes after advancing {k} of {len}, {}",
                        self.at()
                    ));
                }
                let k2 = self.rng.range(0, rest.min(left));
                self.put(k2)?;
                left -= k2;
            }
        }
        Ok(())
    }

    /// Checks what a flush (or `write_all`) reported.
    fn flush_outcome(
        &mut self,
        what: &str,
        r: Result<FlushResult, WriteError>,
    ) -> Result<(), String> {
        self.op();
        match r {
            Ok(f) if f.is_completed() => {
                if f.is_canceled() || !matches!(self.cfg.stops(), Some(Stop::Complete | Stop::Drop))
                {
                    return Err(format!(
                        "{what} returned {f:?} (reader completed) but the reader does not stop \
                         that way ({:?}), {}",
                        self.cfg.end,
                        self.at()
                    ));
                }
                self.gone = true;
                self.self_cancel_pending = false;
                Ok(())
            }
            Ok(f) if f.is_canceled() => self.flush_cancel_seen(what),
            Ok(_) if self.self_cancel_pending => Err(format!(
                "{what} after cancel_pending_flush was not canceled, {}",
                self.at()
            )),
            Ok(_) => Ok(()),
            Err(WriteError::ReaderFailed(e)) => {
                if self.cfg.stops() != Some(Stop::Fail) {
                    return Err(format!(
                        "{what} returned ReaderFailed({e}) but the reader does not fail ({:?})",
                        self.cfg.end
                    ));
                }
                let id = e.downcast_ref::<TestError>().map(|t| t.id);
                if id != Some(self.cfg.error_id()) {
                    return Err(format!("{what}: reader error {e} (id {id:?}) is not ours"));
                }
                if let Some(first) = &self.reader_error {
                    if !Arc::ptr_eq(first, &e) {
                        return Err(format!("{what}: the reader's error is another Arc"));
                    }
                } else {
                    self.reader_error = Some(e);
                }
                self.gone = true;
                self.self_cancel_pending = false;
                Ok(())
            }
            Err(e) => Err(format!("{what}: {e:?}, {}", self.at())),
        }
    }

    /// Commits and waits while paused (in the run's style).
    async fn flush(&mut self) -> Result<(), String> {
        self.phase(Phase::Flush, 0);
        let r = match self.style {
            Style::Spin => loop {
                match self.w.try_flush() {
                    Ok(Some(f)) => break Ok(f),
                    Ok(None) if self.self_cancel_pending => {
                        return Err(format!(
                            "try_flush reported paused with a cancel pending, {}",
                            self.at()
                        ))
                    }
                    Ok(None) => backoff(&mut self.spins),
                    Err(e) => break Err(e),
                }
            },
            Style::Blocking => self.w.flush_blocking(),
            Style::Mini => {
                // Start a flush and drop it (the data is committed at the first poll).
                let early = if self.rng.one_in(4) {
                    poll_noop(self.w.flush())
                } else {
                    None
                };
                match early {
                    Some(r) => r,
                    None => self.w.flush().await,
                }
            }
            Style::Tokio => {
                let early = if self.rng.one_in(4) {
                    let d = short_timeout(&mut self.rng);
                    tokio::time::timeout(d, self.w.flush()).await.ok()
                } else {
                    None
                };
                match early {
                    Some(r) => r,
                    None => self.w.flush().await,
                }
            }
        };
        self.unflushed = 0;
        self.flush_outcome("flush", r)
    }

    /// One `try_flush`; a paused writer goes on writing (the data is committed anyway).
    fn try_flush_once(&mut self) -> Result<(), String> {
        self.phase(Phase::TryFlush, 0);
        let r = self.w.try_flush();
        self.unflushed = 0;
        match r {
            Ok(None) if self.self_cancel_pending => Err(format!(
                "try_flush reported paused with a cancel pending, {}",
                self.at()
            )),
            Ok(None) => {
                self.op();
                Ok(())
            }
            Ok(Some(f)) => self.flush_outcome("try_flush", Ok(f)),
            Err(e) => self.flush_outcome("try_flush", Err(e)),
        }
    }

    /// `write_all` emulated with `try_get_memory` / `commit` / `try_flush`.
    fn spin_write_all(&mut self) -> Result<Result<FlushResult, WriteError>, String> {
        let mut off = 0;
        while off < self.data.len() {
            match self.w.try_get_memory(0) {
                Ok(m) => {
                    let k = m.len().min(self.data.len() - off);
                    m[..k].copy_from_slice(&self.data[off..off + k]);
                    self.w.advance(k);
                    off += k;
                }
                Err(WriteError::Full { .. }) => {
                    self.w.commit();
                    backoff(&mut self.spins);
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        loop {
            match self.w.try_flush() {
                Ok(Some(f)) => return Ok(Ok(f)),
                Ok(None) if self.self_cancel_pending => {
                    return Err(format!(
                        "try_flush reported paused with a cancel pending, {}",
                        self.at()
                    ))
                }
                Ok(None) => backoff(&mut self.spins),
                Err(e) => return Ok(Err(e)),
            }
        }
    }

    async fn write_all(&mut self, n: usize) -> Result<(), String> {
        self.data.resize(n, 0);
        fill_expected(&mut self.data, self.cfg.seed, self.pos);
        self.phase(Phase::WriteAll, n);
        let r = match self.style {
            Style::Spin => self.spin_write_all()?,
            Style::Blocking => self.w.write_all_blocking(&self.data),
            // Never cut short: how much a dropped write_all copied is unknown.
            Style::Mini | Style::Tokio => self.w.write_all(&self.data).await,
        };
        // A cancel ends a write_all where it is: `written` bytes went in (all of them
        // otherwise; after the reader completed, what went in no longer counts).
        // (The spin style's emulation copies everything, then reports a flush.)
        let reported = self.style != Style::Spin;
        let written = match &r {
            Ok(f) if reported && f.is_canceled() => f.written(),
            _ => n,
        };
        if let (Ok(f), true) = (&r, reported) {
            if f.written() != written && !f.is_completed() {
                return Err(format!(
                    "write_all({n}) says {} bytes went in, expected {written}, {}",
                    f.written(),
                    self.at()
                ));
            }
        }
        if matches!(&r, Ok(f) if !f.is_completed()) {
            self.checksum = self
                .checksum
                .wrapping_add(checksum(&self.data[..written], self.pos));
        }
        self.pos += written as u64;
        self.unflushed = 0;
        self.flush_outcome("write_all", r)
    }

    async fn run(mut self) -> Result<WriterReport, String> {
        if self.w.capacity() != self.lim.capacity || self.w.max_memory() != self.lim.max_memory {
            return Err(format!(
                "capacity {} / max_memory {} differ from the options {:?}",
                self.w.capacity(),
                self.w.max_memory(),
                self.lim
            ));
        }
        self.phase(Phase::Start, 0);
        let early = self.cfg.stops().is_some();
        let target = if early { u64::MAX } else { self.cfg.total };
        while self.pos < target && !self.gone {
            if self.cfg.self_cancel && !self.self_cancel_pending && self.rng.one_in(8) {
                self.me.cancel_pending_flush();
                self.self_cancel_pending = true;
                self.self_cancels += 1;
            }
            if self.rng.one_in(64) {
                let too_big = self.lim.max_memory + 1;
                match self.w.try_get_memory(too_big) {
                    Err(WriteError::TooLarge { requested, max })
                        if requested == too_big && max == self.lim.max_memory => {}
                    other => {
                        return Err(format!(
                            "try_get_memory({too_big}) past max_memory gave {:?}",
                            other.map(|m| m.len())
                        ))
                    }
                }
            }
            let piece = (self.pick_piece() as u64).min(target - self.pos) as usize;
            if self.rng.one_in(if self.cfg.held { 8 } else { 3 }) {
                self.write_all(piece).await?;
            } else {
                self.write_piece(piece).await?;
                match self.rng.below(6) {
                    0 => self.commit(),
                    1 | 2 => self.flush().await?,
                    3 => self.try_flush_once()?,
                    _ => {} // several pieces before one flush
                }
            }
            if self.lim.pause == 0 && self.w.is_paused() {
                return Err(format!("paused without a pause threshold, {}", self.at()));
            }
            if !early && self.w.unflushed_bytes() != self.unflushed && !self.w.is_reader_completed()
            {
                return Err(format!(
                    "unflushed_bytes() is {}, expected {}, {}",
                    self.w.unflushed_bytes(),
                    self.unflushed,
                    self.at()
                ));
            }
            if early && !self.gone && self.w.is_reader_completed() {
                // Once the reader is seen gone, the next flush must say so.
                self.flush().await?;
                if !self.gone {
                    return Err(format!(
                        "flush after is_reader_completed() did not report it, {}",
                        self.at()
                    ));
                }
            }
            if self.style == Style::Tokio && self.rng.one_in(16) {
                tokio::task::yield_now().await;
            }
        }
        self.finish().await
    }

    async fn finish(mut self) -> Result<WriterReport, String> {
        self.phase(Phase::Completing, 0);
        let report = WriterReport {
            written: self.pos,
            checksum: self.checksum,
            flush_cancels: self.flush_cancels,
            self_cancels: self.self_cancels,
        };
        match self.cfg.end {
            End::Complete | End::WriterFails => {
                if self.cfg.end == End::Complete {
                    self.w.complete();
                } else {
                    self.w.complete_with_error(TestError {
                        id: self.cfg.error_id(),
                    });
                }
                if !self.w.is_completed() || self.w.unflushed_bytes() != 0 {
                    return Err(format!(
                        "after completing: is_completed {}, unflushed {}",
                        self.w.is_completed(),
                        self.w.unflushed_bytes()
                    ));
                }
                match self.w.try_get_memory(1) {
                    Err(WriteError::WriterCompleted) => {}
                    other => {
                        return Err(format!(
                            "try_get_memory after complete: {:?}",
                            other.map(|m| m.len())
                        ))
                    }
                }
                match self.w.try_flush() {
                    Err(WriteError::WriterCompleted) => {}
                    other => return Err(format!("try_flush after complete: {other:?}")),
                }
            }
            End::Drop => {}
            End::ReaderStops { how, .. } => {
                if !self.w.is_reader_completed() {
                    return Err("is_reader_completed() is false after the reader stopped".into());
                }
                // Writing after the reader went: scratch memory, dropped bytes, and every
                // flush reports the reader's end at once.
                let n = self.rng.range(1, 2 * self.lim.capacity.min(1 << 17) + 3);
                self.write_all(n).await?;
                let len = self
                    .w
                    .try_get_memory(self.lim.hint_max)
                    .map_err(|e| format!("try_get_memory after the reader went: {e:?}"))?
                    .len();
                self.w.advance(len);
                self.flush().await?;
                self.phase(Phase::WaitCompletion, 0);
                match (how, self.w.reader_completion().await) {
                    (Stop::Complete | Stop::Drop, Ok(())) => {}
                    (Stop::Fail, Err(e))
                        if self
                            .reader_error
                            .as_ref()
                            .is_some_and(|first| Arc::ptr_eq(first, &e)) => {}
                    (_, other) => {
                        return Err(format!(
                            "reader_completion after the reader stopped ({how:?}): {:?}",
                            other.map_err(|e| e.to_string())
                        ))
                    }
                }
                if self.rng.one_in(2) {
                    self.w.complete();
                }
            }
        }
        self.phase(Phase::Done, 0);
        Ok(report)
    }
}

// ---------------------------------------------------------------------------------------------
// The reader.

#[derive(Debug, Default)]
struct ReaderReport {
    consumed: u64,
    checksum: u64,
    reads: u64,
    read_cancels: u64,
    self_cancels: u64,
}

#[derive(Clone, Copy, Debug)]
enum Need {
    /// `read`: more than was examined.
    More,
    /// `read_at_least(n)`.
    AtLeast(usize),
    /// `try_read`, then `read` if there is nothing new.
    Try,
}

/// What to do after a read.
enum Act {
    Advance {
        consumed: Position,
        examined: Position,
        c: usize,
        e: usize,
        /// The stream is over and everything consumed.
        done: bool,
        /// An emulated `read_at_least` is not satisfied yet: advance and read again.
        again: bool,
    },
    /// The writer's error arrived.
    Failed(CompletionError),
}

/// The reader's bookkeeping and checks (apart from the `PipeReader`, which a read borrows).
struct Checker {
    cfg: RunCfg,
    lim: Limits,
    rng: Rng,
    watch: Arc<Watch>,
    me: PipeCanceller,
    /// Consumed position.
    head: u64,
    /// Examined position.
    examined: u64,
    /// Every byte before this position has been checked once.
    verified: u64,
    checksum: u64,
    reads: u64,
    read_cancels: u64,
    self_cancels: u64,
    self_cancel_pending: bool,
    spins: u32,
}

impl Checker {
    fn new(r: &PipeReader, cfg: RunCfg, lim: Limits, watch: Arc<Watch>) -> Checker {
        Checker {
            cfg,
            lim,
            rng: Rng::new(cfg.seed ^ 0x5245_4144),
            watch,
            me: r.canceller(),
            head: 0,
            examined: 0,
            verified: 0,
            checksum: 0,
            reads: 0,
            read_cancels: 0,
            self_cancels: 0,
            self_cancel_pending: false,
            spins: 0,
        }
    }

    fn phase(&self, phase: Phase, arg: usize) {
        self.watch.reader.set(phase, self.head, arg as u64);
    }

    fn at(&self) -> String {
        format!(
            "reader at consumed {}, examined {}, read {}",
            self.head, self.examined, self.reads
        )
    }

    fn pick_need(&mut self, style: Style) -> Need {
        if self.cfg.held && self.rng.one_in(2) {
            // As much as the ring can ever hold for this writer.
            return Need::AtLeast(self.lim.at_least_max);
        }
        match self.rng.below(10) {
            0 | 1 => Need::AtLeast(self.rng.range(1, self.lim.at_least_max)),
            2 => Need::AtLeast(self.rng.range(0, 1)),
            3 if style != Style::Spin => Need::Try,
            _ => Need::More,
        }
    }

    /// Offsets (consumed, examined) for a buffer of `len` bytes. Whenever examined is the end,
    /// at most `retain_max` bytes stay unconsumed, so the writer can always add a byte.
    fn choose(&mut self, len: usize, completed: bool) -> (usize, usize) {
        let r = self.lim.retain_max;
        let seen = ((self.examined - self.head) as usize).min(len);
        let rng = &mut self.rng;
        if (completed || self.cfg.held) && rng.one_in(2) {
            return (len, len);
        }
        match rng.below(8) {
            // Consume all, examine all.
            0 | 1 => (len, len),
            // Consume part, examine all ("need more").
            2 | 3 => (rng.range(len.saturating_sub(r), len), len),
            // Examine part (the next read returns at once), consume up to there.
            4 if len > 0 => {
                let e = rng.range(0, len - 1);
                (rng.range(0, e), e)
            }
            // Consume nothing, examine all.
            5 if len <= r => (0, len),
            // Re-read: consume and examine nothing (un-examines what was examined).
            6 => (0, 0),
            // Examine a little more than before, consume some of it.
            _ => {
                let e = rng.range(seen, len);
                if e == len && len > r {
                    (rng.range(len - r, len), len)
                } else {
                    (rng.range(0, e), e)
                }
            }
        }
    }

    /// Checks a read's outcome and decides how to advance. `at_least`: the minimum asked of a
    /// real `read_at_least`; `emulate`: the minimum of an emulated one.
    fn handle(
        &mut self,
        res: Result<ReadResult<'_>, ReadError>,
        at_least: Option<usize>,
        emulate: Option<usize>,
    ) -> Result<Act, String> {
        self.watch.reader.op();
        let res = match res {
            Ok(res) => res,
            Err(ReadError::WriterFailed(e)) => {
                if self.cfg.end != End::WriterFails {
                    return Err(format!(
                        "read: WriterFailed({e}) but the writer does not fail"
                    ));
                }
                let id = e.downcast_ref::<TestError>().map(|t| t.id);
                if id != Some(self.cfg.error_id()) {
                    return Err(format!("read: writer error {e} (id {id:?}) is not ours"));
                }
                return Ok(Act::Failed(e));
            }
            Err(e) => return Err(format!("read: {e:?} ({e}), {}", self.at())),
        };
        self.reads += 1;
        let buf = res.buffer();
        let (canceled, completed) = (res.is_canceled(), res.is_completed());
        let (start, end, len) = (buf.start().offset(), buf.end().offset(), buf.len());
        if canceled {
            if !self.cfg.canceller && !self.self_cancel_pending {
                return Err(format!(
                    "read canceled though nobody canceled, {}",
                    self.at()
                ));
            }
            self.self_cancel_pending = false;
            self.read_cancels += 1;
        } else if self.self_cancel_pending {
            return Err(format!(
                "read after cancel_pending_read was not canceled (completed {completed}), {}",
                self.at()
            ));
        }
        if start != self.head || end - start != len as u64 || buf.is_empty() != (len == 0) {
            return Err(format!(
                "buffer {start}..{end} (len {len}) does not start at consumed, {}",
                self.at()
            ));
        }
        if end < self.verified {
            return Err(format!(
                "buffer ends at {end}, before data seen earlier ({}), {}",
                self.verified,
                self.at()
            ));
        }
        let early = self.cfg.stops().is_some();
        if !early && end > self.cfg.total {
            return Err(format!(
                "buffer ends at {end}, past the {} bytes written",
                self.cfg.total
            ));
        }
        if completed && (early || self.cfg.end == End::WriterFails || end != self.cfg.total) {
            return Err(format!(
                "read completed at {end} (stream of {} bytes, end {:?}), {}",
                self.cfg.total,
                self.cfg.end,
                self.at()
            ));
        }
        if !canceled && !completed {
            match at_least {
                Some(n) if len < n => {
                    return Err(format!(
                        "read_at_least({n}) returned {len} bytes, not canceled or completed, {}",
                        self.at()
                    ))
                }
                None if end <= self.examined => {
                    return Err(format!(
                        "read returned nothing past examined (end {end}), not canceled or \
                         completed, {}",
                        self.at()
                    ))
                }
                _ => {}
            }
        }
        // Every new byte, once.
        let seed = self.cfg.seed;
        let mut p = self.verified;
        for chunk in buf.slice((self.verified - start) as usize..).chunks() {
            if chunk.is_empty() {
                return Err(format!("an empty chunk in the buffer, {}", self.at()));
            }
            if let Some((q, got, want)) = mismatch(chunk, seed, p) {
                return Err(format!(
                    "byte {q} is {got:#04x}, expected {want:#04x} (new data), {}",
                    self.at()
                ));
            }
            p += chunk.len() as u64;
        }
        if p != end {
            return Err(format!("chunks end at {p}, buffer at {end}, {}", self.at()));
        }
        self.verified = end;
        if len > 0 && self.rng.one_in(8) {
            self.check_window(&buf)?;
        }
        if let Some(n) = emulate {
            if len < n && !completed && !canceled {
                // Not enough yet: examine everything (len < n <= retain_max + 1), read again.
                return Ok(Act::Advance {
                    consumed: buf.start(),
                    examined: buf.end(),
                    c: 0,
                    e: len,
                    done: false,
                    again: true,
                });
            }
        }
        let (c, e) = self.choose(len, completed);
        // Every consumed byte, again, exactly once and in order, into the checksum.
        let mut p = start;
        for chunk in buf.slice(..c).chunks() {
            if let Some((q, got, want)) = mismatch(chunk, seed, p) {
                return Err(format!(
                    "byte {q} is {got:#04x}, expected {want:#04x} (changed before it was \
                     consumed), {}",
                    self.at()
                ));
            }
            self.checksum = self.checksum.wrapping_add(checksum(chunk, p));
            p += chunk.len() as u64;
        }
        if p != start + c as u64 {
            return Err(format!(
                "consumed chunks end at {p}, expected {}",
                start + c as u64
            ));
        }
        Ok(Act::Advance {
            consumed: buf.position(c),
            examined: buf.position(e),
            c,
            e,
            done: completed && c == len,
            again: false,
        })
    }

    /// A random window through `slice`, `to_vec`, `copy_to_slice`, `find` and positions.
    fn check_window(&mut self, buf: &ringpipe::Sequence<'_>) -> Result<(), String> {
        let (start, len) = (buf.start().offset(), buf.len());
        let a = self.rng.below(len);
        let b = (a + 1 + self.rng.below(97)).min(len);
        let win = buf.slice(a..b);
        let mut want = vec![0u8; b - a];
        fill_expected(&mut want, self.cfg.seed, start + a as u64);
        let mut dst = vec![0u8; b - a];
        win.copy_to_slice(&mut dst);
        if dst != want || win.to_vec() != want || win.len() != b - a {
            return Err(format!(
                "window {a}..{b} of {start}.. differs, {}",
                self.at()
            ));
        }
        let needle = want[self.rng.below(want.len())];
        let first = want.iter().position(|&x| x == needle).expect("present");
        let found = win.find(needle);
        if found.map(|p| p.offset()) != Some(start + (a + first) as u64)
            || found.and_then(|p| buf.offset_of(p)) != Some(a + first)
        {
            return Err(format!(
                "find({needle:#04x}) in {a}..{b} gave {found:?}, expected offset {}",
                a + first
            ));
        }
        Ok(())
    }

    fn advanced(&mut self, c: usize, e: usize) {
        self.examined = self.head + e as u64;
        self.head += c as u64;
        self.watch.examined.store(self.examined, Relaxed);
        self.phase(Phase::Advance, 0);
    }

    fn report(&self) -> ReaderReport {
        ReaderReport {
            consumed: self.head,
            checksum: self.checksum,
            reads: self.reads,
            read_cancels: self.read_cancels,
            self_cancels: self.self_cancels,
        }
    }
}

fn read_fut(r: &mut PipeReader, need: Need) -> ringpipe::future::ReadFuture<'_> {
    match need {
        Need::AtLeast(n) => r.read_at_least(n),
        Need::More | Need::Try => r.read(),
    }
}

/// One read in `style`, checked; returns what to do next.
async fn read_once(
    r: &mut PipeReader,
    ck: &mut Checker,
    style: Style,
    need: Need,
) -> Result<Act, String> {
    let at_least = match need {
        Need::AtLeast(n) if n > 0 => Some(n),
        _ => None,
    };
    let phase = match need {
        Need::AtLeast(_) => Phase::ReadAtLeast,
        Need::More => Phase::Read,
        Need::Try => Phase::TryRead,
    };
    ck.phase(phase, at_least.unwrap_or(0));
    if let Need::Try = need {
        let first = match r.try_read() {
            Ok(None) => None,
            Ok(Some(res)) => Some(ck.handle(Ok(res), None, None)),
            Err(e) => Some(ck.handle(Err(e), None, None)),
        };
        if let Some(act) = first {
            return act;
        }
        if ck.self_cancel_pending {
            return Err(format!(
                "try_read returned None with a cancel pending, {}",
                ck.at()
            ));
        }
        ck.phase(Phase::Read, 0);
    }
    match style {
        Style::Spin => loop {
            let got = match r.try_read() {
                Ok(None) => None,
                Ok(Some(res)) => Some(ck.handle(Ok(res), None, at_least)?),
                Err(e) => Some(ck.handle(Err(e), None, at_least)?),
            };
            match got {
                None if ck.self_cancel_pending => {
                    return Err(format!(
                        "try_read returned None with a cancel pending, {}",
                        ck.at()
                    ))
                }
                None => backoff(&mut ck.spins),
                Some(Act::Advance {
                    consumed,
                    examined,
                    c,
                    e,
                    again: true,
                    ..
                }) => {
                    r.advance_to(consumed, examined)
                        .map_err(|err| format!("advance_to: {err:?}, {}", ck.at()))?;
                    ck.advanced(c, e);
                }
                Some(act) => return Ok(act),
            }
        },
        Style::Blocking => match need {
            Need::AtLeast(n) => ck.handle(r.read_at_least_blocking(n), at_least, None),
            Need::More | Need::Try => ck.handle(r.read_blocking(), None, None),
        },
        Style::Mini | Style::Tokio => {
            let early = if ck.rng.one_in(5) {
                if style == Style::Tokio {
                    let d = short_timeout(&mut ck.rng);
                    match tokio::time::timeout(d, read_fut(r, need)).await {
                        Ok(x) => Some(ck.handle(x, at_least, None)?),
                        Err(_) => None,
                    }
                } else {
                    match poll_noop(read_fut(r, need)) {
                        Some(x) => Some(ck.handle(x, at_least, None)?),
                        None => None,
                    }
                }
            } else {
                None
            };
            match early {
                Some(act) => Ok(act),
                None => ck.handle(read_fut(r, need).await, at_least, None),
            }
        }
    }
}

async fn run_reader(
    mut r: PipeReader,
    mut ck: Checker,
    style: Style,
) -> Result<ReaderReport, String> {
    ck.phase(Phase::Start, 0);
    if r.capacity() != ck.lim.capacity {
        return Err(format!("reader capacity {} differs", r.capacity()));
    }
    loop {
        if let End::ReaderStops { at, how } = ck.cfg.end {
            if ck.head >= at {
                return stop_reader(r, ck, how);
            }
        }
        if ck.cfg.self_cancel && !ck.self_cancel_pending && ck.rng.one_in(10) {
            ck.me.cancel_pending_read();
            ck.self_cancel_pending = true;
            ck.self_cancels += 1;
        }
        if ck.rng.one_in(64) {
            // A minimum above the capacity is refused at once (and consumes no cancel).
            let too_big = ck.lim.capacity + 1;
            match poll_noop(r.read_at_least(too_big)).map(|x| x.map(|_| ())) {
                Some(Err(ReadError::MinimumTooLarge { minimum, capacity }))
                    if minimum == too_big && capacity == ck.lim.capacity => {}
                other => return Err(format!("read_at_least({too_big}) gave {other:?}")),
            }
        }
        let need = ck.pick_need(style);
        match read_once(&mut r, &mut ck, style, need).await? {
            Act::Failed(e) => return after_failure(r, ck, style, e).await,
            Act::Advance {
                consumed,
                examined,
                c,
                e,
                done,
                ..
            } => {
                r.advance_to(consumed, examined).map_err(|err| {
                    format!(
                        "advance_to({consumed:?}, {examined:?}): {err:?}, {}",
                        ck.at()
                    )
                })?;
                ck.advanced(c, e);
                if done {
                    return after_done(r, ck, style).await;
                }
            }
        }
        if style == Style::Tokio && ck.rng.one_in(16) {
            tokio::task::yield_now().await;
        }
    }
}

/// The stream is over and consumed: later reads report completion with nothing in them, and
/// the writer's completion resolves.
async fn after_done(
    mut r: PipeReader,
    mut ck: Checker,
    style: Style,
) -> Result<ReaderReport, String> {
    if ck.head != ck.cfg.total {
        return Err(format!(
            "stream ended after {} of {} bytes",
            ck.head, ck.cfg.total
        ));
    }
    ck.phase(Phase::Read, 0);
    let (len, completed) = match style {
        Style::Spin => match r.try_read() {
            Ok(Some(res)) => (res.buffer().len(), res.is_completed()),
            other => {
                return Err(format!(
                    "try_read after the end: {:?}",
                    other.map(|x| x.map(|_| ()))
                ))
            }
        },
        Style::Blocking => match r.read_blocking() {
            Ok(res) => (res.buffer().len(), res.is_completed()),
            Err(e) => return Err(format!("read_blocking after the end: {e:?}")),
        },
        Style::Mini | Style::Tokio => match r.read().await {
            Ok(res) => (res.buffer().len(), res.is_completed()),
            Err(e) => return Err(format!("read after the end: {e:?}")),
        },
    };
    if len != 0 || !completed {
        return Err(format!(
            "read after the end: {len} bytes, completed {completed}"
        ));
    }
    ck.phase(Phase::WaitCompletion, 0);
    if let Err(e) = r.writer_completion().await {
        return Err(format!("writer_completion after the end: Err({e})"));
    }
    if !r.is_writer_completed() {
        return Err("is_writer_completed() is false after the end".into());
    }
    if ck.rng.one_in(2) {
        r.complete();
    }
    ck.phase(Phase::Done, 0);
    Ok(ck.report())
}

/// The writer failed: every later call reports the very same error.
async fn after_failure(
    mut r: PipeReader,
    mut ck: Checker,
    style: Style,
    e1: CompletionError,
) -> Result<ReaderReport, String> {
    ck.phase(Phase::Read, 0);
    let again = match style {
        Style::Spin => r.try_read().err(),
        Style::Blocking => r.read_at_least_blocking(1).err(),
        Style::Mini | Style::Tokio => r.read().await.err(),
    };
    match again {
        Some(ReadError::WriterFailed(e2)) if Arc::ptr_eq(&e1, &e2) => {}
        other => return Err(format!("second read after WriterFailed: {other:?}")),
    }
    ck.phase(Phase::WaitCompletion, 0);
    match r.writer_completion().await {
        Err(e3) if Arc::ptr_eq(&e1, &e3) => {}
        other => {
            return Err(format!(
                "writer_completion after WriterFailed: {:?}",
                other.map_err(|e| e.to_string())
            ))
        }
    }
    if ck.head > ck.cfg.total {
        return Err(format!("consumed {} of {} bytes", ck.head, ck.cfg.total));
    }
    if ck.rng.one_in(2) {
        r.complete();
    }
    ck.phase(Phase::Done, 0);
    Ok(ck.report())
}

fn stop_reader(mut r: PipeReader, ck: Checker, how: Stop) -> Result<ReaderReport, String> {
    ck.phase(Phase::Completing, 0);
    match how {
        Stop::Complete => {
            r.complete();
            if !r.is_completed() {
                return Err("is_completed() is false after complete()".into());
            }
            match r.try_read() {
                Err(ReadError::ReaderCompleted) => {}
                other => {
                    return Err(format!(
                        "try_read after complete: {:?}",
                        other.map(|x| x.map(|_| ()))
                    ))
                }
            }
        }
        Stop::Fail => r.complete_with_error(TestError {
            id: ck.cfg.error_id(),
        }),
        Stop::Drop => drop(r),
    }
    ck.phase(Phase::Done, 0);
    Ok(ck.report())
}

// ---------------------------------------------------------------------------------------------
// One run: two sides, a canceller, a watchdog.

enum Done {
    Writer(Result<WriterReport, String>),
    Reader(Result<ReaderReport, String>),
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}

fn spawn_side<T: Send + 'static>(
    name: &str,
    tx: mpsc::Sender<Done>,
    wrap: fn(Result<T, String>) -> Done,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> JoinHandle<()> {
    thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(f))
                .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(&*p))));
            let _ = tx.send(wrap(r));
        })
        .expect("spawn")
}

fn spawn_canceller(c: PipeCanceller, watch: Arc<Watch>, seed: u64) -> JoinHandle<()> {
    thread::Builder::new()
        .name("stress canceller".into())
        .spawn(move || {
            let mut rng = Rng::new(seed ^ 0xCA9C_E100);
            let mut n = 0;
            while !watch.stop.load(Relaxed) {
                if cfg!(miri) {
                    // A few cancels, at random points of the run.
                    if n >= 4 {
                        break;
                    }
                    for _ in 0..rng.range(1, 30) {
                        thread::yield_now();
                    }
                } else if rng.one_in(4) {
                    thread::yield_now();
                } else {
                    thread::sleep(Duration::from_micros(rng.range(0, 400) as u64));
                }
                // Count first, so that "seen <= issued" holds whenever it is checked.
                match rng.below(3) {
                    0 => {
                        watch.cancel_reads.fetch_add(1, Relaxed);
                        c.cancel_pending_read();
                    }
                    1 => {
                        watch.cancel_flushes.fetch_add(1, Relaxed);
                        c.cancel_pending_flush();
                    }
                    _ => {
                        watch.cancel_reads.fetch_add(1, Relaxed);
                        watch.cancel_flushes.fetch_add(1, Relaxed);
                        c.cancel_pending_read();
                        c.cancel_pending_flush();
                    }
                }
                n += 1;
            }
        })
        .expect("spawn")
}

#[derive(Default)]
struct Stats {
    runs: u64,
    bytes: u64,
    reads: u64,
    read_cancels: u64,
    flush_cancels: u64,
    issued: u64,
    self_cancels: u64,
    ends: [u64; 4],
}

struct Env<'a> {
    mode: Mode,
    shared: &'a mut HashMap<usize, ChunkPool>,
    rt: Option<&'a tokio::runtime::Runtime>,
}

fn style_of(mode: Mode) -> Style {
    match mode {
        Mode::Spin => Style::Spin,
        Mode::Blocking => Style::Blocking,
        Mode::Tokio => Style::Tokio,
        Mode::Mini => Style::Mini,
    }
}

fn run_one(env: &mut Env<'_>, cfg: &RunCfg, stats: &mut Stats) -> Result<(), String> {
    let (opts, pool, _guard) = build_options(cfg, env.shared);
    let lim = Limits::new(&opts, cfg.seed, cfg.held);
    let global = _guard.is_some();
    run_pipe(env, cfg, opts, &pool, lim, stats).map_err(|e| {
        if global {
            GLOBAL_POOLS_TAINTED.store(true, Relaxed);
        }
        format!("{e}\n  limits: {lim:?}")
    })
}

fn run_pipe(
    env: &mut Env<'_>,
    cfg: &RunCfg,
    opts: PipeOptions,
    pool: &ChunkPool,
    lim: Limits,
    stats: &mut Stats,
) -> Result<(), String> {
    let in_use_before = pool.in_use();
    if in_use_before != 0 {
        return Err(format!(
            "the pool has {in_use_before} chunks in use before the run"
        ));
    }
    let (w, r) = ringpipe::pipe(opts);
    let watch = Arc::new(Watch::default());
    let observer = r.canceller();
    let style = style_of(env.mode);
    let writer = WriterSide::new(w, *cfg, lim, style, watch.clone());
    let ck = Checker::new(&r, *cfg, lim, watch.clone());
    let canceller = cfg
        .canceller
        .then(|| spawn_canceller(r.canceller(), watch.clone(), cfg.seed));
    let (tx, rx) = mpsc::channel::<Done>();
    let mut threads = Vec::new();
    match env.mode {
        Mode::Tokio => {
            let rt = env.rt.expect("a runtime");
            let hw = rt.spawn(writer.run());
            let hr = rt.spawn(run_reader(r, ck, style));
            let txw = tx.clone();
            rt.spawn(async move {
                let out = hw
                    .await
                    .unwrap_or_else(|e| Err(format!("writer task: {e}")));
                let _ = txw.send(Done::Writer(out));
            });
            let txr = tx.clone();
            rt.spawn(async move {
                let out = hr
                    .await
                    .unwrap_or_else(|e| Err(format!("reader task: {e}")));
                let _ = txr.send(Done::Reader(out));
            });
        }
        Mode::Mini if cfg.join => {
            let tx = tx.clone();
            threads.push(
                thread::Builder::new()
                    .name("stress writer+reader".into())
                    .spawn(move || {
                        match catch_unwind(AssertUnwindSafe(|| {
                            block_on_both(writer.run(), run_reader(r, ck, style))
                        })) {
                            Ok((a, b)) => {
                                let _ = tx.send(Done::Writer(a));
                                let _ = tx.send(Done::Reader(b));
                            }
                            Err(p) => {
                                let msg = format!("panicked: {}", panic_message(&*p));
                                let _ = tx.send(Done::Writer(Err(msg.clone())));
                                let _ = tx.send(Done::Reader(Err(msg)));
                            }
                        }
                    })
                    .expect("spawn"),
            );
        }
        _ => {
            threads.push(spawn_side(
                "stress writer",
                tx.clone(),
                Done::Writer,
                move || block_on(writer.run()),
            ));
            threads.push(spawn_side(
                "stress reader",
                tx.clone(),
                Done::Reader,
                move || block_on(run_reader(r, ck, style)),
            ));
        }
    }
    drop(tx);

    // The watchdog: wait for both sides while they make progress.
    let (mut wrep, mut rrep) = (None, None);
    // Which side reported first (the other side's error may only follow from it).
    let mut writer_first = None;
    let mut last_ops = u64::MAX;
    let mut last_change = Instant::now();
    let tick = Duration::from_millis(if cfg!(miri) { 500 } else { 20 });
    while wrep.is_none() || rrep.is_none() {
        match rx.recv_timeout(tick) {
            Ok(Done::Writer(x)) => {
                writer_first.get_or_insert(true);
                wrep = Some(x);
            }
            Ok(Done::Reader(x)) => {
                writer_first.get_or_insert(false);
                rrep = Some(x);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                watch.stop.store(true, Relaxed);
                return Err("a side ended without reporting".into());
            }
        }
        let ops = watch.writer.ops.load(Relaxed) + watch.reader.ops.load(Relaxed);
        if ops != last_ops {
            last_ops = ops;
            last_change = Instant::now();
        } else if last_change.elapsed() > STALL {
            watch.stop.store(true, Relaxed);
            let side = |done: bool, w: &SideWatch| {
                if done {
                    "finished".to_string()
                } else {
                    w.describe()
                }
            };
            return Err(format!(
                "no progress for {STALL:?} (hung: lost wake-up or undetected deadlock?)\n    \
                 writer: {}\n    reader: {} (examined {})\n    writer completed {}, reader \
                 completed {}, pool in use {}, cancels issued: {} reads, {} flushes",
                side(wrep.is_some(), &watch.writer),
                side(rrep.is_some(), &watch.reader),
                watch.examined.load(Relaxed),
                observer.is_writer_completed(),
                observer.is_reader_completed(),
                pool.in_use(),
                watch.cancel_reads.load(Relaxed),
                watch.cancel_flushes.load(Relaxed),
            ));
        }
    }
    watch.stop.store(true, Relaxed);
    for t in threads {
        t.join().map_err(|_| "a side thread panicked".to_string())?;
    }
    if let Some(t) = canceller {
        t.join().map_err(|_| "the canceller panicked".to_string())?;
    }
    drop(observer);

    let (wres, rres) = (wrep.expect("writer"), rrep.expect("reader"));
    let mut failures = String::new();
    let (wn, rn) = match (cfg.join, writer_first) {
        // Both futures ran on one thread and reported together.
        (true, _) => ("", ""),
        (false, Some(true)) => (" (reported first)", " (reported second)"),
        (false, _) => (" (reported second)", " (reported first)"),
    };
    if let Err(e) = &wres {
        let _ = write!(failures, "\n    writer{wn}: {e}");
    }
    if let Err(e) = &rres {
        let _ = write!(failures, "\n    reader{rn}: {e}");
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    let (wr, rr) = (wres.expect("ok"), rres.expect("ok"));
    match cfg.end {
        End::Complete | End::Drop => {
            if rr.consumed != wr.written || wr.written != cfg.total || rr.checksum != wr.checksum {
                return Err(format!(
                    "writer wrote {} bytes (checksum {:#x}), reader consumed {} (checksum \
                     {:#x}), stream of {}",
                    wr.written, wr.checksum, rr.consumed, rr.checksum, cfg.total
                ));
            }
        }
        End::WriterFails => {
            if rr.consumed > wr.written || wr.written != cfg.total {
                return Err(format!(
                    "writer wrote {} bytes, reader consumed {}, stream of {}",
                    wr.written, rr.consumed, cfg.total
                ));
            }
        }
        End::ReaderStops { at, .. } => {
            if rr.consumed < at {
                return Err(format!("reader stopped at {} < {at}", rr.consumed));
            }
        }
    }
    let (ir, ifl) = (
        watch.cancel_reads.load(Relaxed),
        watch.cancel_flushes.load(Relaxed),
    );
    if rr.read_cancels > ir + rr.self_cancels || wr.flush_cancels > ifl + wr.self_cancels {
        return Err(format!(
            "more cancels seen than issued: reads {} > {ir} + {}, flushes {} > {ifl} + {}",
            rr.read_cancels, rr.self_cancels, wr.flush_cancels, wr.self_cancels
        ));
    }
    // Both halves are gone: every chunk is back.
    if pool.in_use() != 0 {
        return Err(format!(
            "{} chunks still in use after both halves were dropped",
            pool.in_use()
        ));
    }
    if let PoolKind::Private(retained) = cfg.pool {
        // A pipe never holds more chunks than it has slots (open ones and spares, `chunks.rs`),
        // and a pool that retains more never frees one: so it never allocated more than one
        // beyond (a spare the reader is giving back while the writer takes a new one).
        if retained > lim.slots && pool.allocated() > lim.slots + 1 {
            return Err(format!(
                "the pool allocated {} chunks for a ring of {} slots (+ 1 in transit)",
                pool.allocated(),
                lim.slots
            ));
        }
    }
    stats.runs += 1;
    stats.bytes += rr.consumed;
    stats.reads += rr.reads;
    stats.read_cancels += rr.read_cancels;
    stats.flush_cancels += wr.flush_cancels;
    stats.issued += ir + ifl;
    stats.self_cancels += rr.self_cancels + wr.self_cancels;
    stats.ends[match cfg.end {
        End::Complete => 0,
        End::Drop => 1,
        End::WriterFails => 2,
        End::ReaderStops { .. } => 3,
    }] += 1;
    Ok(())
}

fn stress(mode: Mode, test: &str) {
    let master = master_seed();
    let run_seed = env_u64("RINGPIPE_STRESS_RUN_SEED");
    let budget = budget();
    let salt = match mode {
        Mode::Spin => 0x5350_494E,
        Mode::Blocking => 0x424C_4F43,
        Mode::Tokio => 0x544F_4B49,
        Mode::Mini => 0x4D49_4E49,
    };
    let rt = (mode == Mode::Tokio).then(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .expect("tokio runtime")
    });
    let mut shared = HashMap::new();
    let mut env = Env {
        mode,
        shared: &mut shared,
        rt: rt.as_ref(),
    };
    let mut stats = Stats::default();
    let start = Instant::now();
    let mut i = 0u64;
    loop {
        let more = if cfg!(miri) {
            i < MIRI_RUNS
        } else {
            i == 0 || start.elapsed() < budget
        };
        if !more {
            break;
        }
        let seed = run_seed.unwrap_or_else(|| splitmix64(master ^ salt ^ i.wrapping_mul(0x9E37)));
        let cfg = RunCfg::random(seed, mode);
        if let Err(msg) = run_one(&mut env, &cfg, &mut stats) {
            panic!(
                "[{mode:?}] run {i} failed: {msg}\n  config: {cfg:?}\n  master seed {master:#x}, \
                 run seed {seed:#x}\n  reproduce: RINGPIPE_STRESS_RUN_SEED={seed:#x} cargo test \
                 --test stress {test} -- --nocapture\n  (or RINGPIPE_STRESS_SEED={master:#x} to \
                 replay this test's sequence of runs)"
            );
        }
        i += 1;
    }
    let e = stats.ends;
    eprintln!(
        "stress {mode:?}: {} runs (complete {}, drop {}, writer fails {}, reader stops {}), \
         {} bytes, {} reads, cancels seen {} reads + {} flushes ({} issued by the canceller, \
         {} by the sides), {:.1} s, seed {master:#x}",
        stats.runs,
        e[0],
        e[1],
        e[2],
        e[3],
        stats.bytes,
        stats.reads,
        stats.read_cancels,
        stats.flush_cancels,
        stats.issued,
        stats.self_cancels,
        start.elapsed().as_secs_f64(),
    );
}

#[test]
fn stress_spin() {
    stress(Mode::Spin, "stress_spin");
}

#[test]
fn stress_blocking() {
    stress(Mode::Blocking, "stress_blocking");
}

#[test]
#[cfg_attr(miri, ignore = "tokio's runtime is not run under Miri")]
fn stress_async_tokio() {
    stress(Mode::Tokio, "stress_async_tokio");
}

#[test]
fn stress_async_minimal_executor() {
    stress(Mode::Mini, "stress_async_minimal_executor");
}
