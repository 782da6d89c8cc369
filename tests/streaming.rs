//! Two-thread streaming tests that verify every byte.
//!
//! A producer thread writes a deterministic pseudo-random stream (byte `i` is a hash of `i` and
//! a seed) in odd-sized pieces, through a random mix of the writer's APIs; a consumer thread
//! parses it with odd consumed/examined choices and checks every byte against the stream by
//! absolute position. Each test runs in three waiting styles (blocking, non-blocking spinning,
//! async on the minimal executor of `support::exec`) over several option sets, and ends by
//! checking that the pipe gave every chunk back to its (private) pool.
//!
//! Liveness: a reader that examines everything and waits for more, while holding `R` bytes
//! unconsumed, needs the writer to be able to add a byte. The writer's size hints are at most
//! `H`, and when hints fragment chunks each chunk may hold a single byte, so the consumer keeps
//! `R <= min(capacity - H, slots - 2)` and asks `read_at_least(n)` only for
//! `n <= min(capacity - H + 1, slots - 1)`. The producer always commits before it waits.
//! Every test is guarded against hangs: both threads report through a channel that is read
//! with a 30 s timeout.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use ringpipe::{
    ChunkPool, FlushResult, PipeOptions, PipeReader, PipeWriter, ReadError, Sequence, WriteError,
};
use support::exec::{backoff, block_on, poll_noop, NoWake};
use support::rng::{splitmix64, Rng};

/// Bytes streamed by the big tests.
const N: usize = if cfg!(miri) { 2_000 } else { 2_000_000 };
/// Bytes streamed through tiny pipes (a handful of bytes per thread hand-off).
const N_TINY: usize = if cfg!(miri) { 300 } else { N / 20 };
/// How long a test may take before it is declared hung. (Miri's clock is virtual and runs
/// fast while it interprets, so it gets far longer.)
const TIMEOUT: Duration = Duration::from_secs(if cfg!(miri) { 36_000 } else { 30 });

// ---------------------------------------------------------------------------------------------
// The expected stream.

/// Byte `i` of the stream for `seed`.
fn expected(seed: u64, i: u64) -> u8 {
    (splitmix64(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93)) >> 56) as u8
}

fn fill_expected(dst: &mut [u8], seed: u64, from: u64) {
    for (j, b) in dst.iter_mut().enumerate() {
        *b = expected(seed, from + j as u64);
    }
}

// ---------------------------------------------------------------------------------------------
// Option sets and the limits that keep a well-behaved consumer live.

#[derive(Clone, Copy, Debug)]
struct Cfg {
    name: &'static str,
    chunk: usize,
    capacity: Option<usize>,
    pause: Option<usize>,
    resume: Option<usize>,
    bytes: usize,
    /// `spin_before_park`.
    spin: u32,
}

impl Cfg {
    const fn new(name: &'static str, chunk: usize, capacity: usize, bytes: usize) -> Cfg {
        Cfg {
            name,
            chunk,
            capacity: Some(capacity),
            pause: None,
            resume: None,
            bytes,
            spin: 0,
        }
    }
    const fn spin(mut self, spins: u32) -> Cfg {
        self.spin = spins;
        self
    }
    const fn pause(mut self, pause: usize, resume: Option<usize>) -> Cfg {
        self.pause = Some(pause);
        self.resume = resume;
        self
    }
}

/// Tiny chunks and capacities: many chunk switches, full rings and hand-offs per byte.
const TINY: &[Cfg] = &[
    Cfg::new("chunk 1, cap 5", 1, 5, N_TINY),
    Cfg::new("chunk 3, cap 7", 3, 7, N_TINY),
    Cfg::new("chunk 7, cap 5 (chunk > cap)", 7, 5, N_TINY),
    Cfg::new("chunk 7, cap 64, pause 0", 7, 64, N_TINY).pause(0, None),
    Cfg::new("chunk 3, cap 64, pause 16/4", 3, 64, N_TINY).pause(16, Some(4)),
    Cfg::new("chunk 16, cap 61, pause 61/61", 16, 61, N_TINY).pause(61, Some(61)),
    Cfg::new("chunk 5, cap 23, pause 1/1", 5, 23, N_TINY).pause(1, Some(1)),
    Cfg::new("chunk 2, cap 9, spin 200", 2, 9, N_TINY).spin(200),
];

/// Default options (through a private pool of the default chunk size).
const DEFAULT: Cfg = Cfg {
    name: "default options",
    chunk: ringpipe::DEFAULT_CHUNK_SIZE,
    capacity: None,
    pause: None,
    resume: None,
    bytes: N,
    spin: 0,
};

/// Capacity not a multiple of the chunk size, pause thresholds on or off.
const ODD: &[Cfg] = &[
    Cfg::new(
        "chunk 4096, cap 100_003, pause 30_000/7",
        4096,
        100_003,
        N / 2,
    )
    .pause(30_000, Some(7)),
    Cfg::new("chunk 1000, cap 12_345, pause 0", 1000, 12_345, N / 4).pause(0, None),
    Cfg::new(
        "chunk 512, cap 5000, pause 700/300, spin 64",
        512,
        5000,
        N / 4,
    )
    .pause(700, Some(300))
    .spin(64),
];

#[derive(Clone, Copy)]
struct Limits {
    capacity: usize,
    /// Largest size hint the producer uses.
    hint_max: usize,
    /// Most bytes the consumer leaves unconsumed when it examines everything.
    retain_max: usize,
    /// Largest `read_at_least` minimum.
    at_least_max: usize,
}

struct Setup {
    opts: PipeOptions,
    pool: ChunkPool,
    lim: Limits,
}

