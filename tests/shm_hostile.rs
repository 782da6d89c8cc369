//! The pipe over shared memory against a hostile peer: another process (this test binary run
//! again, `support::child`) that takes the other end of thousands of shared rings by hand,
//! with raw `recvmsg` and `mmap` and nothing of ringpipe's, and for a few milliseconds writes
//! whatever it likes wherever it likes in the region (cursors, state bits, slot lengths, error
//! records, data), mixed with steps a real peer could take; it rings this process without end
//! or never reads its own rings, writes garbage or descriptors on the ring's socket or closes
//! it early, punches holes in the memfd, completes (with an error record of any length), then
//! leaves.
//!
//! Meanwhile this process drives its end as an application would: reads with random
//! consumed/examined positions, touching every byte of every result; grants, writes, commits
//! and flushes of random sizes; blocking calls guarded by a canceller thread. What must hold,
//! run after run:
//!
//! * every call returns (a watchdog fails the test, with the seed, if a run takes more than
//!   [`RUN_LIMIT`]), nothing panics (each run runs under `catch_unwind`), and no access leaves
//!   the mapping (a crash fails the test; see AddressSanitizer below);
//! * what the peer does reads as garbage bytes or as an error: `ReadError::WriterFailed` /
//!   `WriteError::ReaderFailed` with a [`PeerError`]; once a call has reported the peer gone
//!   or in violation of the protocol, every later read or flush reports an error too, and
//!   after the peer has left, an error (or the peer's completion) comes;
//! * at the end, no descriptor of the rings is left open in this process and no watcher
//!   thread (`ringpipe-shm-watch`) is left running;
//! * the hostility is seen: some runs end in `PeerError::ProtocolViolation` and some in
//!   `PeerError::Gone` (so this test fails if detection breaks).
//!
//! Knobs: `RINGPIPE_HOSTILE_RUNS` (default 2000, about 8 s in a debug build),
//! `RINGPIPE_HOSTILE_SEED` (default: from the clock; printed at the start and in every
//! failure), `RINGPIPE_HOSTILE_FIRST` (the first run, to replay a failing one:
//! `RINGPIPE_HOSTILE_SEED=<seed> RINGPIPE_HOSTILE_FIRST=<run> RINGPIPE_HOSTILE_RUNS=1`; the
//! choices replay, the timing between the processes only roughly), `RINGPIPE_HOSTILE_VERBOSE`
//! (the peer says what it does in each run). The counts of what the runs saw are printed at
//! the end (`--nocapture` to see them).
//!
//! Under AddressSanitizer (nightly; no `-Zbuild-std` or `rust-src` needed: std itself is not
//! instrumented, ringpipe and this test are), under a minute on 2 cores from a clean build
//! (25-40 s to build, 7-12 s for the 2000 runs):
//!
//! ```text
//! RUSTFLAGS="-Zsanitizer=address" cargo +nightly test --target x86_64-unknown-linux-gnu --test shm_hostile
//! ```
#![cfg(all(target_os = "linux", not(miri)))]

mod support;

use ringpipe::shm::{self, PeerError, SharedReader, SharedWriter};
use ringpipe::{PipeOptions, ReadError, Sequence, SpinWait, WriteError};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};
use support::child::{command, role, say, ChildProc};
use support::procfs::{open_fds, peak_rss_kib, threads_named};
use support::rng::{splitmix64, Rng};
use support::sockets::{recv_fds, send_fds};

const RUNS_VAR: &str = "RINGPIPE_HOSTILE_RUNS";
const SEED_VAR: &str = "RINGPIPE_HOSTILE_SEED";
const FIRST_VAR: &str = "RINGPIPE_HOSTILE_FIRST";
/// Set: the peer says what it does in each run (on stderr).
const VERBOSE_VAR: &str = "RINGPIPE_HOSTILE_VERBOSE";
const DEFAULT_RUNS: u64 = 2000;

/// The longest a run may take before the watchdog calls it a hang (a run takes a few ms).
const RUN_LIMIT: Duration = Duration::from_secs(10);
/// How long after the peer has left an error (or its completion) must come.
const GONE_LIMIT: Duration = Duration::from_secs(3);
/// The longest the hostile peer works on one ring, in µs.
const MAX_HOSTILE_US: usize = 5000;
/// The watcher thread of a shared ring's end.
const WATCHER: &str = "ringpipe-shm-watch";

// ---- What the hostile peer knows of the region ----------------------------------------------
//
// The handshake's fields (`src/shm/layout.rs`, `encode`; checked: a new handshake shows) and the
// bits of the ring's state word (`src/protocol/mod.rs`). The peer needs the bits and offsets
// only to aim: if they drift, it scribbles less precisely, and the test still runs.

/// The handshake's length and magic (protocol version 3).
const HELLO_LEN: usize = 80;
const MAGIC: &[u8; 8] = b"RPSHM\x00\x03\x00";

const WRITER_COMPLETED: u32 = 1 << 0;
const READER_COMPLETED: u32 = 1 << 1;
const WRITER_FAILED: u32 = 1 << 2;
const READER_FAILED: u32 = 1 << 3;
const READER_WAITING: u32 = 1 << 6;
const WRITER_WAITING: u32 = 1 << 7;
/// The bits of the state word that exist.
const STATE_BITS: u32 = 12;
/// A slot's length while the writer fills it.
const OPEN: u64 = u64::MAX;

/// A handshake, decoded by hand.
#[derive(Clone, Copy, Debug)]
struct Hello {
    /// 0: the peer is the writer, 1: the reader.
    role: u64,
    slots: usize,
    chunk: usize,
    capacity: u64,
    len: usize,
    /// `size_of::<Words>()`: three cache-padded lines (writer, reader, state).
    words: usize,
    /// `size_of::<ErrorRecord>()`.
    record: usize,
}

impl Hello {
    fn decode(m: &[u8]) -> Hello {
        assert_eq!(m.len(), HELLO_LEN, "handshake length");
        assert_eq!(&m[..8], MAGIC, "handshake magic");
        let f = |i: usize| u64::from_le_bytes(m[8 + 8 * i..16 + 8 * i].try_into().unwrap());
        Hello {
            role: f(0),
            slots: f(1) as usize,
            chunk: f(2) as usize,
            capacity: f(3),
            len: f(6) as usize,
            words: f(7) as usize,
            record: f(8) as usize,
        }
    }

