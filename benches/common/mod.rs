//! Workloads shared by the criterion benches (`benches/*.rs`), the comparison report
//! (`examples/bench_report.rs`) and the throughput demo (`examples/throughput.rs`), so that all
//! three measure exactly the same thing.
//!
//! * Every byte is verified: the producer writes a position-based pattern (byte `p` of the
//!   stream is `p % 251`), the consumer compares everything it receives against the pattern at
//!   its stream position, in place where the peer's API allows it (ringpipe, rtrb, bbqueue,
//!   piper, async-ringbuf), after copying out where it does not (ringbuf's `pop_slice`, OS pipe,
//!   socketpair, `tokio::io::duplex`), and checks the byte count.
//! * The producer runs on core 0 and the consumer on core 1 (`pin`), except in the one-core
//!   async mode.
//! * Each peer is wrapped in the same small trait (`SpinTx`/`SpinRx`, `BlockTx`/`BlockRx`,
//!   `AsyncTx`/`AsyncRx`) and driven by the same generic loop, monomorphised per peer.

#![allow(dead_code)]

pub mod cross_process;
#[macro_use]
mod ringpipe_adapter;
pub mod peers;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Configuration

/// `RINGPIPE_BENCH_QUICK=1`: smaller volumes and shorter criterion runs.
pub fn quick() -> bool {
    std::env::var("RINGPIPE_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The write sizes of every streaming cell.
pub const SIZES: [usize; 3] = [64, 1 << 10, 16 << 10];
/// The ring capacities of every streaming cell.
pub const CAPS: [usize; 2] = [64 << 10, 1 << 20];
/// The message of the ping-pong benches.
pub const PING: usize = 64;
/// `spin_before_park` for the "ringpipe+spin" variants of the blocking and async benches.
pub const SPIN: u32 = 4000;

/// Bytes streamed per criterion iteration for a write size.
pub fn iter_bytes(size: usize) -> u64 {
    let base: u64 = match size {
        s if s < 1024 => 2 << 20,
        s if s < 16384 => 8 << 20,
        _ => 16 << 20,
    };
    if quick() {
        base / 2
    } else {
        base
    }
}

/// "64 B", "1 KiB", "1 MiB".
pub fn human(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

// ---------------------------------------------------------------------------------------------
// Threads

/// Number of CPUs this process may run on.
pub fn ncpus() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Pins the calling thread to `core` (modulo the number of CPUs). Best effort.
pub fn pin(core: usize) {
    #[cfg(target_os = "linux")]
    {
        let core = core % ncpus();
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it;
        // sched_setaffinity(0, ...) only reads it and affects the calling thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = core;
}

/// Producer core and consumer core.
pub const CORE_TX: usize = 0;
pub const CORE_RX: usize = 1;

// ---------------------------------------------------------------------------------------------
// The pattern and its checker

/// The pattern's period: prime, so that no write size is a multiple of it.
pub const PERIOD: usize = 251;
/// The largest message the pattern can serve in one slice.
pub const MAX_MSG: usize = 64 << 10;
const PAT_LEN: usize = PERIOD + MAX_MSG;
/// Verification compares at most this many bytes at a time, so the pattern stays in L1.
const BLOCK: usize = 8 << 10;

static PAT: [u8; PAT_LEN] = make_pattern();

const fn make_pattern() -> [u8; PAT_LEN] {
    let mut a = [0u8; PAT_LEN];
    let mut i = 0;
    while i < PAT_LEN {
        a[i] = (i % PERIOD) as u8;
        i += 1;
    }
    a
}

/// The `n` pattern bytes at stream position `pos` (`n <= MAX_MSG`).
#[inline(always)]
pub fn src(pos: u64, n: usize) -> &'static [u8] {
    let off = (pos % PERIOD as u64) as usize;
    &PAT[off..off + n]
}

/// Checks `s` against the pattern at stream position `pos`.
#[inline]
pub fn verify(s: &[u8], pos: u64) {
    let mut off = (pos % PERIOD as u64) as usize;
    let mut done = 0;
    for piece in s.chunks(BLOCK) {
        if piece != &PAT[off..off + piece.len()] {
            let i = piece
                .iter()
                .zip(&PAT[off..])
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "stream corrupted at byte {}: got {}, expected {}",
                pos + (done + i) as u64,
                piece[i],
                PAT[off + i]
            );
        }
        done += piece.len();
        off = (off + piece.len()) % PERIOD;
    }
}

/// Latency stamps embedded in the stream: every `period` bytes (a multiple of the message
/// size), the first 8 bytes of the message are the producer's clock (ns since `base`) instead
/// of the pattern.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub base: Instant,
    pub period: u64,
}

/// Nanoseconds since `base`.
#[inline]
pub fn ns_since(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

/// Whether the streaming consumers verify by checksum (see [`verify_by_checksum`]).
static BY_CHECKSUM: AtomicBool = AtomicBool::new(false);

/// How the streaming consumers (not the ping-pongs) verify what they receive from now on:
/// `false` (the default) compares every byte with the pattern at its position as it arrives
/// (`memcmp` in pieces of at most 8 KiB); `true` folds every byte, rotated by its stream
/// position, into a checksum that is compared with the pattern's at the end of the stream,
/// as an independent measurement of the peers did. Both catch a lost, duplicated or moved
/// byte (the checksum with high probability); they cost the consumer differently.
pub fn verify_by_checksum(on: bool) {
    BY_CHECKSUM.store(on, Ordering::Relaxed);
}

/// The position-aware checksum of `s` starting at stream position `pos`, folded into `acc`.
#[inline]
fn fold(mut acc: u64, s: &[u8], pos: u64) -> u64 {
    for (i, &b) in s.iter().enumerate() {
        acc ^= u64::from(b).rotate_left(((pos + i as u64) & 63) as u32);
    }
    acc
}

/// The checksum of the first `total` bytes of the pattern. The pattern's period (251) and the
/// rotation's (64) repeat together every 16 064 bytes, so whole repeats cancel in pairs.
fn pattern_checksum(total: u64) -> u64 {
    const REPEAT: u64 = 251 * 64;
    let one = (0..REPEAT).fold(0, |acc, p| fold(acc, &[(p % 251) as u8], p));
    let mut acc = if (total / REPEAT) % 2 == 1 { one } else { 0 };
    let rest = total % REPEAT;
    acc = (0..rest).fold(acc, |acc, p| fold(acc, &[(p % 251) as u8], p));
    acc
}

/// The consumer's side: verifies every byte at its position and counts them; with stamps,
/// records the latency of every stamped message.
pub struct Checker {
    pub pos: u64,
    stamp: Option<Stamp>,
    acc: [u8; 8],
    last_stamp: u64,
    pub latencies_ns: Vec<u64>,
    /// Some(checksum so far) when verifying by checksum.
    sum: Option<u64>,
}

impl Checker {
    pub fn new(stamp: Option<Stamp>) -> Checker {
        Checker {
            pos: 0,
            stamp,
            acc: [0; 8],
            last_stamp: 0,
            latencies_ns: Vec::new(),
            sum: None,
        }
    }

    /// Verifies the next `s.len()` bytes of the stream.
    #[inline]
    pub fn check(&mut self, s: &[u8]) {
        match (self.stamp, self.sum) {
            (None, None) => {
                verify(s, self.pos);
                self.pos += s.len() as u64;
            }
            (None, Some(sum)) => {
                self.sum = Some(fold(sum, s, self.pos));
                self.pos += s.len() as u64;
            }
            (Some(st), _) => self.check_stamped(s, st),
        }
    }

    /// At the end of the stream: a checksum must match the pattern's.
    pub fn finish(&self) {
        if let Some(sum) = self.sum {
            assert_eq!(sum, pattern_checksum(self.pos), "stream checksum");
        }
    }

    fn check_stamped(&mut self, mut s: &[u8], st: Stamp) {
        while !s.is_empty() {
            let at = self.pos % st.period;
            if at < 8 {
                let k = ((8 - at) as usize).min(s.len());
                self.acc[at as usize..at as usize + k].copy_from_slice(&s[..k]);
                self.pos += k as u64;
                s = &s[k..];
                if at as usize + k == 8 {
                    let now = ns_since(st.base);
                    let t = u64::from_le_bytes(self.acc);
                    assert!(
                        t <= now && t >= self.last_stamp,
                        "bad stamp {t} at byte {} (now {now}, last {})",
                        self.pos - 8,
                        self.last_stamp
                    );
                    self.last_stamp = t;
                    self.latencies_ns.push(now - t);
                }
            } else {
                let k = ((st.period - at) as usize).min(s.len());
                verify(&s[..k], self.pos);
                self.pos += k as u64;
                s = &s[k..];
            }
        }
    }
}

/// What a stream moves.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Bytes per write.
    pub size: usize,
    /// Bytes in all.
    pub total: u64,
    pub stamp: Option<Stamp>,
    /// The consumer stores its verified byte count here as it goes.
    pub progress: Option<Arc<AtomicU64>>,
}

impl Spec {
    pub fn plain(size: usize, total: u64) -> Spec {
        assert!(
            size > 0 && size <= MAX_MSG,
            "write size must be 1..={MAX_MSG}"
        );
        Spec {
            size,
            total,
            stamp: None,
            progress: None,
        }
    }

    /// The message at `pos` (`n` bytes): the pattern, stamped if it is due.
    #[inline(always)]
    fn message<'b>(&self, pos: u64, n: usize, scratch: &'b mut [u8]) -> &'b [u8] {
        match self.stamp {
            Some(st) if pos % st.period == 0 && n >= 8 => {
                scratch[..n].copy_from_slice(src(pos, n));
                scratch[..8].copy_from_slice(&ns_since(st.base).to_le_bytes());
                &scratch[..n]
            }
            _ => src(pos, n),
        }
    }

    fn checker(&self) -> Checker {
        if let Some(st) = self.stamp {
            assert!(
                st.period % self.size as u64 == 0 && self.size >= 8,
                "stamp period must be a multiple of the write size"
            );
        }
        let mut chk = Checker::new(self.stamp);
        if self.stamp.is_none() && BY_CHECKSUM.load(Ordering::Relaxed) {
            chk.sum = Some(0);
        }
        chk
    }

    #[inline]
    fn report(&self, chk: &Checker) {
        if let Some(p) = &self.progress {
            p.store(chk.pos, Ordering::Relaxed);
        }
    }
}