fn setup(cfg: &Cfg) -> Setup {
    let pool = ChunkPool::new(cfg.chunk, 8).unwrap();
    let mut b = PipeOptions::builder()
        .pool(pool.clone())
        .spin_before_park(cfg.spin)
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
    let opts = b.build().unwrap();
    let capacity = opts.capacity();
    let max_memory = capacity.min(cfg.chunk);
    let slots = opts.slots();
    let hint_max = (max_memory / 2).max(1);
    let lim = Limits {
        capacity,
        hint_max,
        retain_max: (capacity - hint_max).min(slots - 2),
        at_least_max: (capacity - hint_max + 1).min(slots - 1),
    };
    Setup { opts, pool, lim }
}

// ---------------------------------------------------------------------------------------------
// Running two threads with a hang guard.

type Side = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// Runs `producer` and `consumer` on two threads and waits for both (at most `TIMEOUT`), then
/// checks that the pipe returned every chunk to `pool`.
fn run_pair(name: &str, pool: &ChunkPool, producer: Side, consumer: Side) {
    let (tx, rx) = mpsc::channel::<(&'static str, Result<(), String>)>();
    for (who, side) in [("producer", producer), ("consumer", consumer)] {
        let tx = tx.clone();
        thread::Builder::new()
            .name(format!("{name} {who}"))
            .spawn(move || {
                let r = catch_unwind(AssertUnwindSafe(side)).unwrap_or_else(|p| {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "non-string panic".into());
                    Err(format!("panicked: {msg}"))
                });
                let _ = tx.send((who, r));
            })
            .unwrap();
    }
    drop(tx);
    let deadline = Instant::now() + TIMEOUT;
    let mut failures = Vec::new();
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((_, Ok(()))) => {}
            Ok((who, Err(msg))) => failures.push(format!("{who}: {msg}")),
            Err(_) => panic!(
                "[{name}] timed out after {TIMEOUT:?}: a side is hung (lost wake-up or \
                 undetected deadlock?); failures so far: {failures:?}"
            ),
        }
    }
    assert!(failures.is_empty(), "[{name}] {}", failures.join("; "));
    assert_eq!(
        pool.in_use(),
        0,
        "[{name}] chunks still lent out after both sides completed"
    );
}

// ---------------------------------------------------------------------------------------------
// Producer decisions shared by the three styles.

/// An odd piece size, sometimes larger than the chunk and the capacity.
fn pick_piece(rng: &mut Rng, lim: &Limits) -> usize {
    const ODD_SIZES: [usize; 10] = [1, 3, 7, 1000, 4093, 4096, 4097, 16_411, 65_537, 300_007];
    match rng.below(3) {
        0 => ODD_SIZES[rng.below(ODD_SIZES.len())],
        1 => rng.range(1, 2 * lim.capacity + 3),
        _ => rng.range(1, 13),
    }
}

/// A size hint for the get_memory path: 0, 1, the rest of the piece, or random.
fn pick_hint(rng: &mut Rng, lim: &Limits, left: usize) -> usize {
    match rng.below(4) {
        0 => 0,
        1 => 1,
        2 => left.min(lim.hint_max),
        _ => rng.range(1, lim.hint_max),
    }
}

/// How much of `avail` granted bytes to write: usually all, sometimes fewer, rarely none.
fn pick_take(rng: &mut Rng, avail: usize) -> usize {
    match rng.below(8) {
        0 => 0,
        1 | 2 => rng.range(1, avail.max(1)).min(avail),
        _ => avail,
    }
}

fn check_flush(what: &str, r: FlushResult) -> Result<(), String> {
    if r.is_canceled() || r.is_completed() {
        return Err(format!(
            "{what} returned {r:?} though nobody canceled or completed"
        ));
    }
    Ok(())
}

fn check_memory(hint: usize, len: usize, lim: &Limits) -> Result<(), String> {
    if len < hint.max(1) || len > lim.capacity {
        return Err(format!(
            "get_memory({hint}) returned {len} bytes (want at least {} and at most the capacity {})",
            hint.max(1),
            lim.capacity
        ));
    }
    Ok(())
}

/// Writes the bytes of `pos .. pos + k` into the granted memory and advances.
fn write_granted(w: &mut PipeWriter, seed: u64, pos: u64, k: usize) -> Result<(), String> {
    let mem = w.granted_memory();
    if mem.len() < k {
        return Err(format!(
            "granted_memory() has {} bytes, {k} expected",
            mem.len()
        ));
    }
    fill_expected(&mut mem[..k], seed, pos);
    w.advance(k);
    Ok(())
}

fn produce_blocking(mut w: PipeWriter, seed: u64, total: u64, lim: Limits) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut pos = 0u64;
    let mut data = Vec::new();
    while pos < total {
        let piece = (pick_piece(&mut rng, &lim) as u64).min(total - pos) as usize;
        if rng.one_in(3) {
            data.resize(piece, 0);
            fill_expected(&mut data, seed, pos);
            let r = w
                .write_all_blocking(&data)
                .map_err(|e| format!("write_all_blocking at {pos}: {e:?}"))?;
            check_flush("write_all_blocking", r)?;
            pos += piece as u64;
            continue;
        }
        let mut left = piece;
        while left > 0 {
            let hint = pick_hint(&mut rng, &lim, left);
            let len = match w.try_get_memory(hint) {
                Ok(m) => m.len(),
                Err(WriteError::Full { .. }) => {
                    // Let the reader see everything before waiting for room.
                    w.commit();
                    w.get_memory_blocking(hint)
                        .map_err(|e| format!("get_memory_blocking({hint}) at {pos}: {e:?}"))?
                        .len()
                }
                Err(e) => return Err(format!("try_get_memory({hint}) at {pos}: {e:?}")),
            };
            check_memory(hint, len, &lim)?;
            let k = pick_take(&mut rng, len.min(left));
            write_granted(&mut w, seed, pos, k)?;
            pos += k as u64;
            left -= k;
        }
        match rng.below(4) {
            0 => w.commit(),
            1 | 2 => check_flush(
                "flush_blocking",
                w.flush_blocking()
                    .map_err(|e| format!("flush_blocking at {pos}: {e:?}"))?,
            )?,
            _ => {} // leave it unflushed; a later commit, flush or the completion publishes it
        }
    }
    if rng.one_in(2) {
        w.complete();
    } // else dropping completes it
    Ok(())
}