    /// Bytes per cursor line.
    fn line(&self) -> usize {
        self.words / 3
    }
    fn errors_off(&self) -> usize {
        self.words.next_multiple_of(8)
    }
    fn lens_off(&self) -> usize {
        (self.errors_off() + 2 * self.record).next_multiple_of(8)
    }
    /// Where the slots start.
    fn data_off(&self) -> usize {
        (self.lens_off() + 8 * self.slots).next_multiple_of(page())
    }
    fn tail(&self) -> usize {
        0
    }
    fn head(&self) -> usize {
        self.line()
    }
    fn examined(&self) -> usize {
        self.line() + 8
    }
    fn released(&self) -> usize {
        self.line() + 16
    }
    fn state(&self) -> usize {
        2 * self.line()
    }
    /// The cursors and wait words of both sides (the state word apart).
    fn cursors(&self) -> [usize; 12] {
        let l = self.line();
        [
            0,
            8,
            16,
            24,
            32,
            l,
            l + 8,
            l + 16,
            l + 24,
            l + 32,
            l + 40,
            l + 48,
        ]
    }
    /// The futex word a blocking call of the writer (`reader == false`) or the reader waits
    /// on: bit 0 says it does, the rest counts wakes.
    fn park(&self, reader: bool) -> usize {
        if reader {
            self.line() + 48
        } else {
            32
        }
    }
    fn len_of(&self, slot: usize) -> usize {
        self.lens_off() + 8 * slot
    }
}

/// Wakes whoever waits on the futex word `word` (in any process that maps it).
fn futex_wake(word: &AtomicU32) {
    // SAFETY: a live, aligned 32-bit word of the mapping; FUTEX_WAKE reads nothing of it.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
}

fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

// ---- The hostile peer ---------------------------------------------------------------------