/// The result of one stream.
#[derive(Clone, Debug)]
pub struct Run {
    /// From the producer's first write to the consumer's last verified byte.
    pub elapsed: Duration,
    pub bytes: u64,
    pub latencies_ns: Vec<u64>,
}

impl Run {
    pub fn gbps(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64() / 1e9
    }
}

// ---------------------------------------------------------------------------------------------
// The three ways to move bytes

/// Non-blocking producer.
pub trait SpinTx: Send {
    /// Writes a prefix of `src` if there is room (all of it for the peers that grant
    /// contiguous memory of a requested size); returns how many bytes, 0 if none.
    fn try_send(&mut self, src: &[u8]) -> usize;
}

/// Non-blocking consumer.
pub trait SpinRx: Send {
    /// Verifies and consumes what is available; returns how many bytes, 0 if none.
    fn try_recv(&mut self, chk: &mut Checker) -> usize;
}

/// Blocking producer.
pub trait BlockTx: Send {
    /// Writes all of `src`, waiting for room.
    fn send(&mut self, src: &[u8]);
}

/// Blocking consumer.
pub trait BlockRx: Send {
    /// Waits for data, verifies and consumes it; returns how many bytes (0: closed).
    fn recv(&mut self, chk: &mut Checker) -> usize;
}