fn produce_nonblocking(
    mut w: PipeWriter,
    seed: u64,
    total: u64,
    lim: Limits,
) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut pos = 0u64;
    let mut spins = 0u32;
    while pos < total {
        let mut left = (pick_piece(&mut rng, &lim) as u64).min(total - pos) as usize;
        while left > 0 {
            let hint = pick_hint(&mut rng, &lim, left);
            let len = loop {
                match w.try_get_memory(hint) {
                    Ok(m) => break m.len(),
                    Err(WriteError::Full { .. }) => {
                        w.commit();
                        backoff(&mut spins);
                    }
                    Err(e) => return Err(format!("try_get_memory({hint}) at {pos}: {e:?}")),
                }
            };
            check_memory(hint, len, &lim)?;
            let k = pick_take(&mut rng, len.min(left));
            write_granted(&mut w, seed, pos, k)?;
            pos += k as u64;
            left -= k;
        }
        match rng.below(3) {
            0 => w.commit(),
            1 => loop {
                // Spin while paused: `None` means paused (the data is committed anyway).
                match w
                    .try_flush()
                    .map_err(|e| format!("try_flush at {pos}: {e:?}"))?
                {
                    Some(r) => break check_flush("try_flush", r)?,
                    None => backoff(&mut spins),
                }
            },
            _ => {}
        }
    }
    w.complete();
    Ok(())
}

async fn produce_async(
    mut w: PipeWriter,
    seed: u64,
    total: u64,
    lim: Limits,
) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut pos = 0u64;
    let mut data = Vec::new();
    while pos < total {
        let piece = (pick_piece(&mut rng, &lim) as u64).min(total - pos) as usize;
        if rng.one_in(3) {
            data.resize(piece, 0);
            fill_expected(&mut data, seed, pos);
            let r = w
                .write_all(&data)
                .await
                .map_err(|e| format!("write_all at {pos}: {e:?}"))?;
            check_flush("write_all", r)?;
            pos += piece as u64;
            continue;
        }
        let mut left = piece;
        while left > 0 {
            let hint = pick_hint(&mut rng, &lim, left);
            let len = match w.try_get_memory(hint) {
                Ok(m) => m.len(),
                Err(WriteError::Full { .. }) => {
                    w.commit();
                    // Sometimes start a wait and give it up, as a `select!` would.
                    let early = if rng.one_in(4) {
                        poll_noop(w.get_memory(hint)).map(|r| r.map(|m| m.len()))
                    } else {
                        None
                    };
                    match early {
                        Some(r) => r,
                        None => w.get_memory(hint).await.map(|m| m.len()),
                    }
                    .map_err(|e| format!("get_memory({hint}) at {pos}: {e:?}"))?
                }
                Err(e) => return Err(format!("try_get_memory({hint}) at {pos}: {e:?}")),
            };
            check_memory(hint, len, &lim)?;
            let k = pick_take(&mut rng, len.min(left));
            write_granted(&mut w, seed, pos, k)?;
            pos += k as u64;
            left -= k;
        }
        match rng.below(4) {
            0 => w.commit(),
            1 => {
                // Start a flush and drop it (cancel-safe: the data is committed), then flush.
                if let Some(r) = poll_noop(w.flush()) {
                    check_flush(
                        "flush (polled once)",
                        r.map_err(|e| format!("flush at {pos}: {e:?}"))?,
                    )?;
                }
                let r = w
                    .flush()
                    .await
                    .map_err(|e| format!("flush at {pos}: {e:?}"))?;
                check_flush("flush", r)?;
            }
            2 => {
                let r = w
                    .flush()
                    .await
                    .map_err(|e| format!("flush at {pos}: {e:?}"))?;
                check_flush("flush", r)?;
            }
            _ => {}
        }
    }
    drop(w);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The consumer: verification and consumed/examined decisions.

struct Checker {
    seed: u64,
    total: u64,
    rng: Rng,
    lim: Limits,
    /// Consumed position.
    head: u64,
    /// Examined position.
    examined: u64,
    /// Every byte before this position has been checked.
    verified: u64,
    reads: u64,
}

impl Checker {
    fn new(seed: u64, total: u64, lim: Limits) -> Checker {
        Checker {
            seed,
            total,
            rng: Rng::new(seed ^ 0xC0FFEE),
            lim,
            head: 0,
            examined: 0,
            verified: 0,
            reads: 0,
        }
    }

    /// The minimum for the next read: `None` for a plain read.
    fn pick_at_least(&mut self) -> Option<usize> {
        match self.rng.below(5) {
            0 => Some(self.rng.range(1, self.lim.at_least_max)),
            1 => Some(1),
            _ => None,
        }
    }