/// The region, mapped by hand.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(memfd: &OwnedFd, len: usize) -> Mapping {
        // SAFETY: a fresh shared mapping of `len` bytes of the memfd (the handshake's length,
        // which the memfd's seals keep); the kernel picks the address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                memfd.as_raw_fd(),
                0,
            )
        };
        assert_ne!(
            ptr,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        Mapping {
            ptr: ptr.cast(),
            len,
        }
    }

    /// The 8-byte word at `off` (8-aligned, inside).
    fn word(&self, off: usize) -> &AtomicU64 {
        assert!(off % 8 == 0 && off + 8 <= self.len);
        // SAFETY: inside the mapping, which lives as long as `self`; aligned (the mapping is
        // page-aligned); an atomic, since the other process uses the word at the same time.
        unsafe { AtomicU64::from_ptr(self.ptr.add(off).cast()) }
    }

    /// The 4-byte word at `off` (4-aligned, inside).
    fn word32(&self, off: usize) -> &AtomicU32 {
        assert!(off % 4 == 0 && off + 4 <= self.len);
        // SAFETY: as in `word`.
        unsafe { AtomicU32::from_ptr(self.ptr.add(off).cast()) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our mapping of `len` bytes; nothing borrows it any more.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Clears `O_NONBLOCK` on `fd`'s open file description (the peer's own end of the socket:
/// only its own calls are concerned; ringpipe's never depend on the flag).
fn make_blocking(fd: &OwnedFd) {
    // SAFETY: F_GETFL / F_SETFL on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
}

/// A value to write over a word whose value is `cur`: mostly plausible ones (near it, small,
/// the sizes, the special ones), some random.
fn value(rng: &mut Rng, cur: u64, h: &Hello) -> u64 {
    let chunk = h.chunk as u64;
    match rng.below(16) {
        0 => 0,
        1 => u64::MAX, // OPEN, usize::MAX
        2 => 1 << rng.below(64),
        3 => h.capacity.wrapping_add(rng.below(3) as u64).wrapping_sub(1),
        4 => chunk.wrapping_add(rng.below(3) as u64).wrapping_sub(1),
        5 => rng.below(8) as u64,
        6..=8 => cur.wrapping_add(rng.range(1, 2 * h.chunk) as u64),
        9 => cur.wrapping_sub(rng.range(1, 64) as u64),
        10 => cur.wrapping_add(rng.below(h.capacity as usize + 1) as u64),
        11 => u64::MAX - rng.below(4) as u64,
        12 => (1 << 63) + rng.below(4) as u64,
        13 => h.slots as u64 + rng.below(3) as u64,
        _ => rng.next(),
    }
}

/// Uniform in `lo..=hi`, for any two values.
fn between(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    match (hi - lo).checked_add(1) {
        Some(n) => lo + rng.next() % n,
        None => rng.next(),
    }
}

/// One hostile step on the state word: mostly the waiting, cancel, stall and mode bits, the
/// completion bits less often (a peer seen completed ends the interest of a run sooner).
fn hit_state(rng: &mut Rng, state: &AtomicU32) {
    match rng.below(8) {
        0..=2 => {
            state.fetch_or(
                1 << (4 + rng.below(STATE_BITS as usize - 4)),
                Ordering::SeqCst,
            );
        }
        3 | 4 => {
            state.fetch_and(!(1 << rng.below(STATE_BITS as usize)), Ordering::SeqCst);
        }
        5 => {
            state.fetch_or(1 << rng.below(4), Ordering::SeqCst);
        }
        6 => state.store(rng.next() as u32, Ordering::SeqCst),
        _ => {
            state.fetch_xor(
                (rng.below(1 << (STATE_BITS - 4)) as u32) << 4,
                Ordering::SeqCst,
            );
        }
    }
}

/// What the peer does once in a run, at a moment of its choosing.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// Bytes on the ring's socket (whatever they are, they read as rings).
    Garbage,
    /// A message with a descriptor attached on the ring's socket.
    PassFd,
    /// Closes the ring's socket, and goes on scribbling.
    CloseSocket,
    /// Punches a hole in the memfd (the pages read as zeros again).
    PunchHole,
    /// Rings the other process without end (every step, in bursts).
    Flood,
    /// Waits as a parked side would (its waiting bit, a wait position just ahead), and never
    /// reads its socket (made blocking on its side): the other process's rings pile up there
    /// until it is full, and ringing must not block then.
    Deaf,
    /// Completes its side cleanly (the completion bit), or with an error record.
    Complete { failed: bool },
}

/// How the peer paces its steps.
#[derive(Clone, Copy, Debug)]
enum Pace {
    Busy,
    Spin(usize),
    Sleep(u64),
}

/// The peer's end of one ring: the socket it came over (the rings both ways), the region.
struct Peer {
    h: Hello,
    map: Mapping,
    memfd: OwnedFd,
    socket: Option<OwnedFd>,
    flood: bool,
    /// As the reader, consumes bytes but never gives slots back.
    hoard: bool,
}

impl Peer {
    fn is_writer(&self) -> bool {
        self.h.role == 0
    }

    /// Rings the other process: a byte on the socket, as ringpipe does (never waiting).
    fn ring(&self) {
        if let Some(s) = &self.socket {
            let _ = send_fds(s.as_fd(), &[1], &[], libc::MSG_DONTWAIT);
        }
    }

    /// One step: a word overwritten (mostly one the protocol reads), a plausible step, or a
    /// ring; in a quiet run, plausible steps only.
    fn step(&mut self, rng: &mut Rng, quiet: bool) {
        let roll = if quiet { 800 } else { rng.below(1000) };
        let h = self.h;
        match roll {
            0..=449 => {
                // A live word: a cursor, the state, a slot length or an error length.
                match rng.below(12) {
                    0..=6 => {
                        let w = self.map.word(h.cursors()[rng.below(12)]);
                        w.store(value(rng, w.load(Ordering::SeqCst), &h), Ordering::SeqCst);
                    }
                    7 | 8 => hit_state(rng, self.map.word32(h.state())),
                    9 | 10 => {
                        let w = self.map.word(h.len_of(rng.below(h.slots)));
                        let v = match rng.below(4) {
                            0 => OPEN,
                            1 => rng.range(1, h.chunk) as u64,
                            _ => value(rng, w.load(Ordering::SeqCst), &h),
                        };
                        w.store(v, Ordering::SeqCst);
                    }
                    _ => {
                        let rec = h.errors_off() + h.record * rng.below(2);
                        let len = [0, 1, 255, 256, 257, u32::MAX][rng.below(6)];
                        self.map.word32(rec).store(len, Ordering::SeqCst);
                    }
                }
            }
            450..=649 => {
                // Anywhere before the slots: words, padding, error records, lengths.
                let w = self.map.word(8 * rng.below(h.data_off() / 8));
                w.store(value(rng, w.load(Ordering::SeqCst), &h), Ordering::SeqCst);
            }
            650..=699 => {
                // Anywhere at all, slots included.
                self.map
                    .word(8 * rng.below(h.len / 8))
                    .store(rng.next(), Ordering::SeqCst);
            }
            700..=949 => self.plausible(rng),
            _ => self.ring(),
        }
        if self.flood {
            for _ in 0..rng.range(1, 64) {
                self.ring();
            }
        }
    }

    /// A step a real peer could take: the writer commits some of the room the reader left
    /// (writing bytes and sealing slots), the reader consumes and examines some of what was
    /// committed; then wakes the other process if its waiting bit is set.
    fn plausible(&mut self, rng: &mut Rng) {
        let h = self.h;
        let state = self.map.word32(h.state());
        let tail = self.map.word(h.tail());
        let head = self.map.word(h.head());
        let (t, hd) = (tail.load(Ordering::SeqCst), head.load(Ordering::SeqCst));
        let wake = if self.is_writer() {
            let hi = hd.saturating_add(h.capacity);
            if hi > t {
                let new = t + 1 + rng.below((hi - t).min(1 << 20) as usize) as u64;
                for _ in 0..rng.below(4) {
                    let off = h.data_off() + 8 * rng.below((h.len - h.data_off()) / 8);
                    self.map.word(off).store(rng.next(), Ordering::SeqCst);
                }
                if rng.one_in(3) {
                    let slot = (t / h.chunk as u64) as usize % h.slots;
                    let len = rng.range(1, h.chunk) as u64;
                    self.map.word(h.len_of(slot)).store(len, Ordering::SeqCst);
                    self.map
                        .word(h.len_of((slot + 1) % h.slots))
                        .store(OPEN, Ordering::SeqCst);
                }
                tail.store(new, Ordering::SeqCst);
            }
            READER_WAITING
        } else {
            if t >= hd {
                // Often everything: room for bytes, while slots come back seldom.
                let new = if rng.one_in(2) {
                    t
                } else {
                    between(rng, hd, t)
                };
                head.store(new, Ordering::SeqCst);
                let ex = between(rng, new, t);
                self.map.word(h.examined()).store(ex, Ordering::SeqCst);
                if !self.hoard && rng.one_in(6) {
                    let rel = self.map.word(h.released());
                    let r = rel.load(Ordering::SeqCst);
                    if r < new / h.chunk as u64 {
                        rel.store(r + 1, Ordering::SeqCst);
                    }
                }
            }
            WRITER_WAITING
        };
        if state.load(Ordering::SeqCst) & wake != 0 {
            // As ringpipe wakes: a blocking call on its futex word, anything else by its bell
            // (and now and then the wrong way).
            let park = self.map.word32(h.park(self.is_writer()));
            if park.load(Ordering::SeqCst) & 1 != 0 && !rng.one_in(8) {
                park.fetch_add(2, Ordering::SeqCst);
                futex_wake(park);
            } else {
                self.ring();
            }
        }
    }

    fn event(&mut self, rng: &mut Rng, e: Event) {
        let h = self.h;
        match e {
            Event::Garbage => {
                if let Some(s) = &self.socket {
                    let junk: Vec<u8> = (0..rng.range(1, 64)).map(|_| rng.next() as u8).collect();
                    let _ = send_fds(s.as_fd(), &junk, &[], libc::MSG_DONTWAIT);
                }
            }
            Event::PassFd => {
                if let Some(s) = &self.socket {
                    let _ = send_fds(s.as_fd(), b"x", &[self.memfd.as_fd()], libc::MSG_DONTWAIT);
                }
            }
            Event::CloseSocket => self.socket = None,
            Event::PunchHole => {
                let from = if rng.one_in(2) { 0 } else { h.data_off() };
                // SAFETY: fallocate on a memfd of ours; a failure changes nothing.
                unsafe {
                    libc::fallocate(
                        self.memfd.as_raw_fd(),
                        libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                        from as libc::off_t,
                        (h.len - from) as libc::off_t,
                    )
                };
            }
            Event::Flood => self.flood = true,
            Event::Deaf => {
                if let Some(s) = &self.socket {
                    make_blocking(s);
                }
                let waiting = if self.is_writer() {
                    WRITER_WAITING
                } else {
                    READER_WAITING
                };
                self.map
                    .word32(h.state())
                    .fetch_or(waiting, Ordering::SeqCst);
                if !self.is_writer() {
                    // Waits for the next byte: every commit rings this side.
                    let t = self.map.word(h.tail()).load(Ordering::SeqCst);
                    self.map
                        .word(h.line() + 24)
                        .store(t.wrapping_add(1), Ordering::SeqCst);
                }
            }
            Event::Complete { failed } => {
                let (completed, fail) = if self.is_writer() {
                    (WRITER_COMPLETED, WRITER_FAILED)
                } else {
                    (READER_COMPLETED, READER_FAILED)
                };
                let mut bits = completed;
                if failed {
                    let rec = h.errors_off() + h.record * (h.role as usize);
                    for i in 0..(h.record - 8) / 8 {
                        self.map
                            .word(rec + 8 + 8 * i)
                            .store(rng.next(), Ordering::SeqCst);
                    }
                    let len = rng.below(300) as u32;
                    self.map.word32(rec).store(len, Ordering::SeqCst);
                    bits |= fail;
                }
                self.map.word32(h.state()).fetch_or(bits, Ordering::SeqCst);
                self.ring();
            }
        }
    }
}

/// The peer's work on one ring, whose socket arrived as `socket`.
fn attack(rng: &mut Rng, socket: OwnedFd) {
    if rng.one_in(25) {
        // Gone before even looking at the handshake (its descriptors are closed unread).
        return;
    }
    let mut hello = [0u8; HELLO_LEN + 1];
    let (n, fds) = recv_fds(socket.as_fd(), &mut hello, 1).expect("the handshake");
    let h = Hello::decode(&hello[..n]);
    let [memfd]: [OwnedFd; 1] = fds.try_into().expect("the memfd with the handshake");
    let map = Mapping::new(&memfd, h.len);
    let mut peer = Peer {
        h,
        map,
        memfd,
        socket: Some(socket),
        flood: false,
        hoard: rng.one_in(3),
    };
    let us = rng.below(MAX_HOSTILE_US + 1) as u64;
    let quiet = rng.one_in(8);
    let pace = match rng.below(4) {
        0 => Pace::Busy,
        1 => Pace::Spin(rng.range(1, 500)),
        2 => Pace::Sleep(rng.range(1, 50) as u64),
        _ => Pace::Sleep(rng.range(50, 500) as u64),
    };
    let mut events: Vec<(u64, Event)> = Vec::new();
    let mut maybe = |rng: &mut Rng, one_in: usize, e: Event| {
        if rng.one_in(one_in) {
            events.push((rng.below(us as usize + 1) as u64, e));
        }
    };
    maybe(rng, 20, Event::Garbage);
    maybe(rng, 40, Event::PassFd);
    maybe(rng, 20, Event::CloseSocket);
    maybe(rng, 50, Event::PunchHole);
    maybe(rng, 30, Event::Flood);
    maybe(rng, 30, Event::Deaf);
    let complete = Event::Complete {
        failed: rng.one_in(2),
    };
    maybe(rng, 15, complete);
    events.sort_by_key(|e| std::cmp::Reverse(e.0));
    if std::env::var_os(VERBOSE_VAR).is_some() {
        eprintln!(
            "peer role {} for {us} us, quiet {quiet}, {pace:?}, events {events:?}",
            h.role
        );
    }

    let start = Instant::now();
    loop {
        let now = start.elapsed().as_micros() as u64;
        while events.last().is_some_and(|e| e.0 <= now) {
            let (_, e) = events.pop().unwrap();
            peer.event(rng, e);
        }
        if now >= us {
            break;
        }
        peer.step(rng, quiet);
        match pace {
            Pace::Busy => {}
            Pace::Spin(n) => (0..n).for_each(|_| std::hint::spin_loop()),
            Pace::Sleep(us) => thread::sleep(Duration::from_micros(us)),
        }
    }
    // Leaves: unmaps, closes the memfd and the socket.
}

/// The per-run seeds of the two processes.
fn run_seed(seed: u64, run: usize, peer: bool) -> u64 {
    splitmix64(seed ^ splitmix64(2 * run as u64 + peer as u64))
}

/// The peer of `a_blocking_read_is_not_held_by_a_peer_that_never_wakes_it`: takes a ring's
/// writer end, waits until the reader is parked on its futex word, commits a byte without a
/// wake of any kind, says so, and keeps the ring (and its socket) until the stream ends.
fn silent_writer(stream: &mut UnixStream) {
    let mut tag = [0u8; 1];
    let (_, fds) = recv_fds(stream.as_fd(), &mut tag, 1).expect("the ring's end");
    let [socket]: [OwnedFd; 1] = fds.try_into().expect("one socket");
    let mut hello = [0u8; HELLO_LEN + 1];
    let (n, fds) = recv_fds(socket.as_fd(), &mut hello, 1).expect("the handshake");
    let h = Hello::decode(&hello[..n]);
    assert_eq!(h.role, 0, "the writer's end");
    let [memfd]: [OwnedFd; 1] = fds.try_into().expect("the memfd");
    let map = Mapping::new(&memfd, h.len);
    let parked = || {
        map.word32(h.state()).load(Ordering::SeqCst) & READER_WAITING != 0
            && map.word32(h.park(true)).load(Ordering::SeqCst) & 1 != 0
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !parked() {
        assert!(Instant::now() < deadline, "the reader never parked");
        thread::sleep(Duration::from_millis(1));
    }
    map.word(h.data_off()).store(0x2a, Ordering::SeqCst);
    map.word(h.tail()).store(1, Ordering::SeqCst);
    say("committed");
    let _ = stream.read(&mut tag);
}

/// The hostile process: takes ring after ring from the stream `args[1]` (inherited), attacks
/// each, and says when it is done with it (one byte back), until the stream ends.
#[test]
fn child_main() {
    let Some(args) = role() else { return };
    let fd: RawFd = args[1].parse().unwrap();
    // A child never outlives a hung test by much (the stream's end is how it normally goes).
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(1800));
        std::process::exit(3);
    });
    // SAFETY: the parent made this descriptor for us and cleared close-on-exec on it only;
    // nothing else here owns it.
    let mut stream = unsafe { UnixStream::from_raw_fd(fd) };
    say("ready");
    if args[0] == "silent-writer" {
        return silent_writer(&mut stream);
    }
    assert_eq!(args[0], "hostile");
    let seed: u64 = args[2].parse().unwrap();
    let mut run: usize = args[3].parse().unwrap();
    loop {
        let mut tag = [0u8; 1];
        let (n, fds) = recv_fds(stream.as_fd(), &mut tag, 1).expect("the next ring's end");
        if n == 0 {
            return;
        }
        let [socket]: [OwnedFd; 1] = fds.try_into().expect("one socket with the tag");
        let mut rng = Rng::new(run_seed(seed, run, true));
        attack(&mut rng, socket);
        stream.write_all(&[1]).expect("telling the parent");
        run += 1;
    }
}