/// Async producer.
pub trait AsyncTx: Send + 'static {
    fn send<'a>(&'a mut self, src: &'a [u8]) -> impl Future<Output = ()> + Send + 'a;
}

/// Async consumer.
pub trait AsyncRx: Send + 'static {
    fn recv<'a>(&'a mut self, chk: &'a mut Checker) -> impl Future<Output = usize> + Send + 'a;
}

// ---------------------------------------------------------------------------------------------
// Streaming drivers

#[inline]
fn send_spin<T: SpinTx>(tx: &mut T, msg: &[u8]) {
    let mut sent = 0;
    while sent < msg.len() {
        let k = tx.try_send(&msg[sent..]);
        if k == 0 {
            std::hint::spin_loop();
        }
        sent += k;
    }
}

/// Two pinned threads, busy-polling.
pub fn spin_stream<T: SpinTx, R: SpinRx>(mut tx: T, mut rx: R, spec: &Spec) -> Run {
    let barrier = &Barrier::new(2);
    thread::scope(|s| {
        let p = s.spawn(move || {
            pin(CORE_TX);
            let mut scratch = vec![0u8; spec.size];
            barrier.wait();
            let t0 = Instant::now();
            let mut pos = 0u64;
            while pos < spec.total {
                let n = (spec.total - pos).min(spec.size as u64) as usize;
                let msg = spec.message(pos, n, &mut scratch);
                send_spin(&mut tx, msg);
                pos += n as u64;
            }
            drop(tx);
            t0
        });
        let c = s.spawn(move || {
            pin(CORE_RX);
            let mut chk = spec.checker();
            barrier.wait();
            while chk.pos < spec.total {
                if rx.try_recv(&mut chk) == 0 {
                    std::hint::spin_loop();
                } else {
                    spec.report(&chk);
                }
            }
            let t1 = Instant::now();
            assert_eq!(chk.pos, spec.total, "byte count");
            chk.finish();
            (t1, chk.latencies_ns)
        });
        let t0 = p.join().expect("producer panicked");
        let (t1, latencies_ns) = c.join().expect("consumer panicked");
        Run {
            elapsed: t1 - t0,
            bytes: spec.total,
            latencies_ns,
        }
    })
}