    /// Checks a read's buffer: where it starts, that it grew as it should, every new byte, and
    /// a random window through `slice`, `copy_to_slice`, `to_vec`, `find` and positions.
    fn check(
        &mut self,
        buf: &Sequence<'_>,
        at_least: Option<usize>,
        completed: bool,
    ) -> Result<(), String> {
        self.reads += 1;
        let (start, end, len) = (buf.start().offset(), buf.end().offset(), buf.len());
        if start != self.head {
            return Err(format!(
                "read {}: buffer starts at {start}, consumed is {}",
                self.reads, self.head
            ));
        }
        if end - start != len as u64 || buf.is_empty() != (len == 0) {
            return Err(format!(
                "read {}: len {len} disagrees with {start}..{end}",
                self.reads
            ));
        }
        if end > self.total || end < self.verified {
            return Err(format!(
                "read {}: buffer ends at {end}; stream is {} bytes, {} were seen before",
                self.reads, self.total, self.verified
            ));
        }
        match at_least {
            Some(n) if len < n && !completed => {
                return Err(format!(
                    "read {}: read_at_least({n}) returned {len} bytes, not completed",
                    self.reads
                ))
            }
            None if end <= self.examined && !completed => {
                return Err(format!(
                    "read {}: read returned nothing past examined {} (end {end}), not completed",
                    self.reads, self.examined
                ))
            }
            _ => {}
        }
        // Every new byte, through the chunks of a slice.
        let new = buf.slice((self.verified - start) as usize..);
        let mut p = self.verified;
        for chunk in new.chunks() {
            if chunk.is_empty() {
                return Err(format!("read {}: empty chunk", self.reads));
            }
            for &b in chunk {
                let want = expected(self.seed, p);
                if b != want {
                    return Err(format!(
                        "read {}: byte {p} is {b:#04x}, expected {want:#04x}",
                        self.reads
                    ));
                }
                p += 1;
            }
        }
        if p != end {
            return Err(format!(
                "read {}: chunks of {}.. end at {p}, buffer at {end}",
                self.reads, self.verified
            ));
        }
        self.verified = end;
        if len > 0 {
            let a = self.rng.below(len);
            let b = (a + 1 + self.rng.below(97)).min(len);
            let win = buf.slice(a..b);
            let mut dst = vec![0u8; b - a];
            win.copy_to_slice(&mut dst);
            let want: Vec<u8> = (start + a as u64..start + b as u64)
                .map(|i| expected(self.seed, i))
                .collect();
            if dst != want || win.to_vec() != want {
                return Err(format!(
                    "read {}: window {a}..{b} of {start}..{end} differs",
                    self.reads
                ));
            }
            let needle = want[self.rng.below(want.len())];
            let first = want.iter().position(|&x| x == needle).unwrap();
            let found = win.find(needle);
            if found.map(|p| p.offset()) != Some(start + (a + first) as u64)
                || found.and_then(|p| buf.offset_of(p)) != Some(a + first)
            {
                return Err(format!(
                    "read {}: find({needle:#04x}) in {a}..{b} gave {found:?}, expected offset {}",
                    self.reads,
                    a + first
                ));
            }
            let mut present = [false; 256];
            for &x in &want {
                present[x as usize] = true;
            }
            if let Some(x) = (0..=255u8).find(|&x| !present[x as usize]) {
                if win.find(x).is_some() {
                    return Err(format!("read {}: found absent byte {x:#04x}", self.reads));
                }
            }
        }
        Ok(())
    }

    /// Offsets (consumed, examined) for a buffer of `len` bytes.
    fn choose(&mut self, len: usize, completed: bool) -> (usize, usize) {
        let r = self.lim.retain_max;
        let rng = &mut self.rng;
        if completed && rng.one_in(2) {
            return (len, len);
        }
        match rng.below(6) {
            // Consume all, examine all.
            0 => (len, len),
            // Consume part, examine all ("need more"): keep at most `r` bytes.
            1 | 2 => (rng.range(len.saturating_sub(r), len), len),
            // Consume part, examine part: the next read returns at once.
            3 if len > 0 => {
                let e = rng.range(0, len - 1);
                (rng.range(0, e), e)
            }
            // Consume nothing, examine all, if that leaves the writer room.
            4 if len <= r => (0, len),
            // Consume nothing, examine a little more than before (possibly nothing).
            _ => {
                let seen = (self.examined - self.head) as usize;
                let e = rng.range(seen.min(len), len);
                if e == len && len > r {
                    (len - r, len)
                } else {
                    (0, e)
                }
            }
        }
    }

    fn advanced(&mut self, c: usize, e: usize) {
        self.examined = self.head + e as u64;
        self.head += c as u64;
    }

    fn finish(&self) -> Result<(), String> {
        if self.head != self.total {
            return Err(format!(
                "stream ended after {} of {} bytes",
                self.head, self.total
            ));
        }
        Ok(())
    }
}

fn consume_blocking(mut r: PipeReader, mut ck: Checker) -> Result<(), String> {
    loop {
        let at_least = ck.pick_at_least();
        let res = match at_least {
            Some(n) => r.read_at_least_blocking(n),
            None => r.read_blocking(),
        }
        .map_err(|e| format!("read (at least {at_least:?}) at {}: {e:?}", ck.head))?;
        let buf = res.buffer();
        let completed = res.is_completed();
        if res.is_canceled() {
            return Err("read canceled though nobody canceled".into());
        }
        ck.check(&buf, at_least, completed)?;
        let (c, e) = ck.choose(buf.len(), completed);
        let done = completed && c == buf.len();
        let (cp, ep) = (buf.position(c), buf.position(e));
        r.advance_to(cp, ep)
            .map_err(|err| format!("advance_to({cp:?}, {ep:?}): {err:?}"))?;
        ck.advanced(c, e);
        if done {
            break;
        }
    }
    ck.finish()
}