// ---- This process's end -------------------------------------------------------------------

/// What the other side's error says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Violation(&'static str),
    Gone,
    /// It completed with an error (its FAILED bit): the message it left.
    Failed,
}

fn seen(e: &ringpipe::CompletionError) -> Seen {
    match e.downcast_ref::<PeerError>() {
        Some(PeerError::ProtocolViolation { what, .. }) => Seen::Violation(what),
        Some(PeerError::Gone) => Seen::Gone,
        Some(PeerError::Failed(_)) => Seen::Failed,
        Some(other) => panic!("a peer error of a new kind: {other:?}"),
        None => panic!("the other side's error is not a PeerError: {e}"),
    }
}

/// What one run saw.
#[derive(Debug, Default)]
struct Track {
    /// The first error of the other side, and whether the peer was still there then.
    first: Option<(Seen, bool)>,
    /// The first error of the other side, after which every read and flush must fail.
    sticky: Option<Seen>,
    saw_violation: Option<&'static str>,
    saw_gone: bool,
    /// A result or flush said the other side completed (cleanly).
    completed: bool,
    peer_left: bool,
    /// This end was dropped before the peer left (the run looked for no end).
    dropped_early: bool,
    deadlocks: usize,
    canceled: usize,
    bytes: u64,
}

impl Track {
    fn peer_error(&mut self, e: &ringpipe::CompletionError) {
        let s = seen(e);
        if self.first.is_none() {
            self.first = Some((s, !self.peer_left));
        }
        self.sticky.get_or_insert(s);
        match s {
            Seen::Violation(what) => {
                self.saw_violation.get_or_insert(what);
            }
            Seen::Gone => self.saw_gone = true,
            Seen::Failed => {}
        }
    }