/// Two pinned threads, blocking calls.
pub fn blocking_stream<T: BlockTx, R: BlockRx>(mut tx: T, mut rx: R, spec: &Spec) -> Run {
    let barrier = &Barrier::new(2);
    thread::scope(|s| {
        let p = s.spawn(move || {
            pin(CORE_TX);
            let mut scratch = vec![0u8; spec.size];
            barrier.wait();
            let t0 = Instant::now();
            let mut pos = 0u64;
            while pos < spec.total {
                let n = (spec.total - pos).min(spec.size as u64) as usize;
                tx.send(spec.message(pos, n, &mut scratch));
                pos += n as u64;
            }
            drop(tx);
            t0
        });
        let c = s.spawn(move || {
            pin(CORE_RX);
            let mut chk = spec.checker();
            barrier.wait();
            while chk.pos < spec.total {
                assert!(rx.recv(&mut chk) > 0, "closed early at {}", chk.pos);
                spec.report(&chk);
            }
            let t1 = Instant::now();
            assert_eq!(chk.pos, spec.total, "byte count");
            chk.finish();
            (t1, chk.latencies_ns)
        });
        let t0 = p.join().expect("producer panicked");
        let (t1, latencies_ns) = c.join().expect("consumer panicked");
        Run {
            elapsed: t1 - t0,
            bytes: spec.total,
            latencies_ns,
        }
    })
}

/// Where the two async tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncMode {
    /// Two `current_thread` runtimes on two pinned threads: the tasks are on different cores.
    Cross,
    /// One multi-thread runtime with two pinned workers; the scheduler places the tasks.
    Multi,
    /// One `current_thread` runtime on one core: both tasks share it.
    Single,
}

impl AsyncMode {
    pub const ALL: [AsyncMode; 3] = [AsyncMode::Cross, AsyncMode::Multi, AsyncMode::Single];

    pub fn name(self) -> &'static str {
        match self {
            AsyncMode::Cross => "x2",
            AsyncMode::Multi => "mt2",
            AsyncMode::Single => "ct1",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            AsyncMode::Cross => {
                "two tokio current_thread runtimes on two pinned threads (tasks on different cores)"
            }
            AsyncMode::Multi => {
                "one tokio multi-thread runtime, 2 pinned workers (tokio places the tasks)"
            }
            AsyncMode::Single => "one tokio current_thread runtime on one core (both tasks)",
        }
    }
}