fn consume_nonblocking(mut r: PipeReader, mut ck: Checker) -> Result<(), String> {
    let mut spins = 0u32;
    loop {
        // `read_at_least` emulated: examine everything until enough is there.
        let want = ck.pick_at_least().unwrap_or(0);
        loop {
            let Some(res) = r
                .try_read()
                .map_err(|e| format!("try_read at {}: {e:?}", ck.head))?
            else {
                backoff(&mut spins);
                continue;
            };
            let buf = res.buffer();
            let completed = res.is_completed();
            ck.check(&buf, None, completed)?;
            if buf.len() >= want || completed {
                let (c, e) = ck.choose(buf.len(), completed);
                let done = completed && c == buf.len();
                let (cp, ep) = (buf.position(c), buf.position(e));
                r.advance_to(cp, ep)
                    .map_err(|err| format!("advance_to: {err:?}"))?;
                ck.advanced(c, e);
                if done {
                    return ck.finish();
                }
                break;
            }
            // Not enough yet: consume nothing, examine everything, so the next try_read
            // reports only once more data is there.
            let (start, end, len) = (buf.start(), buf.end(), buf.len());
            r.advance_to(start, end)
                .map_err(|err| format!("advance_to: {err:?}"))?;
            ck.advanced(0, len);
        }
    }
}

async fn consume_async(mut r: PipeReader, mut ck: Checker) -> Result<(), String> {
    loop {
        let at_least = ck.pick_at_least();
        if ck.rng.one_in(6) {
            // Start a read and give it up (cancel-safe), then read for real.
            let _ = poll_noop(r.read()).is_some();
        }
        let res = match at_least {
            Some(n) => r.read_at_least(n).await,
            None => r.read().await,
        }
        .map_err(|e| format!("read (at least {at_least:?}) at {}: {e:?}", ck.head))?;
        let buf = res.buffer();
        let completed = res.is_completed();
        if res.is_canceled() {
            return Err("read canceled though nobody canceled".into());
        }
        ck.check(&buf, at_least, completed)?;
        let (c, e) = ck.choose(buf.len(), completed);
        let done = completed && c == buf.len();
        let (cp, ep) = (buf.position(c), buf.position(e));
        r.advance_to(cp, ep)
            .map_err(|err| format!("advance_to({cp:?}, {ep:?}): {err:?}"))?;
        ck.advanced(c, e);
        if done {
            break;
        }
    }
    drop(r);
    ck.finish()
}

// ---------------------------------------------------------------------------------------------
// Full streams.

#[derive(Clone, Copy, Debug)]
enum Mode {
    Blocking,
    NonBlocking,
    Async,
}

/// Streams `cfg.bytes` bytes through a pipe built from `cfg`, in `mode`, and checks every byte.
fn stream(cfg: &Cfg, mode: Mode, seed: u64) {
    let Setup { opts, pool, lim } = setup(cfg);
    let total = cfg.bytes as u64;
    let (w, r) = ringpipe::pipe(opts);
    let ck = Checker::new(seed, total, lim);
    let (producer, consumer): (Side, Side) = match mode {
        Mode::Blocking => (
            Box::new(move || produce_blocking(w, seed, total, lim)),
            Box::new(move || consume_blocking(r, ck)),
        ),
        Mode::NonBlocking => (
            Box::new(move || produce_nonblocking(w, seed, total, lim)),
            Box::new(move || consume_nonblocking(r, ck)),
        ),
        Mode::Async => (
            Box::new(move || block_on(produce_async(w, seed, total, lim))),
            Box::new(move || block_on(consume_async(r, ck))),
        ),
    };
    let name = format!("{} / {mode:?} / seed {seed:#x}", cfg.name);
    run_pair(&name, &pool, producer, consumer);
}

/// Under Miri (slow, and its clock is virtual) only the first `n` items.
fn miri_subset<T>(items: &[T], n: usize) -> &[T] {
    if cfg!(miri) {
        &items[..n.min(items.len())]
    } else {
        items
    }
}

fn stream_all(cfgs: &[Cfg], mode: Mode, seed: u64) {
    for (i, cfg) in miri_subset(cfgs, 2).iter().enumerate() {
        stream(cfg, mode, seed.wrapping_add(i as u64 * 0x1_0001));
    }
}

#[test]
fn blocking_tiny_pipes() {
    stream_all(TINY, Mode::Blocking, 0xB10C);
}

#[test]
fn blocking_default_options() {
    stream(&DEFAULT, Mode::Blocking, 0xB10C_0001);
}

#[test]
fn blocking_capacity_not_multiple_of_chunk() {
    stream_all(ODD, Mode::Blocking, 0xB10C_0002);
}

#[test]
fn nonblocking_tiny_pipes() {
    stream_all(TINY, Mode::NonBlocking, 0x5B1);
}

#[test]
fn nonblocking_default_options() {
    stream(&DEFAULT, Mode::NonBlocking, 0x5B1_0001);
}

#[test]
fn nonblocking_capacity_not_multiple_of_chunk() {
    stream_all(ODD, Mode::NonBlocking, 0x5B1_0002);
}

#[test]
fn async_tiny_pipes() {
    stream_all(TINY, Mode::Async, 0xA5C);
}

#[test]
fn async_default_options() {
    stream(&DEFAULT, Mode::Async, 0xA5C_0001);
}

#[test]
fn async_capacity_not_multiple_of_chunk() {
    stream_all(ODD, Mode::Async, 0xA5C_0002);
}

// ---------------------------------------------------------------------------------------------
// The writer fails mid-stream.