    /// A call returned `what` (no error of the other side): not allowed after a sticky one.
    fn no_peer_error(&self, what: impl std::fmt::Debug) {
        if let Some(s) = self.sticky {
            panic!("after the other side read as {s:?}, a call returned {what:?}");
        }
    }

    /// Whether the run has seen the end of the other side (an error or a completion).
    fn ended(&self) -> bool {
        self.first.is_some() || self.completed
    }
}

/// Runs `f` while a thread calls `cancel` after `after`, and again every millisecond until
/// `f` returns: a blocking call on a silent (or cancel-clearing) peer ends.
fn guarded<T>(cancel: impl Fn() + Send + 'static, after: Duration, f: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let t = thread::spawn(move || {
        thread::park_timeout(after);
        while !stopped.load(Ordering::SeqCst) {
            cancel();
            thread::park_timeout(Duration::from_millis(1));
        }
    });
    let out = f();
    stop.store(true, Ordering::SeqCst);
    t.thread().unpark();
    t.join().expect("the canceller");
    out
}

/// Touches every byte of `buf` (and of a random slice of it, a copy, a search), checking the
/// lengths agree; the bytes themselves are the peer's, garbage, and may change meanwhile.
fn touch(buf: Sequence<'_>, rng: &mut Rng) -> u64 {
    let mut sum = 0u64;
    let mut n = 0;
    for chunk in buf.chunks() {
        assert!(!chunk.is_empty(), "an empty chunk");
        sum = chunk.iter().fold(sum, |s, &b| s.wrapping_add(b as u64));
        n += chunk.len();
    }
    assert_eq!(n, buf.len(), "the chunks' lengths against the buffer's");
    if rng.one_in(4) {
        assert_eq!(buf.to_vec().len(), buf.len());
    }
    if rng.one_in(4) && !buf.is_empty() {
        let a = rng.below(buf.len() + 1);
        let b = rng.range(a, buf.len());
        let part = buf.slice(a..b);
        assert_eq!(part.len(), b - a);
        let mut copy = vec![0; part.len()];
        part.copy_to_slice(&mut copy);
        let _ = part.find(rng.next() as u8);
        let _ = part.first_chunk().len() + part.is_single_chunk() as usize;
    }
    sum
}