async fn produce_async<T: AsyncTx>(mut tx: T, spec: Spec) -> Instant {
    let mut scratch = vec![0u8; spec.size];
    let t0 = Instant::now();
    let mut pos = 0u64;
    while pos < spec.total {
        let n = (spec.total - pos).min(spec.size as u64) as usize;
        let msg = spec.message(pos, n, &mut scratch);
        tx.send(msg).await;
        pos += n as u64;
    }
    drop(tx);
    t0
}

async fn consume_async<R: AsyncRx>(mut rx: R, spec: Spec) -> (Instant, Vec<u64>) {
    let mut chk = spec.checker();
    while chk.pos < spec.total {
        assert!(rx.recv(&mut chk).await > 0, "closed early at {}", chk.pos);
        spec.report(&chk);
    }
    let t1 = Instant::now();
    assert_eq!(chk.pos, spec.total, "byte count");
    chk.finish();
    (t1, chk.latencies_ns)
}

fn current_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

fn multi_thread_rt() -> tokio::runtime::Runtime {
    let next = Arc::new(AtomicU64::new(0));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(move || pin(next.fetch_add(1, Ordering::Relaxed) as usize))
        .build()
        .expect("tokio runtime")
}

/// Runs two futures as two tasks, placed as `mode` says; returns their outputs.
pub fn run_pair<A, B>(mode: AsyncMode, a: A, b: B) -> (A::Output, B::Output)
where
    A: Future + Send + 'static,
    B: Future + Send + 'static,
    A::Output: Send + 'static,
    B::Output: Send + 'static,
{
    match mode {
        AsyncMode::Cross => {
            let barrier = &Barrier::new(2);
            thread::scope(|s| {
                let ha = s.spawn(move || {
                    pin(CORE_TX);
                    let rt = current_thread_rt();
                    barrier.wait();
                    rt.block_on(a)
                });
                let hb = s.spawn(move || {
                    pin(CORE_RX);
                    let rt = current_thread_rt();
                    barrier.wait();
                    rt.block_on(b)
                });
                (ha.join().expect("task a"), hb.join().expect("task b"))
            })
        }
        AsyncMode::Multi => {
            let rt = multi_thread_rt();
            rt.block_on(async move {
                let hb = tokio::spawn(b);
                let ha = tokio::spawn(a);
                (ha.await.expect("task a"), hb.await.expect("task b"))
            })
        }
        AsyncMode::Single => thread::scope(|s| {
            s.spawn(move || {
                pin(CORE_TX);
                let rt = current_thread_rt();
                rt.block_on(async move {
                    let hb = tokio::spawn(b);
                    let ha = tokio::spawn(a);
                    (ha.await.expect("task a"), hb.await.expect("task b"))
                })
            })
            .join()
            .expect("runtime thread")
        }),
    }
}

/// Two async tasks, placed as `mode` says.
pub fn async_stream<T: AsyncTx, R: AsyncRx>(mode: AsyncMode, tx: T, rx: R, spec: &Spec) -> Run {
    let (t0, (t1, latencies_ns)) = run_pair(
        mode,
        produce_async(tx, spec.clone()),
        consume_async(rx, spec.clone()),
    );
    Run {
        elapsed: t1 - t0,
        bytes: spec.total,
        latencies_ns,
    }
}

// ---------------------------------------------------------------------------------------------
// Ping-pong: a 64-byte message goes A -> B through one pipe and comes back through another.

/// Round trips: the total time and, if recorded, each trip's time.
#[derive(Clone, Debug, Default)]
pub struct Trips {
    pub total: Duration,
    pub trips: usize,
    pub latencies_ns: Vec<u64>,
}

impl Trips {
    fn new(total: Duration, trips: usize, latencies_ns: Vec<u64>) -> Trips {
        Trips {
            total,
            trips,
            latencies_ns,
        }
    }
}