#[derive(Debug)]
struct Boom(&'static str);

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Boom {}

/// Writes `fail_at` bytes (some left unflushed), then completes with an error.
fn produce_then_fail(
    w: &mut PipeWriter,
    seed: u64,
    fail_at: u64,
    lim: Limits,
    mode: Mode,
) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ 0xFA11);
    let mut pos = 0u64;
    let mut data = Vec::new();
    let mut spins = 0;
    while pos < fail_at {
        let piece = (pick_piece(&mut rng, &lim) as u64).min(fail_at - pos) as usize;
        data.resize(piece, 0);
        fill_expected(&mut data, seed, pos);
        match mode {
            Mode::Blocking => check_flush(
                "write_all_blocking",
                w.write_all_blocking(&data)
                    .map_err(|e| format!("write_all_blocking: {e:?}"))?,
            )?,
            Mode::Async => check_flush(
                "write_all",
                block_on(w.write_all(&data)).map_err(|e| format!("write_all: {e:?}"))?,
            )?,
            Mode::NonBlocking => {
                let mut rest = &data[..];
                while !rest.is_empty() {
                    match w.try_get_memory(0) {
                        Ok(m) => {
                            let k = m.len().min(rest.len());
                            m[..k].copy_from_slice(&rest[..k]);
                            w.advance(k);
                            rest = &rest[k..];
                        }
                        Err(WriteError::Full { .. }) => {
                            w.commit();
                            backoff(&mut spins);
                        }
                        Err(e) => return Err(format!("try_get_memory: {e:?}")),
                    }
                }
            }
        }
        pos += piece as u64;
    }
    // A few more bytes, advanced but not flushed: completing commits them, but the reader
    // gets the error instead of data.
    loop {
        match w.try_get_memory(1) {
            Ok(m) => break m[0] = expected(seed, pos),
            Err(WriteError::Full { .. }) => {
                w.commit();
                backoff(&mut spins);
            }
            Err(e) => return Err(format!("try_get_memory: {e:?}")),
        }
    }
    w.advance(1);
    w.complete_with_error(Boom("producer exploded"));
    if !w.is_completed() || w.unflushed_bytes() != 0 {
        return Err(format!(
            "after complete_with_error: completed {}, unflushed {}",
            w.is_completed(),
            w.unflushed_bytes()
        ));
    }
    match w.try_get_memory(1) {
        Err(WriteError::WriterCompleted) => Ok(()),
        other => Err(format!(
            "try_get_memory after completion: {:?}",
            other.map(|m| m.len())
        )),
    }
}

/// Reads and checks bytes until the writer's error arrives.
fn consume_until_failure(r: &mut PipeReader, mut ck: Checker, mode: Mode) -> Result<(), String> {
    let first = loop {
        let at_least = ck.pick_at_least();
        let res = match mode {
            Mode::Blocking => match at_least {
                Some(n) => r.read_at_least_blocking(n),
                None => r.read_blocking(),
            },
            Mode::Async => match at_least {
                Some(n) => block_on(r.read_at_least(n)),
                None => block_on(r.read()),
            },
            Mode::NonBlocking => match r.try_read() {
                Ok(None) => {
                    thread::yield_now();
                    continue;
                }
                Ok(Some(res)) => Ok(res),
                Err(e) => Err(e),
            },
        };
        let res = match res {
            Ok(res) => res,
            Err(e) => break e,
        };
        let at_least = if matches!(mode, Mode::NonBlocking) {
            None
        } else {
            at_least
        };
        let buf = res.buffer();
        if res.is_completed() || res.is_canceled() {
            return Err(format!(
                "read reported completed {} canceled {} instead of the writer's error",
                res.is_completed(),
                res.is_canceled()
            ));
        }
        ck.check(&buf, at_least, false)?;
        let (c, e) = ck.choose(buf.len(), false);
        let (cp, ep) = (buf.position(c), buf.position(e));
        r.advance_to(cp, ep)
            .map_err(|err| format!("advance_to: {err:?}"))?;
        ck.advanced(c, e);
    };
    let ReadError::WriterFailed(e1) = &first else {
        return Err(format!("expected WriterFailed, got {first:?}"));
    };
    if e1.to_string() != "producer exploded" || first.writer_error().is_none() {
        return Err(format!("wrong writer error: {e1}"));
    }
    // Every later read reports the very same error value.
    let again = match mode {
        Mode::Blocking => r.read_blocking().err(),
        Mode::Async => block_on(r.read()).err(),
        Mode::NonBlocking => r.try_read().err(),
    };
    match again {
        Some(ReadError::WriterFailed(e2)) if Arc::ptr_eq(e1, &e2) => {}
        other => return Err(format!("second read after failure: {other:?}")),
    }
    match block_on(r.writer_completion()) {
        Err(e3) if Arc::ptr_eq(e1, &e3) => {}
        other => return Err(format!("writer_completion after failure: {other:?}")),
    }
    if !r.is_writer_completed() {
        return Err("is_writer_completed() is false after the failure".into());
    }
    if ck.head > ck.total {
        return Err(format!("consumed {} bytes of {}", ck.head, ck.total));
    }
    Ok(())
}

fn writer_fails(cfg: &Cfg, mode: Mode, seed: u64) {
    let Setup { opts, pool, lim } = setup(cfg);
    let fail_at = (cfg.bytes / 3) as u64;
    let (mut w, mut r) = ringpipe::pipe(opts);
    // The checker knows one byte more than `fail_at`: the last, unflushed one.
    let ck = Checker::new(seed, fail_at + 1, lim);
    let name = format!("{} / {mode:?} / writer fails", cfg.name);
    run_pair(
        &name,
        &pool,
        Box::new(move || produce_then_fail(&mut w, seed, fail_at, lim, mode)),
        Box::new(move || {
            let r2 = consume_until_failure(&mut r, ck, mode);
            r.complete();
            r2
        }),
    );
}