/// Takes a read's outcome; returns where to advance to, if anywhere.
fn take_read(
    res: Result<Option<ringpipe::ReadResult<'_>>, ReadError>,
    rng: &mut Rng,
    t: &mut Track,
) -> Option<(ringpipe::Position, ringpipe::Position)> {
    match res {
        Ok(Some(res)) => {
            let buf = res.buffer();
            t.no_peer_error(("a result of", buf.len(), "bytes"));
            std::hint::black_box(touch(buf, rng));
            t.bytes += buf.len() as u64;
            if res.is_completed() {
                t.completed = true;
            }
            let c = rng.below(buf.len() + 1);
            let e = rng.range(c, buf.len());
            // Sometimes everything (the post-departure loop needs it to make progress).
            let (c, e) = if rng.one_in(3) {
                (buf.len(), buf.len())
            } else {
                (c, e)
            };
            Some((buf.position(c), buf.position(e)))
        }
        Ok(None) => {
            t.no_peer_error("no data");
            None
        }
        Err(ReadError::WriterFailed(e)) => {
            t.peer_error(&e);
            None
        }
        Err(e @ ReadError::WouldDeadlock { .. }) => {
            t.no_peer_error(e);
            t.deadlocks += 1;
            None
        }
        Err(e) => panic!("a read failed with {e:?}"),
    }
}

/// One call on the reading end.
fn reader_op(r: &mut SharedReader, rng: &mut Rng, t: &mut Track, blocking: &mut usize) {
    let roll = rng.below(12);
    let to = if roll < 9 || *blocking == 0 {
        let res = r.try_read();
        take_read(res, rng, t)
    } else {
        *blocking -= 1;
        let cancel = r.canceller();
        let after = Duration::from_micros(rng.below(3000) as u64);
        let minimum = rng.range(1, r.capacity());
        let mut rng2 = Rng::new(rng.next());
        let (to, canceled) = guarded(
            move || cancel.cancel_pending_read(),
            after,
            || {
                let res = if roll == 9 {
                    r.read_at_least_blocking(minimum)
                } else {
                    r.read_blocking()
                };
                let canceled = matches!(&res, Ok(res) if res.is_canceled());
                (take_read(res.map(Some), &mut rng2, t), canceled)
            },
        );
        t.canceled += canceled as usize;
        to
    };
    if let Some((c, e)) = to {
        r.advance_to(c, e)
            .expect("advance_to positions of the last result");
    }
    if rng.one_in(20) {
        thread::sleep(Duration::from_micros(rng.below(300) as u64));
    }
}

/// Takes a flush's (or `write_all`'s) outcome.
fn take_flush(res: Result<ringpipe::FlushResult, WriteError>, t: &mut Track) {
    match res {
        Ok(f) => {
            t.no_peer_error(f);
            t.completed |= f.is_completed();
            t.canceled += f.is_canceled() as usize;
        }
        Err(WriteError::ReaderFailed(e)) => t.peer_error(&e),
        Err(e @ (WriteError::WouldDeadlock | WriteError::Canceled)) => {
            t.no_peer_error(&e);
            t.deadlocks += matches!(e, WriteError::WouldDeadlock) as usize;
            t.canceled += matches!(e, WriteError::Canceled) as usize;
        }
        Err(e) => panic!("a flush failed with {e:?}"),
    }
}

/// Fills granted memory (every byte) and advances by a random part of it.
fn fill_and_advance(mem: &mut [u8], rng: &mut Rng) -> usize {
    mem.fill(rng.next() as u8);
    rng.below(mem.len() + 1)
}

/// A size hint: mostly small or up to a slot, sometimes the largest, or one too many.
fn hint(rng: &mut Rng, max: usize) -> usize {
    match rng.below(8) {
        0 => 0,
        1 => max,
        2 => max + 1,
        3 => rng.range(1, 16).min(max),
        4 | 5 => rng.range(max / 2 + 1, max),
        _ => rng.range(1, max),
    }
}

/// Checks memory granted for `hint`: at least the hint (at least 1), at most a slot.
fn check_grant(len: usize, hint: usize, max: usize) {
    assert!(
        len >= hint.max(1) && len <= max,
        "granted {len} bytes for a hint of {hint} (slot/capacity bound {max})"
    );
}

/// One call on the writing end.
fn writer_op(w: &mut SharedWriter, rng: &mut Rng, t: &mut Track, blocking: &mut usize) {
    let max = w.max_memory();
    let roll = match rng.below(16) {
        r @ 11..=13 if *blocking == 0 => r - 3,
        r => r,
    };
    match roll {
        0..=5 => {
            let hint = hint(rng, max);
            match w.try_get_memory(hint) {
                Ok(mem) => {
                    check_grant(mem.len(), hint, max);
                    let n = fill_and_advance(mem, rng);
                    w.advance(n);
                }
                Err(WriteError::Full { .. }) => {}
                Err(WriteError::TooLarge { .. }) => assert!(hint > max),
                Err(e) => panic!("try_get_memory({hint}) failed with {e:?}"),
            }
        }
        6 | 7 => w.commit(),
        8..=10 => match w.try_flush() {
            Ok(Some(f)) => take_flush(Ok(f), t),
            Ok(None) => t.no_peer_error("a paused flush"),
            Err(e) => take_flush(Err(e), t),
        },
        11..=13 => {
            *blocking -= 1;
            let cancel = w.canceller();
            let after = Duration::from_micros(rng.below(3000) as u64);
            let hint = hint(rng, max);
            let data: Vec<u8> = vec![rng.next() as u8; rng.below(3 * max + 1)];
            let mut rng2 = Rng::new(rng.next());
            guarded(
                move || cancel.cancel_pending_flush(),
                after,
                || match roll {
                    11 => take_flush(w.flush_blocking(), t),
                    12 => take_flush(w.write_all_blocking(&data), t),
                    _ => match w.get_memory_blocking(hint) {
                        Ok(mem) => {
                            check_grant(mem.len(), hint, max);
                            let n = fill_and_advance(mem, &mut rng2);
                            w.advance(n);
                        }
                        Err(WriteError::TooLarge { .. }) => assert!(hint > max),
                        Err(e @ (WriteError::WouldDeadlock | WriteError::Canceled)) => {
                            t.deadlocks += matches!(e, WriteError::WouldDeadlock) as usize;
                            t.canceled += matches!(e, WriteError::Canceled) as usize;
                        }
                        Err(e) => panic!("get_memory_blocking({hint}) failed with {e:?}"),
                    },
                },
            );
        }
        14 => {
            let mem = w.granted_memory();
            assert!(mem.len() <= max);
            let n = fill_and_advance(mem, rng);
            w.advance(n);
        }
        _ => thread::sleep(Duration::from_micros(rng.below(300) as u64)),
    }
}