/// Spinning ping-pong: A sends on `a.0` and receives on `a.1`; B echoes.
pub fn pingpong_spin<T1, R1, T2, R2>(a: (T1, R2), b: (R1, T2), trips: usize, record: bool) -> Trips
where
    T1: SpinTx,
    R1: SpinRx,
    T2: SpinTx,
    R2: SpinRx,
{
    let barrier = &Barrier::new(2);
    thread::scope(|s| {
        let ha = s.spawn(move || {
            let (mut tx, mut rx) = a;
            pin(CORE_TX);
            let mut chk = Checker::new(None);
            let mut lat = Vec::with_capacity(if record { trips } else { 0 });
            barrier.wait();
            let start = Instant::now();
            for i in 0..trips as u64 {
                let t0 = if record { Some(Instant::now()) } else { None };
                send_spin(&mut tx, src(i * PING as u64, PING));
                while chk.pos < (i + 1) * PING as u64 {
                    if rx.try_recv(&mut chk) == 0 {
                        std::hint::spin_loop();
                    }
                }
                if let Some(t0) = t0 {
                    lat.push(t0.elapsed().as_nanos() as u64);
                }
            }
            let total = start.elapsed();
            assert_eq!(chk.pos, (trips * PING) as u64);
            Trips::new(total, trips, lat)
        });
        let hb = s.spawn(move || {
            let (mut rx, mut tx) = b;
            pin(CORE_RX);
            let mut chk = Checker::new(None);
            barrier.wait();
            for i in 0..trips as u64 {
                while chk.pos < (i + 1) * PING as u64 {
                    if rx.try_recv(&mut chk) == 0 {
                        std::hint::spin_loop();
                    }
                }
                send_spin(&mut tx, src(i * PING as u64, PING));
            }
        });
        hb.join().expect("echo thread");
        ha.join().expect("ping thread")
    })
}

/// Blocking ping-pong.
pub fn pingpong_blocking<T1, R1, T2, R2>(
    a: (T1, R2),
    b: (R1, T2),
    trips: usize,
    record: bool,
) -> Trips
where
    T1: BlockTx,
    R1: BlockRx,
    T2: BlockTx,
    R2: BlockRx,
{
    let barrier = &Barrier::new(2);
    thread::scope(|s| {
        let ha = s.spawn(move || {
            let (mut tx, mut rx) = a;
            pin(CORE_TX);
            let mut chk = Checker::new(None);
            let mut lat = Vec::with_capacity(if record { trips } else { 0 });
            barrier.wait();
            let start = Instant::now();
            for i in 0..trips as u64 {
                let t0 = if record { Some(Instant::now()) } else { None };
                tx.send(src(i * PING as u64, PING));
                while chk.pos < (i + 1) * PING as u64 {
                    assert!(rx.recv(&mut chk) > 0, "closed");
                }
                if let Some(t0) = t0 {
                    lat.push(t0.elapsed().as_nanos() as u64);
                }
            }
            let total = start.elapsed();
            assert_eq!(chk.pos, (trips * PING) as u64);
            Trips::new(total, trips, lat)
        });
        let hb = s.spawn(move || {
            let (mut rx, mut tx) = b;
            pin(CORE_RX);
            let mut chk = Checker::new(None);
            barrier.wait();
            for i in 0..trips as u64 {
                while chk.pos < (i + 1) * PING as u64 {
                    assert!(rx.recv(&mut chk) > 0, "closed");
                }
                tx.send(src(i * PING as u64, PING));
            }
        });
        hb.join().expect("echo thread");
        ha.join().expect("ping thread")
    })
}

async fn ping_async<T: AsyncTx, R: AsyncRx>(
    mut tx: T,
    mut rx: R,
    trips: usize,
    record: bool,
) -> Trips {
    let mut chk = Checker::new(None);
    let mut lat = Vec::with_capacity(if record { trips } else { 0 });
    let start = Instant::now();
    for i in 0..trips as u64 {
        let t0 = if record { Some(Instant::now()) } else { None };
        tx.send(src(i * PING as u64, PING)).await;
        while chk.pos < (i + 1) * PING as u64 {
            assert!(rx.recv(&mut chk).await > 0, "closed");
        }
        if let Some(t0) = t0 {
            lat.push(t0.elapsed().as_nanos() as u64);
        }
    }
    let total = start.elapsed();
    assert_eq!(chk.pos, (trips * PING) as u64);
    Trips::new(total, trips, lat)
}