#[test]
fn writer_fails_mid_stream() {
    for (i, mode) in [Mode::Blocking, Mode::NonBlocking, Mode::Async]
        .into_iter()
        .enumerate()
    {
        writer_fails(&TINY[i % TINY.len()], mode, 0xE770 + i as u64);
        if !cfg!(miri) {
            writer_fails(&ODD[0], mode, 0xE771 + i as u64);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The reader completes early.

#[derive(Clone, Copy, Debug)]
enum Stop {
    Complete,
    Fail,
    Drop,
}

/// Writes with mixed APIs until a flush or write reports the reader's completion, then checks
/// that writing stays harmless.
fn produce_until_reader_gone(
    mut w: PipeWriter,
    seed: u64,
    lim: Limits,
    mode: Mode,
    stop: Stop,
) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ 0x600D);
    let mut pos = 0u64;
    let mut data = Vec::new();
    let mut spins = 0;
    let bound = 100 * N as u64;
    let outcome: Result<FlushResult, WriteError> = loop {
        if pos > bound {
            return Err(format!(
                "wrote {pos} bytes without seeing the reader complete"
            ));
        }
        let piece = pick_piece(&mut rng, &lim).min(3 * lim.capacity + 1);
        if rng.one_in(2) {
            data.resize(piece, 0);
            fill_expected(&mut data, seed, pos);
            let r = match mode {
                Mode::Blocking => w.write_all_blocking(&data),
                Mode::Async => block_on(w.write_all(&data)),
                Mode::NonBlocking => {
                    // try_get_memory / advance / try_flush.
                    let mut rest = &data[..];
                    let mut result = None;
                    while !rest.is_empty() {
                        match w.try_get_memory(0) {
                            Ok(m) => {
                                let k = m.len().min(rest.len());
                                m[..k].copy_from_slice(&rest[..k]);
                                w.advance(k);
                                rest = &rest[k..];
                            }
                            Err(WriteError::Full { .. }) => {
                                if let Some(r) = w.try_flush().transpose() {
                                    if !matches!(r, Ok(FlushResult { .. }) if r.as_ref().is_ok_and(|f| !f.is_completed()))
                                    {
                                        result = Some(r);
                                        break;
                                    }
                                }
                                backoff(&mut spins);
                            }
                            Err(e) => return Err(format!("try_get_memory: {e:?}")),
                        }
                    }
                    match result {
                        Some(r) => r,
                        None => loop {
                            match w.try_flush() {
                                Ok(None) => backoff(&mut spins),
                                Ok(Some(f)) => break Ok(f),
                                Err(e) => break Err(e),
                            }
                        },
                    }
                }
            };
            pos += piece as u64;
            match r {
                Ok(f) if !f.is_completed() && !f.is_canceled() => continue,
                other => break other,
            }
        }
        // get_memory path, then a flush.
        let mut left = piece;
        while left > 0 {
            let hint = pick_hint(&mut rng, &lim, left);
            let len = match w.try_get_memory(hint) {
                Ok(m) => m.len(),
                Err(WriteError::Full { .. }) => {
                    w.commit();
                    match mode {
                        Mode::Blocking => w.get_memory_blocking(hint).map(|m| m.len()),
                        Mode::Async => block_on(w.get_memory(hint)).map(|m| m.len()),
                        Mode::NonBlocking => {
                            backoff(&mut spins);
                            continue;
                        }
                    }
                    .map_err(|e| format!("get_memory({hint}): {e:?}"))?
                }
                Err(e) => return Err(format!("try_get_memory({hint}): {e:?}")),
            };
            check_memory(hint, len, &lim)?;
            let k = pick_take(&mut rng, len.min(left));
            write_granted(&mut w, seed, pos, k)?;
            pos += k as u64;
            left -= k;
        }
        let r = match mode {
            Mode::Blocking => w.flush_blocking(),
            Mode::Async => block_on(w.flush()),
            Mode::NonBlocking => loop {
                match w.try_flush() {
                    Ok(None) => backoff(&mut spins),
                    Ok(Some(f)) => break Ok(f),
                    Err(e) => break Err(e),
                }
            },
        };
        match r {
            Ok(f) if !f.is_completed() && !f.is_canceled() => {}
            other => break other,
        }
    };
    // What the writer saw must match how the reader stopped.
    let check_outcome = |what: &str, r: Result<FlushResult, WriteError>| -> Result<(), String> {
        match (stop, r) {
            (Stop::Fail, Err(WriteError::ReaderFailed(e)))
                if e.to_string() == "consumer gave up" =>
            {
                Ok(())
            }
            (Stop::Complete | Stop::Drop, Ok(f)) if f.is_completed() && !f.is_canceled() => Ok(()),
            (_, other) => Err(format!(
                "{what} after the reader stopped ({stop:?}): {other:?}"
            )),
        }
    };
    check_outcome("first outcome", outcome)?;
    if !w.is_reader_completed() {
        return Err("is_reader_completed() is false".into());
    }
    // Writing after the reader completed: memory is still handed out (scratch), writes are
    // dropped, and every flush reports the completion at once.
    let big = vec![0xAB; 3 * lim.capacity + 5];
    check_outcome("write_all", block_on(w.write_all(&big)))?;
    check_outcome("write_all_blocking", w.write_all_blocking(&big))?;
    let len = w
        .try_get_memory(lim.hint_max)
        .map_err(|e| format!("try_get_memory after reader completion: {e:?}"))?
        .len();
    w.advance(len);
    check_outcome("flush_blocking", w.flush_blocking())?;
    check_outcome("try_flush", w.try_flush().map(|f| f.expect("not paused")))?;
    match (stop, block_on(w.reader_completion())) {
        (Stop::Fail, Err(e)) if e.to_string() == "consumer gave up" => {}
        (Stop::Complete | Stop::Drop, Ok(())) => {}
        (_, other) => return Err(format!("reader_completion: {other:?}")),
    }
    Ok(())
}

fn consume_then_stop(
    mut r: PipeReader,
    mut ck: Checker,
    stop_at: u64,
    mode: Mode,
    stop: Stop,
) -> Result<(), String> {
    while ck.head < stop_at {
        let at_least = if matches!(mode, Mode::NonBlocking) {
            None
        } else {
            ck.pick_at_least()
        };
        let res = match mode {
            Mode::Blocking => match at_least {
                Some(n) => r.read_at_least_blocking(n),
                None => r.read_blocking(),
            },
            Mode::Async => match at_least {
                Some(n) => block_on(r.read_at_least(n)),
                None => block_on(r.read()),
            },
            Mode::NonBlocking => match r.try_read() {
                Ok(None) => {
                    thread::yield_now();
                    continue;
                }
                other => other.map(|r| r.unwrap()),
            },
        }
        .map_err(|e| format!("read at {}: {e:?}", ck.head))?;
        let buf = res.buffer();
        if res.is_completed() || res.is_canceled() {
            return Err(format!("unexpected read result {res:?}"));
        }
        ck.check(&buf, at_least, false)?;
        let (c, e) = ck.choose(buf.len(), false);
        let (cp, ep) = (buf.position(c), buf.position(e));
        r.advance_to(cp, ep)
            .map_err(|err| format!("advance_to: {err:?}"))?;
        ck.advanced(c, e);
    }
    match stop {
        Stop::Complete => r.complete(),
        Stop::Fail => r.complete_with_error("consumer gave up"),
        Stop::Drop => drop(r),
    }
    Ok(())
}

#[test]
fn reader_completes_early() {
    let cases = [
        (TINY[0], Mode::Blocking, Stop::Complete),
        (TINY[4], Mode::Async, Stop::Fail),
        (TINY[2], Mode::NonBlocking, Stop::Drop),
        (ODD[0], Mode::Blocking, Stop::Fail),
        (ODD[0], Mode::Async, Stop::Drop),
        (ODD[1], Mode::NonBlocking, Stop::Complete),
        (DEFAULT, Mode::Blocking, Stop::Drop),
        (DEFAULT, Mode::Async, Stop::Complete),
        (DEFAULT, Mode::NonBlocking, Stop::Fail),
    ];
    for (i, &(cfg, mode, stop)) in miri_subset(&cases, 3).iter().enumerate() {
        let Setup { opts, pool, lim } = setup(&cfg);
        let seed = 0x57_0900 + i as u64;
        let stop_at = (cfg.bytes / 10) as u64;
        let (w, r) = ringpipe::pipe(opts);
        let ck = Checker::new(seed, u64::MAX, lim);
        let name = format!("{} / {mode:?} / reader {stop:?} early", cfg.name);
        run_pair(
            &name,
            &pool,
            Box::new(move || produce_until_reader_gone(w, seed, lim, mode, stop)),
            Box::new(move || consume_then_stop(r, ck, stop_at, mode, stop)),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Regression: a writer waiting for room races a reader that consumes everything and waits for
// more.

/// Regression (found by this file, fixed in the core by 04a0209, "stale deadlock verdicts"):
/// the writer's deadlock check used the room it computed before setting its waiting bits, and
/// the reader's paired a `state` snapshot with the writer's needs from a newer wait. A writer
/// waiting for room and a reader that consumes everything then waits for more both got
/// `WouldDeadlock` (the reader with `buffered: 0`) although there was room. The reader here
/// always consumes everything before it waits, so neither side may ever err.
///
/// Both sides poll (`poll_get_memory` / `poll_read` with a no-op waker) in a loop, so every
/// failed poll runs through the window that was racy.
#[test]
fn writer_waiting_for_room_vs_reader_draining_never_deadlocks() {
    let total: u64 = if cfg!(miri) { 500 } else { 120_000 };
    for &(cs, cap) in miri_subset(&[(1, 2), (2, 3), (4, 9)], 1) {
        let pool = ChunkPool::new(cs, 8).unwrap();
        let opts = PipeOptions::builder()
            .pool(pool.clone())
            .capacity(cap)
            .pause_writer_threshold(0)
            .wake_fences(support::test_fences())
            .build()
            .unwrap();
        let (mut w, mut r) = ringpipe::pipe(opts);
        let seed = 0xDEAD_0000 + cs as u64;
        run_pair(
            &format!("chunk {cs}, cap {cap} / drain race"),
            &pool,
            Box::new(move || {
                let waker = Waker::from(Arc::new(NoWake));
                let mut cx = Context::from_waker(&waker);
                let mut pos = 0u64;
                while pos < total {
                    // Fill what room there is, publish, then poll for room until it comes.
                    while let Ok(m) = w.try_get_memory(1) {
                        let k = m.len().min((total - pos) as usize);
                        fill_expected(&mut m[..k], seed, pos);
                        w.advance(k);
                        pos += k as u64;
                        if pos == total {
                            break;
                        }
                    }
                    w.commit();
                    if pos == total {
                        break;
                    }
                    let mut spins = 0;
                    loop {
                        match w.poll_get_memory(&mut cx, 1) {
                            Poll::Ready(Ok(_)) => break,
                            Poll::Ready(Err(e)) => {
                                return Err(format!("poll_get_memory(1) at {pos}: {e:?}"))
                            }
                            Poll::Pending => backoff(&mut spins),
                        }
                    }
                }
                Ok(())
            }),
            Box::new(move || {
                let waker = Waker::from(Arc::new(NoWake));
                let mut cx = Context::from_waker(&waker);
                let mut head = 0u64;
                let mut spins = 0;
                loop {
                    let res = match r.poll_read(&mut cx) {
                        Poll::Pending => {
                            backoff(&mut spins);
                            continue;
                        }
                        Poll::Ready(res) => {
                            res.map_err(|e| format!("poll_read at {head}: {e:?}"))?
                        }
                    };
                    let buf = res.buffer();
                    for chunk in buf.chunks() {
                        for &b in chunk {
                            if b != expected(seed, head) {
                                return Err(format!("byte {head} differs"));
                            }
                            head += 1;
                        }
                    }
                    let (end, done) = (buf.end(), res.is_completed());
                    r.advance_to(end, end).map_err(|e| format!("{e:?}"))?;
                    if done {
                        break;
                    }
                }
                if head != total {
                    return Err(format!("got {head} of {total} bytes"));
                }
                Ok(())
            }),
        );
    }
}