/// Waits for the peer's word that it has left the ring.
fn wait_for_peer(stream: &UnixStream) {
    let mut done = [0u8; 1];
    let n = (&*stream)
        .read(&mut done)
        .expect("reading the hostile peer's stream");
    assert_eq!(n, 1, "the hostile peer died (its stream ended)");
}

/// The options of a run: sizes, thresholds and spin varied a little.
fn options(rng: &mut Rng) -> PipeOptions {
    let chunk = [100, 256, 1000, 4096, 16384][rng.below(5)];
    let capacity = match rng.below(4) {
        0 => rng.range(1, chunk),
        _ => rng.range(chunk, 8 * chunk),
    };
    let spin = if rng.one_in(2) {
        SpinWait::Never
    } else {
        SpinWait::default()
    };
    let b = PipeOptions::builder()
        .capacity(capacity)
        .chunk_size(chunk)
        .spin_wait(spin);
    let b = match rng.below(3) {
        0 => b.pause_writer_threshold(0),
        1 => {
            let pause = rng.range(1, capacity);
            b.pause_writer_threshold(pause)
                .resume_writer_threshold(rng.range(1, pause))
        }
        _ => b,
    };
    b.build().expect("valid options")
}

/// This process's end of a run's ring, reader or writer: what `parent_run` does with it.
trait End: Sized {
    /// A new ring, this end kept, the other one sent over `stream` to the peer.
    fn make(opts: PipeOptions, stream: &UnixStream) -> Self;
    /// One random operation (`reader_op` / `writer_op`).
    fn op(&mut self, rng: &mut Rng, t: &mut Track, blocking: &mut usize);
    /// Completes this end, with an error or not.
    fn finish(&mut self, with_error: bool);
    /// The other side, for messages.
    const OTHER: &'static str;
}

impl End for SharedReader {
    fn make(opts: PipeOptions, stream: &UnixStream) -> Self {
        let (r, peer) = shm::reader(opts).expect("a shared ring");
        peer.send_over(stream).expect("sending the end");
        r
    }
    fn op(&mut self, rng: &mut Rng, t: &mut Track, blocking: &mut usize) {
        reader_op(self, rng, t, blocking);
    }
    fn finish(&mut self, with_error: bool) {
        if with_error {
            self.complete_with_error("the reader gives up");
        } else {
            self.complete();
        }
    }
    const OTHER: &'static str = "writer";
}

impl End for SharedWriter {
    fn make(opts: PipeOptions, stream: &UnixStream) -> Self {
        let (w, peer) = shm::writer(opts).expect("a shared ring");
        peer.send_over(stream).expect("sending the end");
        w
    }
    fn op(&mut self, rng: &mut Rng, t: &mut Track, blocking: &mut usize) {
        writer_op(self, rng, t, blocking);
    }
    fn finish(&mut self, with_error: bool) {
        if with_error {
            self.complete_with_error("the writer gives up");
        } else {
            self.complete();
        }
    }
    const OTHER: &'static str = "reader";
}

/// One run: a ring, its other end sent to the peer, this end driven while the peer attacks,
/// then after it has left until the other side's end shows, then dropped (or, sometimes,
/// dropped while the peer is still there). Even runs read, odd ones write.
fn parent_run(seed: u64, run: usize, stream: &UnixStream) -> Track {
    if run % 2 == 0 {
        drive::<SharedReader>(seed, run, stream)
    } else {
        drive::<SharedWriter>(seed, run, stream)
    }
}

fn drive<E: End>(seed: u64, run: usize, stream: &UnixStream) -> Track {
    let mut rng = Rng::new(run_seed(seed, run, false));
    let opts = options(&mut rng);
    let mut t = Track::default();
    let ops = rng.range(5, 150);
    let mut blocking = rng.below(4);
    // Sometimes this end goes first, while the peer is still at it.
    let early = rng.one_in(8);
    let left = |t: &mut Track| {
        wait_for_peer(stream);
        t.peer_left = true;
        Instant::now() + GONE_LIMIT
    };
    let mut end = E::make(opts, stream);
    for _ in 0..ops {
        end.op(&mut rng, &mut t, &mut blocking);
    }
    if early {
        drop(end);
        left(&mut t);
        t.dropped_early = true;
        return t;
    }
    let deadline = left(&mut t);
    while !t.ended() {
        assert!(
            Instant::now() < deadline,
            "no end of the {} {GONE_LIMIT:?} after it left",
            E::OTHER
        );
        end.op(&mut rng, &mut t, &mut 0);
    }
    let mut blocking = 1;
    for _ in 0..rng.range(1, 6) {
        end.op(&mut rng, &mut t, &mut blocking);
    }
    match rng.below(3) {
        0 => end.finish(false),
        1 => end.finish(true),
        _ => {}
    }
    t
}

/// The counts over all runs.
#[derive(Debug, Default)]
struct Tally {
    runs: usize,
    /// Runs by the first thing they saw of the other side's end.
    first_violation: usize,
    first_gone: usize,
    first_failed: usize,
    only_completed: usize,
    dropped_early: usize,
    /// Runs whose first error came while the peer was still there.
    live: usize,
    saw_violation: usize,
    saw_gone: usize,
    violations: BTreeMap<&'static str, usize>,
    deadlocks: usize,
    canceled: usize,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, t: &Track) {
        self.runs += 1;
        match t.first {
            Some((Seen::Violation(_), _)) => self.first_violation += 1,
            Some((Seen::Gone, _)) => self.first_gone += 1,
            Some((Seen::Failed, _)) => self.first_failed += 1,
            None if t.completed => self.only_completed += 1,
            None => self.dropped_early += 1,
        }
        self.live += t.first.is_some_and(|f| f.1) as usize;
        if let Some(what) = t.saw_violation {
            self.saw_violation += 1;
            *self.violations.entry(what).or_default() += 1;
        }
        self.saw_gone += t.saw_gone as usize;
        self.deadlocks += t.deadlocks;
        self.canceled += t.canceled;
        self.bytes += t.bytes;
    }
}