async fn echo_async<T: AsyncTx, R: AsyncRx>(mut rx: R, mut tx: T, trips: usize) {
    let mut chk = Checker::new(None);
    for i in 0..trips as u64 {
        while chk.pos < (i + 1) * PING as u64 {
            assert!(rx.recv(&mut chk).await > 0, "closed");
        }
        tx.send(src(i * PING as u64, PING)).await;
    }
}

/// Async ping-pong, the two tasks placed as `mode` says.
pub fn pingpong_async<T1, R1, T2, R2>(
    mode: AsyncMode,
    a: (T1, R2),
    b: (R1, T2),
    trips: usize,
    record: bool,
) -> Trips
where
    T1: AsyncTx,
    R1: AsyncRx,
    T2: AsyncTx,
    R2: AsyncRx,
{
    let (trips_out, ()) = run_pair(
        mode,
        ping_async(a.0, a.1, trips, record),
        echo_async(b.0, b.1, trips),
    );
    trips_out
}

/// The floor: two threads flip two cache lines (a counter each way), no data.
pub fn pingpong_cachelines(trips: usize, record: bool) -> Trips {
    #[repr(align(128))]
    struct Line(AtomicU64);
    let (l1, l2) = (&Line(AtomicU64::new(0)), &Line(AtomicU64::new(0)));
    let barrier = &Barrier::new(2);
    thread::scope(|s| {
        let ha = s.spawn(move || {
            pin(CORE_TX);
            let mut lat = Vec::with_capacity(if record { trips } else { 0 });
            barrier.wait();
            let start = Instant::now();
            for i in 1..=trips as u64 {
                let t0 = if record { Some(Instant::now()) } else { None };
                l1.0.store(i, Ordering::Release);
                while l2.0.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
                if let Some(t0) = t0 {
                    lat.push(t0.elapsed().as_nanos() as u64);
                }
            }
            Trips::new(start.elapsed(), trips, lat)
        });
        let hb = s.spawn(move || {
            pin(CORE_RX);
            barrier.wait();
            for i in 1..=trips as u64 {
                while l1.0.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
                l2.0.store(i, Ordering::Release);
            }
        });
        hb.join().expect("echo thread");
        ha.join().expect("ping thread")
    })
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// p-th percentile (0..=100) of `sorted`.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// p50, p99, p99.9 and mean of latencies (ns).
#[derive(Clone, Copy, Debug, Default)]
pub struct Pcts {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub mean: f64,
    pub n: usize,
}

pub fn pcts(lat: &mut [u64]) -> Pcts {
    lat.sort_unstable();
    let n = lat.len();
    let mean = if n == 0 {
        0.0
    } else {
        lat.iter().sum::<u64>() as f64 / n as f64
    };
    Pcts {
        p50: percentile(lat, 50.0),
        p99: percentile(lat, 99.0),
        p999: percentile(lat, 99.9),
        mean,
        n,
    }
}

/// "512 ns", "12.3 µs", "1.20 ms".
pub fn fmt_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// Median of a non-empty list.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Single-thread memcpy bandwidth between two buffers of `len` bytes (GB/s, best of `reps`
/// runs of `rounds` copies each).
pub fn memcpy_gbps(len: usize, rounds: usize, reps: usize) -> f64 {
    let a = vec![7u8; len];
    let mut b = vec![0u8; len];
    let mut best = 0.0f64;
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..rounds {
            b.copy_from_slice(std::hint::black_box(&a));
            std::hint::black_box(&mut b);
        }
        let gbps = (len * rounds) as f64 / t.elapsed().as_secs_f64() / 1e9;
        best = best.max(gbps);
    }
    best
}

/// Where the benches and the report write their files: `<crate>/target/ringpipe-bench`.
pub fn out_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ringpipe-bench");
    std::fs::create_dir_all(&dir).expect("create target/ringpipe-bench");
    dir
}

/// "64B", "1KiB", "1MiB": for benchmark ids and file names.
pub fn short(bytes: usize) -> String {
    human(bytes).replace(' ', "")
}

/// The criterion settings of every bench: 10 samples, short warm-up and measurement (shorter
/// still with `RINGPIPE_BENCH_QUICK=1`).
pub fn criterion_config() -> criterion::Criterion {
    let c = criterion::Criterion::default().sample_size(10);
    if quick() {
        c.warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(600))
    } else {
        c.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
    }
}

// ---------------------------------------------------------------------------------------------
// The machine, and how busy other processes kept it (the throughput demo, bench_report and
// benches/baseline)

/// Keeps freed memory in the process (no `munmap` of large blocks, no heap trimming), for the
/// measuring programs: on the shared VM, memory given back to the system slows both vCPUs down
/// for seconds afterwards (it looks like the host reclaiming the pages), and the rings every run
/// allocates and frees would trigger that in the middle of the measurements. Call it first.
pub fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt takes plain integers and only changes glibc's allocation policy.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// A size as the measuring programs take it: "64", "1K", "16KiB", "1M", "4G", "1.5M" (powers of
/// 1024); `None` if it is not one.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim().trim_end_matches("iB").trim_end_matches('B').trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v >= 0.0).then_some((v * mult as f64) as u64)
}

/// The CPU model from /proc/cpuinfo ("unknown" elsewhere).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The cargo profile this example was built with: the name of the target directory that
/// holds `examples/` (`release`, `lto`, ...; "?" if it cannot be told).
pub fn build_profile() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(|examples| examples.parent())
        .and_then(|dir| dir.file_name())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "?".into())
}

/// The kernel release from /proc/sys/kernel/osrelease ("unknown" elsewhere).
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Busy CPU time of some CPUs (everyone's, steal included) and of this process (with the
/// children it has waited for), in clock ticks; `None` where /proc/stat is missing.
#[derive(Clone, Copy, Debug)]
pub struct CpuTimes {
    busy: u64,
    ours: u64,
    at: Instant,
}

/// Busy time of the CPUs `cpus` (the whole machine if empty, or if /proc/stat has no line for
/// one of them).
pub fn cpu_times(cpus: &[usize]) -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    // "cpuN user nice system idle iowait irq softirq steal ..."; busy = all but idle and iowait.
    let busy_of = |line: &str| -> u64 {
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        v.iter().sum::<u64>() - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0)
    };
    let line_of = |name: &str| {
        stat.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
    };
    let per_cpu: Option<u64> = if cpus.is_empty() {
        None
    } else {
        cpus.iter()
            .map(|c| line_of(&format!("cpu{c}")).map(busy_of))
            .sum()
    };
    let busy = match per_cpu {
        Some(b) => b,
        None => busy_of(line_of("cpu")?),
    };
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: utime is field 14, stime 15, and cutime 16,
    // cstime 17 (children waited for: benches/baseline's isolated runs).
    let rest = &own[own.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ours = (11..=14)
        .map(|i| f.get(i)?.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some(CpuTimes {
        busy,
        ours,
        at: Instant::now(),
    })
}

/// The whole machine's [`CpuTimes`] (see [`others_since`]).
pub fn machine_times() -> Option<CpuTimes> {
    cpu_times(&[])
}

/// How many cores' worth of CPU time others took on the whole machine since `a` (from
/// [`machine_times`]); 0 where /proc/stat is missing.
pub fn others_since(a: Option<CpuTimes>) -> f64 {
    a.zip(machine_times())
        .map_or(0.0, |(a, b)| others_cores(a, b))
}

/// How many cores' worth of CPU time others (other processes, or the host stealing the vCPUs)
/// took on the measured CPUs between `a` and `b`, on average.
pub fn others_cores(a: CpuTimes, b: CpuTimes) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let secs = (b.at - a.at).as_secs_f64().max(1e-3);
    let other = b.busy.saturating_sub(a.busy) as f64 - b.ours.saturating_sub(a.ours) as f64;
    (other / hz / secs).max(0.0)
}