/// The number in the environment variable `var` (decimal, or hexadecimal after `0x`), or
/// `default` if it is not set.
fn env_or(var: &str, default: u64) -> u64 {
    let Ok(v) = std::env::var(var) else {
        return default;
    };
    let v = v.trim();
    let n = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    n.unwrap_or_else(|_| panic!("{var}={v}: not a number"))
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not a string)".into())
}

/// Starts the peer process in role `args[0]` (its other arguments follow the stream's
/// descriptor): the stream the rings' ends go over, inherited; once it says it is ready.
fn spawn_peer(args: &[&str]) -> (ChildProc, UnixStream) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.as_raw_fd();
    let fd_arg = fd.to_string();
    let mut all = vec![args[0], &fd_arg];
    all.extend_from_slice(&args[1..]);
    let mut cmd = command(&all);
    // SAFETY: runs between fork and exec: one fcntl (async-signal-safe), no allocation (the
    // error is a raw OS error), no lock; captures a `Copy` value.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        })
    };
    let mut child = ChildProc::start(cmd);
    drop(theirs);
    assert_eq!(child.line(), "ready");
    (child, ours)
}

#[test]
fn a_hostile_peer_gets_errors_not_crashes_hangs_or_leaks() {
    let runs = env_or(RUNS_VAR, DEFAULT_RUNS) as usize;
    let first = env_or(FIRST_VAR, 0) as usize;
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let seed = env_or(SEED_VAR, splitmix64(clock));
    let replay = |run: usize| format!("{SEED_VAR}={seed:#x} {FIRST_VAR}={run} {RUNS_VAR}=1");
    eprintln!("shm_hostile: {runs} runs from {first}, {SEED_VAR}={seed:#x}");

    let (child, ours) = spawn_peer(&["hostile", &seed.to_string(), &first.to_string()]);

    let fds_before = open_fds();
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        for run in first..first + runs {
            let r = catch_unwind(AssertUnwindSafe(|| parent_run(seed, run, &ours)));
            let failed = r.is_err();
            let _ = tx.send((run, r.map_err(|p| panic_message(&*p))));
            if failed {
                break;
            }
        }
        ours
    });
    let mut tally = Tally::default();
    for run in first..first + runs {
        match rx.recv_timeout(RUN_LIMIT) {
            Ok((_, Ok(t))) => tally.add(&t),
            Ok((run, Err(msg))) => {
                child.kill();
                panic!("run {run} panicked: {msg}\nreplay with {}", replay(run));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                child.kill();
                panic!(
                    "run {run} hung for {RUN_LIMIT:?}\nreplay with {}",
                    replay(run)
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                child.kill();
                panic!("the thread that drives the runs died at run {run}");
            }
        }
    }
    let ours = worker.join().unwrap();
    let took = started.elapsed();
    eprintln!(
        "shm_hostile: {} runs in {took:.1?} ({:.1?} a run), seed {seed:#x}\n  \
         first seen: violation {}, gone {}, failed {}, only a completion {}, \
         nothing (dropped early) {}\n  \
         an error while the peer was there: {}; runs that saw a violation: {}, gone: {}\n  \
         violations: {:?}\n  deadlocks {}, cancels {}, bytes read {}, peak RSS {} MiB",
        tally.runs,
        took / tally.runs.max(1) as u32,
        tally.first_violation,
        tally.first_gone,
        tally.first_failed,
        tally.only_completed,
        tally.dropped_early,
        tally.live,
        tally.saw_violation,
        tally.saw_gone,
        tally.violations,
        tally.deadlocks,
        tally.canceled,
        tally.bytes,
        peak_rss_kib() / 1024,
    );

    // Nothing of the rings is left in this process.
    let fds_after = open_fds();
    let leaked: Vec<_> = fds_after.difference(&fds_before).collect();
    assert!(
        leaked.len() <= 2,
        "descriptors left open: {leaked:?} (seed {seed:#x})"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let watchers = threads_named(WATCHER);
        if watchers == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{watchers} {WATCHER} threads left running (seed {seed:#x})"
        );
        thread::sleep(Duration::from_millis(10));
    }
    // Nothing grows without bound: a ring's worth of memory is freed with it. (The bound is
    // loose: AddressSanitizer's shadow and quarantine take a few hundred MiB.)
    let peak = peak_rss_kib() >> 10;
    assert!(
        peak < 1024,
        "peak resident memory {peak} MiB (seed {seed:#x})"
    );
    if runs >= 200 {
        assert!(tally.saw_violation > 0, "no run saw a protocol violation");
        assert!(tally.saw_gone > 0, "no run saw the peer gone");
    }

    drop(ours);
    child.expect_success();
}

/// A peer that commits and never wakes a blocking call (no futex wake, no ring) holds it for
/// the futex wait's bound (50 ms) at most, not for good: the call looks again.
#[test]
fn a_blocking_read_is_not_held_by_a_peer_that_never_wakes_it() {
    let (mut child, mut stream) = spawn_peer(&["silent-writer"]);
    let opts = PipeOptions::builder()
        .spin_wait(SpinWait::Never)
        .build()
        .unwrap();
    let (mut r, peer) = shm::reader(opts).expect("a shared ring");
    peer.send_over(&stream).expect("sending the end");
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let got = r.read_blocking().map(|res| res.buffer().to_vec());
        let _ = tx.send((got, Instant::now()));
    });
    assert_eq!(child.line(), "committed");
    let committed = Instant::now();
    let (got, at) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the blocking read is still waiting, 10 s after the commit");
    assert_eq!(got.expect("read"), [0x2a]);
    // The bound is 50 ms; a loaded machine may add to it, but not seconds.
    let late = at.saturating_duration_since(committed);
    assert!(
        late < Duration::from_secs(2),
        "read {late:?} after the commit"
    );
    reader.join().unwrap();
    stream.write_all(&[1]).unwrap();
    drop(stream);
    child.expect_success();
}
