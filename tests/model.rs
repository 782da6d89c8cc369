//! Model-based property tests.
//!
//! `pipe_matches_model` drives random operation sequences, single-threaded, against a simple
//! model of the pipe and compares after every step: buffers byte for byte (with `to_vec`,
//! `chunks`, `find`, `slice`, `copy_to_slice`), the chunk layout, `Ok(None)` / `Full` /
//! `TooLarge` / deadlock decisions, backpressure (pause when the unexamined bytes cross the
//! pause threshold at a commit, resume when they drop strictly below the resume threshold),
//! cancellation, completion, reset, pool accounting, and wake-ups of pending polls.
//!
//! `two_threads_checksum` streams random piece sizes through two threads and compares a
//! checksum.
//!
//! The model states the *intended* contract. Counterexamples it found are kept below as plain
//! regression tests, each naming the core bug it caught.
//!
//! `QUICKCHECK_TESTS` sets the number of cases (default here: 2000 for the model, 200 for the
//! two-thread property; a handful under Miri); `QUICKCHECK_GENERATOR_SIZE` bounds the number
//! of operations per case (default 100).

mod support;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use ringpipe::{
    AdvanceError, ChunkPool, FlushResult, PipeOptions, PipeReader, PipeWriter, Position, ReadError,
    ResetError, Sequence, WriteError,
};
use support::rng::splitmix64;

// ---------------------------------------------------------------------------------------------
// Generated input.

/// A writer-side (or canceller) operation: also allowed while a `read_at_least` is pending.
#[derive(Clone, Debug)]
enum WOp {
    /// `try_get_memory(hint)`.
    GetMemory(u8),
    /// `advance(min(n, granted))`, after filling the granted memory.
    Advance(u8),
    /// `try_get_memory(hint)` then, if it worked, `advance(min(n, len))`.
    Write(u8, u8),
    Commit,
    /// `try_flush`.
    Flush,
    /// `poll_flush` with a counting waker.
    PollFlush,
    /// `poll_get_memory(hint)` with a counting waker.
    PollGetMemory(u8),
    CancelRead,
    CancelFlush,
    /// `complete`, or `complete_with_error` if `true`.
    CompleteWriter(bool),
}

#[derive(Clone, Debug)]
enum Op {
    W(WOp),
    /// `try_read`; the byte picks what `find` looks for.
    Read(u8),
    /// `poll_read` with a counting waker.
    PollRead(u8),
    /// `read_at_least(n)` polled once; if pending, run the writer ops (each followed by the
    /// lost-wake-up check) and poll again, then drop. Several writer steps under one pending
    /// read: the writer seals chunks the parked reader had consumed, fills slots with partly
    /// filled chunks, waits for room (the held-chunk class).
    ReadAtLeast(u8, Vec<WOp>),
    /// `advance_to(consumed, examined)`, both picked among the positions handed out so far.
    AdvanceTo(u8, u8),
    /// `complete`, or `complete_with_error` if `true`.
    CompleteReader(bool),
    Reset,
}

fn small(g: &mut Gen, max: u8) -> u8 {
    u8::arbitrary(g) % (max + 1)
}

impl Arbitrary for WOp {
    fn arbitrary(g: &mut Gen) -> WOp {
        match u8::arbitrary(g) % 40 {
            0..=4 => WOp::GetMemory(small(g, 20)),
            5..=8 => WOp::Advance(small(g, 20)),
            9..=18 => WOp::Write(small(g, 20), small(g, 20)),
            19..=22 => WOp::Commit,
            23..=27 => WOp::Flush,
            28..=30 => WOp::PollFlush,
            31..=33 => WOp::PollGetMemory(small(g, 20)),
            34 | 35 => WOp::CancelRead,
            36 | 37 => WOp::CancelFlush,
            _ => WOp::CompleteWriter(bool::arbitrary(g)),
        }
    }
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        match u8::arbitrary(g) % 100 {
            0..=44 => match WOp::arbitrary(g) {
                // Completions are rarer: they end the interesting part of a run.
                WOp::CompleteWriter(_) if u8::arbitrary(g) % 3 != 0 => Op::W(WOp::Commit),
                op => Op::W(op),
            },
            45..=61 => Op::Read(u8::arbitrary(g)),
            62..=68 => Op::PollRead(u8::arbitrary(g)),
            69..=76 => Op::ReadAtLeast(
                small(g, 70),
                (0..small(g, 4)).map(|_| WOp::arbitrary(g)).collect(),
            ),
            77..=96 => Op::AdvanceTo(u8::arbitrary(g), u8::arbitrary(g)),
            97 => Op::CompleteReader(bool::arbitrary(g)),
            _ => Op::Reset,
        }
    }
}

/// Options and an operation sequence.
#[derive(Clone, Debug)]
struct Case {
    capacity: usize,
    chunk: usize,
    pause: usize,
    resume: usize,
    ops: Vec<Op>,
}

impl Arbitrary for Case {
    fn arbitrary(g: &mut Gen) -> Case {
        // Small capacities half the time: full rings, stalls and chunk-slot limits.
        let capacity = 1 + usize::arbitrary(g) % if bool::arbitrary(g) { 8 } else { 64 };
        let chunk = 1 + usize::arbitrary(g) % 16;
        let pause = usize::arbitrary(g) % (capacity + 1);
        let resume = 1 + usize::arbitrary(g) % pause.max(1);
        let len = usize::arbitrary(g) % (g.size() + 1);
        let ops = (0..len).map(|_| Op::arbitrary(g)).collect();
        Case {
            capacity,
            chunk,
            pause,
            resume,
            ops,
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Case>> {
        let base = self.clone();
        let ops = self.ops.clone();
        // Shorter sequences first (the usual `Vec` shrinker: halves, single removals, smaller
        // elements — which for `Op` means none), then simpler options.
        let by_ops = ops.shrink().map({
            let base = base.clone();
            move |ops| Case {
                ops,
                ..base.clone()
            }
        });
        let mut simpler = Vec::new();
        if base.pause != 0 {
            simpler.push(Case {
                pause: 0,
                resume: 1,
                ..base.clone()
            });
        }
        if base.chunk > 1 {
            simpler.push(Case {
                chunk: base.chunk - 1,
                ..base.clone()
            });
        }
        if base.capacity > 1 && base.pause < base.capacity {
            simpler.push(Case {
                capacity: base.capacity - 1,
                ..base.clone()
            });
        }
        Box::new(by_ops.chain(simpler))
    }
}

// ---------------------------------------------------------------------------------------------
// The model.

/// The byte the model writes at position `p` in reset generation `gen`: pseudo-random, so
/// misplaced bytes show, with repeats, so `find` has work to do.
fn pattern(gen: u64, p: u64) -> u8 {
    (splitmix64(gen.wrapping_mul(1 << 32) ^ p) % 97) as u8
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WWait {
    Flush,
    Space { need_head: u64, need_released: u64 },
}

/// A poll that returned `Pending` and has not been re-polled.
#[derive(Clone, Copy, Debug)]
struct Pend {
    /// The side's wake count when it registered.
    count: usize,
    /// The model said it could complete at some earlier step (the wake was checked then).
    was_ready: bool,
    /// (Reader) the position that satisfies it.
    wait_pos: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Writer,
    Reader,
    Canceller,
}

/// What `try_get_memory(hint)` should do.
#[derive(Clone, Copy, Debug)]
enum Grant {
    Completed,
    TooLarge {
        max: u64,
    },
    /// The reader completed: scratch memory of `max_memory` bytes.
    Scratch,
    Space {
        need_head: u64,
        need_released: u64,
    },
    /// Memory of `lo..=hi` bytes; `switch`: in a fresh chunk.
    Ok {
        lo: u64,
        hi: u64,
        switch: bool,
    },
}

/// What a flush should report (when it does not wait).
#[derive(Clone, Copy, Debug)]
enum Flushed {
    WriterCompleted,
    ReaderFailed,
    Ok { canceled: bool, completed: bool },
}

impl Flushed {
    fn matches(self, got: &Result<FlushResult, WriteError>) -> bool {
        match (self, got) {
            (Flushed::WriterCompleted, Err(WriteError::WriterCompleted)) => true,
            (Flushed::ReaderFailed, Err(WriteError::ReaderFailed(e))) => {
                e.to_string() == READER_ERROR
            }
            (
                Flushed::Ok {
                    canceled,
                    completed,
                },
                Ok(f),
            ) => f.is_canceled() == canceled && f.is_completed() == completed,
            _ => false,
        }
    }
}

const READER_ERROR: &str = "reader error (model)";
const WRITER_ERROR: &str = "writer error (model)";

/// What a read decides.
#[derive(Clone, Copy, Debug)]
enum Decide {
    Failed,
    Snap {
        canceled: bool,
        completed: bool,
    },
    Deadlock {
        buffered: u64,
    },
    MinimumTooLarge,
    /// `Ok(None)` from `try_read`, `Pending` from a poll.
    Nothing,
}

/// What a read waits for.
#[derive(Clone, Copy, Debug)]
enum Need {
    More,
    AtLeast(u64),
}

#[derive(Debug)]
struct Model {
    cap: u64,
    cs: u64,
    slots: u64,
    pause: u64,
    resume: u64,
    max: u64,
    gen: u64,
    /// Committed, unconsumed bytes: positions `head .. tail`.
    buffered: VecDeque<u8>,
    /// Advanced, uncommitted bytes: positions `tail .. pos`.
    unflushed: Vec<u8>,
    head: u64,
    tail: u64,
    examined: u64,
    seen_tail: u64,
    granted: u64,
    scratch: bool,
    paused: bool,
    w_completed: bool,
    w_failed: bool,
    /// Every chunk opened: (first position, sealed length).
    chunks: Vec<(u64, Option<u64>)>,
    has_chunk: bool,
    fill: u64,
    released: u64,
    /// Released chunks kept in their slots for the writer's next use of each (`chunks.rs`),
    /// by seq: until the writer opens the slot again, or the pipe goes idle (the reader
    /// parks, polls in vain `IDLE_POLLS` times in a row, or saw the writer done).
    spares: std::collections::BTreeSet<u64>,
    /// A read saw the writer completed (without an error): no spare is kept after that.
    r_saw_done: bool,
    /// Empty polls without a context in a row, all at `head == empty_at`.
    empty_polls: u32,
    empty_at: u64,
    /// Where the data of chunk `released` ends, as the reader last looked (at a read, or when
    /// it gave chunks back), `None` if it was open then: `advance_to` gives chunks back only
    /// when the consumed position reaches it.
    known_end: Option<u64>,
    r_completed: bool,
    r_failed: bool,
    read_canceled: bool,
    flush_canceled: bool,
    stalled: bool,
    /// The reader's published wait (`READER_WAITING` and `wait_pos`).
    rwait: Option<u64>,
    /// The writer's published wait.
    wwait: Option<WWait>,
    rpend: Option<Pend>,
    wpend: Option<Pend>,
    /// The reader's last published wait position (it outlives the wait).
    last_wait_pos: u64,
}

impl Model {
    fn new(opts: &PipeOptions, gen: u64) -> Model {
        let cap = opts.capacity() as u64;
        let cs = opts.chunk_size() as u64;
        Model {
            cap,
            cs,
            slots: opts.slots() as u64,
            pause: opts.pause_writer_threshold() as u64,
            resume: opts.resume_writer_threshold() as u64,
            max: cap.min(cs),
            gen,
            buffered: VecDeque::new(),
            unflushed: Vec::new(),
            head: 0,
            tail: 0,
            examined: 0,
            seen_tail: 0,
            granted: 0,
            scratch: false,
            paused: false,
            w_completed: false,
            w_failed: false,
            chunks: Vec::new(),
            has_chunk: false,
            fill: 0,
            released: 0,
            spares: Default::default(),
            r_saw_done: false,
            empty_polls: 0,
            empty_at: 0,
            known_end: None,
            r_completed: false,
            r_failed: false,
            read_canceled: false,
            flush_canceled: false,
            stalled: false,
            rwait: None,
            wwait: None,
            rpend: None,
            wpend: None,
            last_wait_pos: 0,
        }
    }

    fn pos(&self) -> u64 {
        self.tail + self.unflushed.len() as u64
    }

    fn seq(&self) -> u64 {
        self.chunks.len() as u64 - u64::from(self.has_chunk)
    }

    fn in_use(&self) -> u64 {
        if self.w_completed && self.r_completed {
            0
        } else {
            self.chunks.len() as u64 - self.released + self.spares.len() as u64
        }
    }

    // --- writer ---------------------------------------------------------------------------

    fn plan_grant(&self, hint: u64) -> Grant {
        if self.w_completed {
            return Grant::Completed;
        }
        let need = hint.max(1);
        if need > self.max {
            return Grant::TooLarge { max: self.max };
        }
        if self.scratch || self.r_completed {
            return Grant::Scratch;
        }
        let pos = self.pos();
        let room = self.cap - (pos - self.head);
        let bytes_ok = room >= need;
        let in_chunk = self.has_chunk && self.cs - self.fill >= need;
        let target = self.seq() + u64::from(self.has_chunk);
        let slot_ok = in_chunk || target - self.released < self.slots;
        if !bytes_ok || !slot_ok {
            return Grant::Space {
                need_head: if bytes_ok { 0 } else { pos + need - self.cap },
                need_released: if slot_ok { 0 } else { target + 1 - self.slots },
            };
        }
        let fill = if in_chunk { self.fill } else { 0 };
        Grant::Ok {
            lo: need,
            hi: (self.cs - fill).min(room),
            switch: !in_chunk,
        }
    }

    /// Opens the next chunk: the spare of the slot's previous use if it is still there, else
    /// one from the pool (either way one more chunk in use).
    fn open_chunk(&mut self) {
        let seq = self.chunks.len() as u64;
        if let Some(prev) = seq.checked_sub(self.slots) {
            self.spares.remove(&prev);
        }
        self.chunks.push((self.pos(), None));
        self.has_chunk = true;
    }

    /// Spares go back to the pool.
    fn go_idle(&mut self) {
        self.spares.clear();
    }

    /// Applies a successful grant of `len` bytes.
    fn apply_grant(&mut self, plan: Grant, len: u64) {
        match plan {
            Grant::Scratch => {
                self.enter_scratch();
                if !self.has_chunk {
                    self.open_chunk();
                }
            }
            Grant::Ok { switch: true, .. } => {
                if self.has_chunk {
                    let seq = self.seq() as usize;
                    self.chunks[seq].1 = Some(self.fill);
                    self.fill = 0;
                }
                self.open_chunk();
            }
            _ => {}
        }
        self.granted = len;
    }

    /// Checks a grant's outcome against the plan and applies it. `waiting`: the call was
    /// `poll_get_memory`, which turns `Space` into a wait (handled by the caller).
    fn check_grant(
        &mut self,
        what: &str,
        hint: u64,
        plan: Grant,
        got: Result<u64, WriteError>,
    ) -> Result<(), String> {
        let ok = match (plan, &got) {
            (Grant::Completed, Err(WriteError::WriterCompleted)) => true,
            (Grant::TooLarge { max }, Err(WriteError::TooLarge { requested, max: m })) => {
                *requested as u64 == hint && *m as u64 == max
            }
            (Grant::Scratch, Ok(len)) => *len == self.max,
            (Grant::Space { .. }, Err(WriteError::Full { requested })) => *requested as u64 == hint,
            (Grant::Ok { lo, hi, .. }, Ok(len)) => lo <= *len && *len <= hi,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "{what}({hint}): model expects {plan:?}, got {:?}",
                got.map(|l| format!("{l} bytes"))
            ));
        }
        if let Ok(len) = got {
            if matches!(self.wwait, Some(WWait::Space { .. })) {
                // Any successful grant ends a pending wait for room.
                self.writer_stop_waiting();
            }
            self.apply_grant(plan, len);
        }
        Ok(())
    }

    /// The writer's wait ended (or was replaced).
    fn writer_stop_waiting(&mut self) {
        self.wwait = None;
        self.wpend = None;
    }

    /// The reader has completed: writes are dropped and no backpressure applies.
    fn enter_scratch(&mut self) {
        self.scratch = true;
        self.paused = false;
    }

    /// Publishes the unflushed bytes, as `commit` does.
    fn commit(&mut self) {
        if self.unflushed.is_empty() || self.scratch || self.w_completed {
            return;
        }
        let old = self.tail;
        self.tail = self.pos();
        self.buffered.extend(self.unflushed.drain(..));
        // New data: the read a stall was about may be satisfied now, and a new wait is judged
        // afresh.
        self.stalled = false;
        if self.pause != 0 {
            // Resume if the unexamined bytes had dropped below the resume threshold; pause if
            // this commit makes them cross the pause threshold.
            let ex = self.examined;
            if self.paused && old - ex < self.resume {
                self.paused = false;
            }
            if !self.paused && old - ex < self.pause && self.tail - ex >= self.pause {
                self.paused = true;
            }
        }
        if self.rwait.is_some_and(|wp| self.tail >= wp) {
            self.rwait = None;
        }
    }

    /// Whether a paused writer stays paused (a read waiting for more than is committed
    /// overrides the pause). Does not change anything.
    fn stays_paused(&self) -> bool {
        self.paused
            && self.tail - self.examined >= self.resume
            && !self.rwait.is_some_and(|wp| wp > self.tail)
    }

    /// What a flush reports after its commit; `None` while paused.
    fn flush_outcome(&mut self) -> Option<Flushed> {
        if self.r_completed {
            // The flush drops what was advanced: nothing stays unflushed.
            self.enter_scratch();
            self.unflushed.clear();
        }
        if self.r_failed {
            return Some(Flushed::ReaderFailed);
        }
        if self.r_completed {
            return Some(Flushed::Ok {
                canceled: false,
                completed: true,
            });
        }
        if self.flush_canceled {
            self.flush_canceled = false;
            return Some(Flushed::Ok {
                canceled: true,
                completed: false,
            });
        }
        if self.paused && !self.stays_paused() {
            self.paused = false;
        }
        if self.paused {
            None
        } else {
            Some(Flushed::Ok {
                canceled: false,
                completed: false,
            })
        }
    }

    /// Would the pending flush or get_memory complete if polled now?
    fn writer_ready(&self) -> bool {
        if self.r_completed {
            return true;
        }
        match self.wwait {
            None => false,
            Some(WWait::Flush) => self.flush_canceled || !self.stays_paused(),
            Some(WWait::Space {
                need_head,
                need_released,
            }) => {
                self.flush_canceled
                    || self.stalled
                    || (self.head >= need_head && self.released >= need_released)
            }
        }
    }

    // --- reader ---------------------------------------------------------------------------

    fn decide(&mut self, wait_pos: u64) -> Decide {
        if self.w_failed {
            return Decide::Failed;
        }
        if self.w_completed && !self.r_saw_done {
            self.r_saw_done = true;
            self.go_idle();
        }
        if self.read_canceled || self.w_completed || self.tail >= wait_pos {
            let canceled = self.read_canceled;
            self.read_canceled = false;
            // A stall concerned an earlier wait.
            self.stalled = false;
            return Decide::Snap {
                canceled,
                completed: self.w_completed,
            };
        }
        if self.tail - self.head >= self.cap {
            self.stalled = true;
            return Decide::Deadlock {
                buffered: self.tail - self.head,
            };
        }
        if self.stalled {
            return Decide::Deadlock {
                buffered: self.tail - self.head,
            };
        }
        Decide::Nothing
    }

    /// A poll with a context found nothing: the reader publishes its wait, then checks
    /// whether the writer waits for room only the reader can make.
    fn reader_park(&mut self, wait_pos: u64) -> Decide {
        self.rwait = Some(wait_pos);
        self.last_wait_pos = wait_pos;
        // Give back what is consumed before judging the writer's need for a slot; the pipe goes
        // idle before it parks.
        self.release_consumed();
        self.go_idle();
        if let Some(WWait::Space {
            need_head,
            need_released,
        }) = self.wwait
        {
            if self.head < need_head || self.released < need_released {
                self.rwait = None;
                self.stalled = true;
                return Decide::Deadlock {
                    buffered: self.tail - self.head,
                };
            }
        }
        Decide::Nothing
    }

    /// Would the pending read complete if polled now?
    fn reader_ready(&self, wait_pos: u64) -> bool {
        self.w_completed || self.read_canceled || self.tail >= wait_pos || self.stalled
    }

    /// Whether the reader could give back every chunk before `need_released` without new data:
    /// they are sealed and it consumed every byte of them.
    fn reader_can_release(&self, need_released: u64) -> bool {
        let last = need_released as usize - 1;
        matches!(self.chunks.get(last), Some(&(start, Some(len))) if self.head >= start + len)
    }

    /// The reader looks at the length of the chunk holding `head`.
    fn look_at_chunk(&mut self) {
        self.known_end = match self.chunks.get(self.released as usize) {
            Some(&(start, Some(len))) => Some(start + len),
            _ => None,
        };
    }

    /// Before parking: gives back chunks whose bytes are all consumed and that are sealed,
    /// looking afresh at the current chunk if anything of it is consumed.
    fn release_consumed(&mut self) -> bool {
        match self.chunks.get(self.released as usize) {
            Some(&(start, _)) if self.head > start => {}
            _ => return false,
        }
        self.look_at_chunk();
        matches!(self.known_end, Some(end) if self.head >= end) && self.give_back()
    }

    /// Gives back chunks whose bytes are all consumed and that are sealed, then looks at the
    /// chunk it stopped at.
    fn give_back(&mut self) -> bool {
        let before = self.released;
        while let Some(&(start, len)) = self.chunks.get(self.released as usize) {
            match len {
                Some(len) if self.head > start && self.head >= start + len => self.released += 1,
                _ => break,
            }
        }
        self.look_at_chunk();
        if !self.r_saw_done {
            self.spares.extend(before..self.released);
        }
        self.released != before
    }

    /// The lengths of the contiguous pieces of `head .. tail`.
    fn pieces(&self) -> Vec<usize> {
        let mut v = Vec::new();
        for &(start, len) in &self.chunks {
            let end = len.map_or(u64::MAX, |l| start + l);
            let (lo, hi) = (start.max(self.head), end.min(self.tail));
            if lo < hi {
                v.push((hi - lo) as usize);
            }
        }
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Wakers that count their wakes.

/// A waker that counts its wakes ([`support::Counter`]), kept with its count.
struct CountingWaker {
    count: Arc<support::Counter>,
    waker: Waker,
}

impl CountingWaker {
    fn new() -> CountingWaker {
        let (count, waker) = support::counting_waker();
        CountingWaker { count, waker }
    }
    fn get(&self) -> usize {
        self.count.count()
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case.

/// A position handed out by a read, with the reset generation it belongs to.
type Handed = (Position, u64);

/// Positions handed out: those of the latest read (offsets `0..=len`) and some older ones.
#[derive(Default)]
struct Positions {
    latest: Vec<Handed>,
    older: Vec<Handed>,
}

impl Positions {
    fn record(&mut self, buf: &Sequence<'_>, gen: u64) {
        let old = std::mem::take(&mut self.latest);
        self.older.extend(old.into_iter().step_by(3));
        if self.older.len() > 48 {
            self.older.drain(..self.older.len() - 48);
        }
        self.latest = (0..=buf.len()).map(|i| (buf.position(i), gen)).collect();
    }

    /// Picks (consumed, examined), mostly from the latest read, examined mostly not before
    /// consumed.
    fn pick(&self, c: u8, e: u8) -> Option<(Handed, Handed)> {
        let from = |list: &[Handed], x: usize| list[x % list.len()];
        let (lat, old) = (&self.latest[..], &self.older[..]);
        if lat.is_empty() && old.is_empty() {
            return None;
        }
        let use_old = |x: u8| lat.is_empty() || (x % 8 == 0 && !old.is_empty());
        let cp = if use_old(c) {
            from(old, c as usize / 8)
        } else {
            from(lat, c as usize)
        };
        let ep = if use_old(e) {
            from(old, e as usize / 8)
        } else if e % 4 != 0 {
            // At or after consumed, within the latest read.
            let ci = lat.iter().position(|h| *h == cp).unwrap_or(0);
            lat[ci + (e as usize / 4) % (lat.len() - ci)]
        } else {
            from(lat, e as usize / 4)
        };
        Some((cp, ep))
    }
}

/// Checks a read outcome against the model's decision (`None`: the reader has completed) and
/// applies it to the model.
fn check_read(
    what: &str,
    m: &mut Model,
    exp: Option<Decide>,
    got: Result<Option<ringpipe::ReadResult<'_>>, ReadError>,
    pick: u8,
    positions: &mut Positions,
) -> Result<(), String> {
    let mismatch =
        |got: &dyn std::fmt::Debug| Err(format!("{what}: model expects {exp:?}, got {got:?}"));
    match (exp, got) {
        (None, Err(ReadError::ReaderCompleted)) => Ok(()),
        (Some(Decide::Failed), Err(ReadError::WriterFailed(e)))
            if e.to_string() == WRITER_ERROR =>
        {
            Ok(())
        }
        (
            Some(Decide::Deadlock { buffered }),
            Err(ReadError::WouldDeadlock {
                buffered: b,
                capacity,
            }),
        ) if b as u64 == buffered && capacity as u64 == m.cap => Ok(()),
        (Some(Decide::MinimumTooLarge), Err(ReadError::MinimumTooLarge { minimum, capacity }))
            if minimum as u64 > m.cap && capacity as u64 == m.cap =>
        {
            Ok(())
        }
        (Some(Decide::Nothing), Ok(None)) => Ok(()),
        (
            Some(Decide::Snap {
                canceled,
                completed,
            }),
            Ok(Some(res)),
        ) => {
            if res.is_canceled() != canceled || res.is_completed() != completed {
                return mismatch(&res);
            }
            // A read gives no chunk back (advance_to and parking do); it looks at the length
            // of the chunk holding `head`.
            m.seen_tail = m.tail;
            m.look_at_chunk();
            let buf = res.buffer();
            check_buffer(what, m, &buf, pick)?;
            positions.record(&buf, m.gen);
            Ok(())
        }
        (_, got) => mismatch(&got),
    }
}

/// Compares a read's buffer with the model's committed, unconsumed bytes.
fn check_buffer(what: &str, m: &Model, buf: &Sequence<'_>, pick: u8) -> Result<(), String> {
    let want: Vec<u8> = m.buffered.iter().copied().collect();
    let fail = |msg: String| Err(format!("{what}: {msg} (buffer {}..{})", m.head, m.tail));
    if buf.start().offset() != m.head || buf.end().offset() != m.tail {
        return fail(format!("buffer is {:?}..{:?}", buf.start(), buf.end()));
    }
    if buf.len() != want.len() || buf.is_empty() != want.is_empty() {
        return fail(format!("len {} != {}", buf.len(), want.len()));
    }
    if buf.to_vec() != want {
        return fail(format!("to_vec {:?} != model {:?}", buf.to_vec(), want));
    }
    let chunks: Vec<&[u8]> = buf.chunks().collect();
    if chunks.concat() != want {
        return fail("chunks concatenated differ".into());
    }
    let lens: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
    if lens != m.pieces() {
        return fail(format!(
            "chunk lengths {lens:?}, model chunk layout gives {:?}",
            m.pieces()
        ));
    }
    if buf.is_single_chunk() != (lens.len() <= 1)
        || buf.first_chunk() != chunks.first().copied().unwrap_or(&[])
    {
        return fail("is_single_chunk / first_chunk disagree with chunks".into());
    }
    if want.is_empty() {
        return Ok(());
    }
    let a = pick as usize % want.len();
    let needle = want[a];
    let first = want.iter().position(|&b| b == needle).unwrap();
    let found = buf.find(needle);
    if found != Some(buf.position(first)) || found.and_then(|p| buf.offset_of(p)) != Some(first) {
        return fail(format!(
            "find({needle}) = {found:?}, expected offset {first}"
        ));
    }
    // Pattern bytes are below 97.
    if buf.find(200).is_some() {
        return fail("found a byte that is not there".into());
    }
    let tail = buf.slice(a..);
    if tail.to_vec() != want[a..] || tail.start().offset() != m.head + a as u64 {
        return fail(format!("slice({a}..) differs"));
    }
    let mid = buf.slice(a / 2..=a);
    if mid.to_vec() != want[a / 2..=a] {
        return fail(format!("slice({}..={a}) differs", a / 2));
    }
    let between = buf.slice_between(buf.position(a / 2), buf.position(a));
    if between.map(|s| s.to_vec()) != Some(want[a / 2..a].to_vec()) {
        return fail("slice_between differs".into());
    }
    if tail.find(needle).map(|p| p.offset()) != Some(m.head + a as u64) {
        return fail("find in slice differs".into());
    }
    let mut dst = vec![0u8; want.len() - a];
    buf.copy_to_slice(&mut dst);
    if dst != want[..want.len() - a] {
        return fail("copy_to_slice differs".into());
    }
    Ok(())
}

/// The model's view of a read poll (also the first and only look of `try_read`).
fn model_read(m: &mut Model, need: Need, park: bool) -> Option<Decide> {
    if m.r_completed {
        return None;
    }
    m.rwait = None;
    let wait_pos = match need {
        Need::More => m.examined + 1,
        Need::AtLeast(n) if n > m.cap => return Some(Decide::MinimumTooLarge),
        Need::AtLeast(n) => m.head + n,
    };
    let d = m.decide(wait_pos);
    if matches!(d, Decide::Nothing) {
        if park {
            return Some(m.reader_park(wait_pos));
        }
        // `try_read` found nothing: `IDLE_POLLS` (1024) of them in a row make the pipe idle.
        if m.head != m.empty_at {
            m.empty_at = m.head;
            m.empty_polls = 0;
        }
        m.empty_polls += 1;
        if m.empty_polls == 1024 {
            m.go_idle();
        }
    }
    Some(d)
}

fn wait_pos_of(m: &Model, need: Need) -> u64 {
    match need {
        Need::More => m.examined + 1,
        Need::AtLeast(n) => m.head + n,
    }
}

fn advance(w: &mut PipeWriter, m: &mut Model, n: u8) -> Result<(), String> {
    let k = (n as u64).min(m.granted);
    let mem = w.granted_memory();
    if mem.len() as u64 != m.granted {
        return Err(format!(
            "granted_memory() has {} bytes, model {}",
            mem.len(),
            m.granted
        ));
    }
    let bytes: Vec<u8> = (0..k).map(|i| pattern(m.gen, m.pos() + i)).collect();
    if !m.scratch {
        mem[..k as usize].copy_from_slice(&bytes);
    }
    w.advance(k as usize);
    m.granted -= k;
    if !m.scratch {
        m.unflushed.extend(bytes);
        m.fill += k;
    }
    Ok(())
}

fn check_flush(
    what: &str,
    exp: Flushed,
    got: &Result<FlushResult, WriteError>,
) -> Result<(), String> {
    if exp.matches(got) {
        Ok(())
    } else {
        Err(format!("{what}: model expects {exp:?}, got {got:?}"))
    }
}

/// Runs a writer-side or canceller operation.
fn writer_op(
    w: &mut PipeWriter,
    m: &mut Model,
    wc: &CountingWaker,
    op: &WOp,
) -> Result<Side, String> {
    match *op {
        WOp::GetMemory(h) => {
            let plan = m.plan_grant(h as u64);
            let got = w.try_get_memory(h as usize).map(|s| s.len() as u64);
            m.check_grant("try_get_memory", h as u64, plan, got)?;
        }
        WOp::Advance(n) => advance(w, m, n)?,
        WOp::Write(h, n) => {
            let plan = m.plan_grant(h as u64);
            let got = w.try_get_memory(h as usize).map(|s| s.len() as u64);
            let ok = got.is_ok();
            m.check_grant("try_get_memory", h as u64, plan, got)?;
            if ok {
                advance(w, m, n)?;
            }
        }
        WOp::Commit => {
            w.commit();
            m.commit();
        }
        WOp::Flush => {
            let exp = if m.w_completed {
                Some(Flushed::WriterCompleted)
            } else {
                m.commit();
                m.flush_outcome()
            };
            let got = w.try_flush();
            match (exp, got) {
                (None, Ok(None)) => {}
                (Some(exp), Ok(Some(f))) => check_flush("try_flush", exp, &Ok(f))?,
                (Some(exp), Err(e)) => check_flush("try_flush", exp, &Err(e))?,
                (exp, got) => {
                    return Err(format!(
                        "try_flush: model expects {exp:?} (None = paused), got {got:?}"
                    ))
                }
            }
        }
        WOp::PollFlush => {
            let exp = if m.w_completed {
                Some(Flushed::WriterCompleted)
            } else {
                m.commit();
                m.flush_outcome()
            };
            let got = w.poll_flush(&mut Context::from_waker(&wc.waker));
            match (exp, got) {
                (None, Poll::Pending) => {
                    m.wwait = Some(WWait::Flush);
                    m.wpend = Some(Pend {
                        count: wc.get(),
                        was_ready: false,
                        wait_pos: 0,
                    });
                }
                (Some(exp), Poll::Ready(got)) => {
                    check_flush("poll_flush", exp, &got)?;
                    m.writer_stop_waiting();
                }
                (exp, got) => {
                    return Err(format!("poll_flush: model expects {exp:?}, got {got:?}"))
                }
            }
        }
        WOp::PollGetMemory(h) => {
            let plan = m.plan_grant(h as u64);
            let got = w.poll_get_memory(&mut Context::from_waker(&wc.waker), h as usize);
            match plan {
                Grant::Space {
                    need_head,
                    need_released,
                } => {
                    if m.flush_canceled {
                        // cancel_pending_flush ends the wait for room (before any verdict).
                        m.flush_canceled = false;
                        m.writer_stop_waiting();
                        return match got {
                            Poll::Ready(Err(WriteError::Canceled)) => Ok(Side::Writer),
                            got => Err(format!(
                                "poll_get_memory({h}): model expects Canceled, got {got:?}"
                            )),
                        };
                    }
                    m.wwait = Some(WWait::Space {
                        need_head,
                        need_released,
                    });
                    // Not a deadlock when only slots are missing and the reader can free them
                    // without new data (it consumed every byte of the chunks in them): the
                    // writer wakes it and waits.
                    let reclaimable = need_head == 0 && m.reader_can_release(need_released);
                    let deadlock =
                        (m.stalled || m.rwait.is_some_and(|wp| wp > m.tail)) && !reclaimable;
                    match got {
                        Poll::Ready(Err(WriteError::WouldDeadlock)) if deadlock => {
                            m.stalled = true;
                            m.writer_stop_waiting();
                        }
                        Poll::Pending if !deadlock => {
                            m.wpend = Some(Pend {
                                count: wc.get(),
                                was_ready: false,
                                wait_pos: 0,
                            });
                        }
                        got => {
                            return Err(format!(
                                "poll_get_memory({h}): model expects {}, got {got:?}",
                                if deadlock { "WouldDeadlock" } else { "Pending" }
                            ))
                        }
                    }
                }
                _ => {
                    m.writer_stop_waiting();
                    let got = match got {
                        Poll::Ready(r) => r.map(|n| n as u64),
                        Poll::Pending => {
                            return Err(format!(
                                "poll_get_memory({h}): model expects {plan:?}, got Pending"
                            ))
                        }
                    };
                    m.check_grant("poll_get_memory", h as u64, plan, got)?;
                }
            }
        }
        WOp::CancelRead => {
            w.canceller().cancel_pending_read();
            m.read_canceled = true;
            return Ok(Side::Canceller);
        }
        WOp::CancelFlush => {
            w.canceller().cancel_pending_flush();
            m.flush_canceled = true;
            return Ok(Side::Canceller);
        }
        WOp::CompleteWriter(with_error) => {
            if with_error {
                w.complete_with_error(WRITER_ERROR);
            } else {
                w.complete();
            }
            if !m.w_completed {
                m.writer_stop_waiting();
                m.commit();
                // Bytes advanced after the reader completed are dropped.
                m.unflushed.clear();
                m.w_completed = true;
                m.w_failed = with_error;
                m.granted = 0;
                m.has_chunk = false;
            }
        }
    }
    Ok(Side::Writer)
}

/// After a step by `side`: a pending poll of the *other* side that the model says could now
/// complete must have been woken.
fn check_wakes(
    m: &mut Model,
    rc: &CountingWaker,
    wc: &CountingWaker,
    side: Side,
) -> Result<(), String> {
    if let Some(p) = m.rpend {
        if !p.was_ready && m.reader_ready(p.wait_pos) {
            if side != Side::Reader && rc.get() <= p.count {
                return Err(format!(
                    "lost wake-up: the pending read (wait_pos {}) can complete, but its waker \
                     was not woken",
                    p.wait_pos
                ));
            }
            m.rpend = Some(Pend {
                was_ready: true,
                ..p
            });
        }
    }
    if let Some(p) = m.wpend {
        if !p.was_ready && m.writer_ready() {
            if side != Side::Writer && wc.get() <= p.count {
                return Err(format!(
                    "lost wake-up: the pending {:?} can complete, but its waker was not woken",
                    m.wwait
                ));
            }
            m.wpend = Some(Pend {
                was_ready: true,
                ..p
            });
        }
    }
    Ok(())
}

struct Harness {
    opts: PipeOptions,
    pool: ChunkPool,
    w: PipeWriter,
    r: PipeReader,
    m: Model,
    rc: CountingWaker,
    wc: CountingWaker,
    positions: Positions,
}

fn build(case: &Case) -> (PipeOptions, ChunkPool) {
    let pool = ChunkPool::new(case.chunk, 4).unwrap();
    let opts = PipeOptions::builder()
        .pool(pool.clone())
        .capacity(case.capacity)
        .pause_writer_threshold(case.pause)
        .resume_writer_threshold(case.resume)
        .wake_fences(support::test_fences())
        .build()
        .unwrap();
    (opts, pool)
}

impl Harness {
    fn new(case: &Case) -> Harness {
        let (opts, pool) = build(case);
        let (w, r) = ringpipe::pipe(opts.clone());
        let m = Model::new(&opts, 0);
        Harness {
            opts,
            pool,
            w,
            r,
            m,
            rc: CountingWaker::new(),
            wc: CountingWaker::new(),
            positions: Positions::default(),
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), String> {
        let side = match op {
            Op::W(wop) => writer_op(&mut self.w, &mut self.m, &self.wc, wop)?,
            Op::Read(pick) => {
                self.m.rpend = None;
                let exp = model_read(&mut self.m, Need::More, false);
                let got = self.r.try_read();
                check_read(
                    "try_read",
                    &mut self.m,
                    exp,
                    got,
                    *pick,
                    &mut self.positions,
                )?;
                Side::Reader
            }
            Op::PollRead(pick) => {
                self.m.rpend = None;
                let wait_pos = wait_pos_of(&self.m, Need::More);
                let exp = model_read(&mut self.m, Need::More, true);
                let count = self.rc.get();
                let got = match self.r.poll_read(&mut Context::from_waker(&self.rc.waker)) {
                    Poll::Pending => Ok(None),
                    Poll::Ready(r) => r.map(Some),
                };
                let pending = matches!(got, Ok(None));
                check_read(
                    "poll_read",
                    &mut self.m,
                    exp,
                    got,
                    *pick,
                    &mut self.positions,
                )?;
                if pending {
                    self.m.rpend = Some(Pend {
                        count,
                        was_ready: false,
                        wait_pos,
                    });
                }
                Side::Reader
            }
            Op::ReadAtLeast(n, ref inner) => {
                self.read_at_least(*n as u64, inner)?;
                Side::Reader
            }
            Op::AdvanceTo(c, e) => {
                self.advance_to(*c, *e)?;
                Side::Reader
            }
            Op::CompleteReader(with_error) => {
                if *with_error {
                    self.r.complete_with_error(READER_ERROR);
                } else {
                    self.r.complete();
                }
                let m = &mut self.m;
                if !m.r_completed {
                    m.rwait = None;
                    m.rpend = None;
                    m.r_completed = true;
                    m.r_failed = *with_error;
                }
                Side::Reader
            }
            Op::Reset => {
                let got = ringpipe::reset(&mut self.w, &mut self.r);
                let (wc, rc) = (self.m.w_completed, self.m.r_completed);
                if wc && rc {
                    if got.is_err() {
                        return Err(format!("reset: expected Ok, got {got:?}"));
                    }
                    self.m = Model::new(&self.opts, self.m.gen + 1);
                } else if got
                    != Err(ResetError::NotCompleted {
                        writer: wc,
                        reader: rc,
                    })
                {
                    return Err(format!(
                        "reset: expected NotCompleted {{ writer: {wc}, reader: {rc} }}, got {got:?}"
                    ));
                }
                Side::Reader
            }
        };
        check_wakes(&mut self.m, &self.rc, &self.wc, side)?;
        self.check_state()
    }

    fn read_at_least(&mut self, n: u64, inner: &[WOp]) -> Result<(), String> {
        let Harness {
            w,
            r,
            m,
            rc,
            wc,
            positions,
            ..
        } = self;
        m.rpend = None;
        let need = if n == 0 { Need::More } else { Need::AtLeast(n) };
        let what = format!("read_at_least({n})");
        let mut fut = pin!(r.read_at_least(n as usize));
        let count = rc.get();
        let mut cx = Context::from_waker(&rc.waker);
        let wait_pos = wait_pos_of(m, need);
        let exp = model_read(m, need, true);
        let got = match fut.as_mut().poll(&mut cx) {
            Poll::Pending => Ok(None),
            Poll::Ready(r) => r.map(Some),
        };
        if !matches!(got, Ok(None)) {
            return check_read(&what, m, exp, got, n as u8, positions);
        }
        check_read(&what, m, exp, Ok(None), 0, positions)?;
        check_wakes(m, rc, wc, Side::Reader)?;
        // While the read is pending: writer-side steps, after each of which the read must have
        // been woken if it can complete now.
        for op in inner {
            let side = writer_op(w, m, wc, op)?;
            check_wakes(m, rc, wc, side)?;
            if m.reader_ready(wait_pos) && rc.get() <= count {
                return Err(format!(
                    "{what}: lost wake-up: the pending read can complete after {op:?}, but \
                     its waker was not woken"
                ));
            }
        }
        let exp = model_read(m, need, true);
        let got = match fut.as_mut().poll(&mut cx) {
            Poll::Pending => Ok(None),
            Poll::Ready(r) => r.map(Some),
        };
        let pending = matches!(got, Ok(None));
        check_read(
            &format!("{what} (second poll)"),
            m,
            exp,
            got,
            n as u8,
            positions,
        )?;
        if pending {
            // Dropping the future gives up the wait.
            m.rwait = None;
        }
        Ok(())
    }

    fn advance_to(&mut self, c: u8, e: u8) -> Result<(), String> {
        let Some(((cp, cg), (ep, eg))) = self.positions.pick(c, e) else {
            return Ok(());
        };
        let m = &mut self.m;
        let check = |p: Position, g: u64| -> Result<u64, AdvanceError> {
            if g != m.gen {
                Err(AdvanceError::ForeignPosition)
            } else if p.offset() < m.head {
                Err(AdvanceError::AlreadyConsumed {
                    position: p.offset(),
                    consumed: m.head,
                })
            } else if p.offset() > m.seen_tail {
                Err(AdvanceError::BeyondEnd {
                    position: p.offset(),
                    end: m.seen_tail,
                })
            } else {
                Ok(p.offset())
            }
        };
        let exp = if m.r_completed {
            Err(AdvanceError::ReaderCompleted)
        } else {
            check(cp, cg).and_then(|c| {
                let e = check(ep, eg)?;
                if e < c {
                    Err(AdvanceError::ExaminedBeforeConsumed {
                        consumed: c,
                        examined: e,
                    })
                } else {
                    Ok((c, e))
                }
            })
        };
        let got = self.r.advance_to(cp, ep);
        match (exp, got) {
            (Err(x), Err(y)) if x == y => Ok(()),
            (Ok((c, e)), Ok(())) => {
                let head_moved = c != m.head;
                let old_examined = m.examined;
                m.buffered.drain(..(c - m.head) as usize);
                m.head = c;
                m.examined = e;
                // Chunks go back when `head` reaches the end the reader knows.
                if matches!(m.known_end, Some(end) if c >= end) {
                    m.give_back();
                }
                if head_moved || e < old_examined {
                    m.stalled = false;
                }
                Ok(())
            }
            (exp, got) => Err(format!(
                "advance_to({cp:?}, {ep:?}): model expects {exp:?}, got {got:?}"
            )),
        }
    }

    /// Everything observable without a read.
    fn check_state(&mut self) -> Result<(), String> {
        let m = &self.m;
        let mut errs = Vec::new();
        let mut eq = |what: &str, got: u64, want: u64| {
            if got != want {
                errs.push(format!("{what} = {got}, model {want}"));
            }
        };
        eq(
            "unflushed_bytes()",
            self.w.unflushed_bytes() as u64,
            m.unflushed.len() as u64,
        );
        eq("consumed_bytes()", self.r.consumed_bytes(), m.head);
        eq(
            "granted_memory().len()",
            self.w.granted_memory().len() as u64,
            m.granted,
        );
        eq("pool.in_use()", self.pool.in_use() as u64, m.in_use());
        eq("capacity()", self.w.capacity() as u64, m.cap);
        eq("max_memory()", self.w.max_memory() as u64, m.max);
        eq("is_paused()", self.w.is_paused().into(), m.paused.into());
        eq(
            "writer is_completed()",
            self.w.is_completed().into(),
            m.w_completed.into(),
        );
        eq(
            "reader is_completed()",
            self.r.is_completed().into(),
            m.r_completed.into(),
        );
        eq(
            "is_reader_completed()",
            self.w.is_reader_completed().into(),
            m.r_completed.into(),
        );
        eq(
            "is_writer_completed()",
            self.r.is_writer_completed().into(),
            m.w_completed.into(),
        );
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

/// Runs a case; on a mismatch, says at which step.
fn run_case(case: &Case) -> Result<(), String> {
    let mut h = Harness::new(case);
    h.check_state()?;
    for (i, op) in case.ops.iter().enumerate() {
        h.step(op)
            .map_err(|e| format!("step {i} ({op:?}): {e}\nmodel: {:?}", h.m))?;
    }
    Ok(())
}

fn prop_matches_model(case: Case) -> TestResult {
    match run_case(&case) {
        Ok(()) => TestResult::passed(),
        Err(e) => TestResult::error(e),
    }
}

/// A `QuickCheck` that runs `default` cases unless `QUICKCHECK_TESTS` says otherwise (a
/// handful under Miri).
fn checker(default: u64) -> QuickCheck {
    let qc = QuickCheck::new();
    if cfg!(miri) {
        qc.tests(3).rng(Gen::new(30))
    } else if std::env::var_os("QUICKCHECK_TESTS").is_none() {
        qc.tests(default)
    } else {
        qc
    }
}

#[test]
fn pipe_matches_model() {
    // A case takes well under a millisecond: run many.
    checker(2000).quickcheck(prop_matches_model as fn(Case) -> TestResult);
}

// ---------------------------------------------------------------------------------------------
// Regressions, minimized from counterexamples of the property above (core bugs since fixed).

fn pipe_with(
    capacity: usize,
    chunk: usize,
    pause: usize,
    resume: usize,
) -> (PipeWriter, PipeReader) {
    let (opts, _pool) = build(&Case {
        capacity,
        chunk,
        pause,
        resume,
        ops: Vec::new(),
    });
    ringpipe::pipe(opts)
}

/// Asks for `hint` bytes and advances `n` of them (filled with 0xAB).
fn put(w: &mut PipeWriter, hint: usize, n: usize) {
    let mem = w.try_get_memory(hint).expect("try_get_memory");
    mem[..n].fill(0xAB);
    w.advance(n);
}

fn poll_dbg<T: std::fmt::Debug>(p: &Poll<T>) -> String {
    format!("{p:?}")
}

/// Regression (found by `pipe_matches_model`; fixed in the core by 43943f4). The writer asks
/// for room while holding unflushed bytes and the reader waits for data: both rightly get
/// `WouldDeadlock`. The writer then flushes (the reader can now read and consume) and asks for
/// room again: that wait must be accepted. The core used to answer `WouldDeadlock` again,
/// because only a returning read, a consume or an un-examine ended a stall.
#[test]
fn stall_ends_with_the_data_that_satisfies_the_wait() {
    let (mut w, mut r) = pipe_with(9, 9, 0, 1);
    let (wc, rc) = (CountingWaker::new(), CountingWaker::new());
    let mut cxw = Context::from_waker(&wc.waker);
    let mut cxr = Context::from_waker(&rc.waker);
    assert!(r.poll_read(&mut cxr).is_pending());
    put(&mut w, 9, 9);
    let first = w.poll_get_memory(&mut cxw, 9);
    assert!(
        matches!(first, Poll::Ready(Err(WriteError::WouldDeadlock))),
        "setup: {first:?}"
    );
    let f = w.try_flush().unwrap().expect("not paused");
    assert!(!f.is_canceled() && !f.is_completed());
    assert!(rc.get() > 0, "the commit wakes the reader");
    let again = w.poll_get_memory(&mut cxw, 1);
    assert!(
        again.is_pending(),
        "after the flush the reader can read and consume, so waiting for room is \
         fine; got {}",
        poll_dbg(&again)
    );
}

/// Regression (found by `pipe_matches_model`; fixed in the core: every commit ends a stall). A
/// stall outlived the wait it was about. The reader waits for 8 bytes; the
/// writer, holding 5 unflushed bytes, asks for room it lacks: both rightly see a deadlock and
/// `STALLED` is set. The reader gives the wait up (drops the future, e.g. a timeout), the
/// writer commits its 5 bytes. Nobody waits any more, yet the stall stays: the commit ends
/// it only if it reaches the reader's last `wait_pos` (writer.rs `commit_slow`), and dropping
/// the read does not end it either. Expected: a new `read_at_least(7)` waits (`Pending`: the
/// writer has room for 3 more bytes), and so does the writer's next wait for 4 bytes of room
/// (the reader can read and consume). Actual: `ReadError::WouldDeadlock { buffered: 5, .. }`
/// and `WriteError::WouldDeadlock`. Fix: end the stall on every commit (a new wait is judged
/// afresh by the existing checks), or when the wait it concerned ends.
#[test]
fn stall_ends_with_any_commit() {
    let (mut w, mut r) = pipe_with(8, 8, 0, 1);
    let (wc, rc) = (CountingWaker::new(), CountingWaker::new());
    let mut cxw = Context::from_waker(&wc.waker);
    let mut cxr = Context::from_waker(&rc.waker);
    {
        let mut read = pin!(r.read_at_least(8));
        assert!(read.as_mut().poll(&mut cxr).is_pending());
        put(&mut w, 8, 5);
        let verdict = w.poll_get_memory(&mut cxw, 4);
        assert!(
            matches!(verdict, Poll::Ready(Err(WriteError::WouldDeadlock))),
            "setup: {verdict:?}"
        );
    } // the reader gives up its wait
    w.commit();
    let read = {
        let mut read = pin!(r.read_at_least(7));
        let p = read.as_mut().poll(&mut cxr);
        poll_dbg(&p.map(|r| r.map(|res| res.buffer().len())))
    };
    let write = poll_dbg(&w.poll_get_memory(&mut cxw, 4));
    assert!(
        read == "Pending" && write == "Pending",
        "after the commit nobody waits, 3 bytes of room are free and the reader can \
         consume 5: expected read_at_least(7) and poll_get_memory(4) to wait (Pending, \
         Pending), got {read} and {write}"
    );
}

/// Regression (found by `pipe_matches_model`; fixed in the core by 43943f4). The writer skipped
/// its pause check when the unexamined bytes computed from its cached `examined` were below the
/// pause threshold; after the reader moved `examined` back (allowed) the cache was ahead and a
/// commit reaching the threshold did not pause. Here: pause 4; the reader examines 5 (cached by
/// the writer), un-examines to 3 (3 unexamined of 6), and the writer commits 1 byte (4
/// unexamined): `try_flush` must report the pause.
#[test]
fn unexamine_then_commit_still_pauses() {
    let (mut w, mut r) = pipe_with(16, 16, 4, 1);
    let flush = |w: &mut PipeWriter| w.try_flush().unwrap();
    put(&mut w, 1, 2);
    assert!(flush(&mut w).is_some());
    let (start, end) = {
        let b = r.try_read().unwrap().unwrap().buffer();
        (b.start(), b.end())
    };
    r.advance_to(start, end).unwrap(); // examined 2
    put(&mut w, 1, 3);
    assert!(flush(&mut w).is_some(), "5 committed, 3 unexamined");
    let (start, end) = {
        let b = r.try_read().unwrap().unwrap().buffer();
        (b.start(), b.end())
    };
    r.advance_to(start, end).unwrap(); // examined 5
    put(&mut w, 1, 1);
    assert!(flush(&mut w).is_some(), "6 committed, 1 unexamined");
    let (start, three) = {
        let b = r.try_read().unwrap().unwrap().buffer();
        (b.start(), b.position(3))
    };
    r.advance_to(start, three).unwrap(); // un-examine: 3 unexamined
    put(&mut w, 1, 1); // 7 committed, 4 unexamined: reaches the pause threshold
    let f = flush(&mut w);
    assert!(
        f.is_none() && w.is_paused(),
        "4 unexamined bytes reach the pause threshold 4 at this commit; expected a \
         pause, got {f:?} (is_paused {})",
        w.is_paused()
    );
}

/// Regression (found by `pipe_matches_model`; fixed in the core by 43943f4). A `poll_flush` that
/// parked after an abandoned pending `poll_get_memory` left `WRITER_WAITING_SPACE` set, so the
/// reader judged the flush by the stale space needs and did not wake it when it examined
/// enough: a lost wake-up (an `AsyncWrite` whose `poll_write` returned `Pending` and whose
/// caller then called `poll_flush` would hang).
#[test]
fn flush_after_abandoned_wait_for_room_is_woken() {
    let (mut w, mut r) = pipe_with(7, 7, 3, 2);
    let wc = CountingWaker::new();
    let mut cx = Context::from_waker(&wc.waker);
    put(&mut w, 7, 7);
    assert!(w.poll_get_memory(&mut cx, 6).is_pending(), "no room");
    assert!(
        w.poll_flush(&mut cx).is_pending(),
        "7 unexamined >= pause 3"
    );
    let (one, six) = {
        let b = r.try_read().unwrap().unwrap().buffer();
        (b.position(1), b.position(6))
    };
    let before = wc.get();
    r.advance_to(one, six).unwrap(); // 1 unexamined < resume 2: the flush may complete
    let ready = w.poll_flush(&mut cx);
    assert!(
        matches!(ready, Poll::Ready(Ok(f)) if !f.is_canceled() && !f.is_completed()),
        "the flush can complete: {ready:?}"
    );
    assert!(
        wc.get() > before,
        "the reader made the pending flush completable but did not wake it"
    );
}

/// Regression (found by `pipe_matches_model`; fixed in the core by 43943f4). A read that gave
/// chunks back (chunks consumed while the writer still filled them, sealed since) did not wake
/// a writer waiting for their slots. If the read brings nothing new to examine (a canceled read
/// here), the reader's next `advance_to` is a no-op and it parks waiting for data that only the
/// parked writer can produce: both wait forever.
#[test]
fn read_releasing_a_chunk_wakes_writer() {
    // 4 slots of 4-byte chunks; size hints of 4 put each byte in its own chunk.
    let (mut w, mut r) = pipe_with(8, 4, 0, 1);
    let (wc, rc) = (CountingWaker::new(), CountingWaker::new());
    let mut cxw = Context::from_waker(&wc.waker);
    let mut cxr = Context::from_waker(&rc.waker);
    put(&mut w, 1, 1);
    w.commit();
    let end = r.try_read().unwrap().unwrap().buffer().end();
    r.advance_to(end, end).unwrap(); // chunk 0 consumed while still open: kept
    for _ in 0..3 {
        put(&mut w, 4, 1); // seals chunk 0, then chunks 1..3 hold a byte each
    }
    assert!(
        w.poll_get_memory(&mut cxw, 4).is_pending(),
        "a fifth chunk needs chunk 0's slot"
    );
    w.canceller().cancel_pending_read();
    let start = {
        let res = r.try_read().unwrap().unwrap();
        assert!(res.is_canceled() && res.buffer().is_empty());
        res.buffer().start()
    }; // this read released chunk 0
    r.advance_to(start, start).unwrap(); // nothing new: a no-op
    assert!(
        r.poll_read(&mut cxr).is_pending(),
        "the reader waits for the writer's data"
    );
    let can = w.poll_get_memory(&mut cxw, 4);
    assert!(
        matches!(can, Poll::Ready(Ok(4))),
        "the writer could go on: {can:?}"
    );
    assert!(
        wc.get() > 0,
        "the read released the slot the parked writer needs but did not wake it: \
         with both sides parked this hangs"
    );
}

/// Regression (found by `pipe_matches_model`; fixed in the core by 43943f4). The reader consumed
/// chunk 0 while the writer still filled it; the writer then sealed it and waits for a chunk
/// slot. A parking read judged the writer blocked by its lazily updated chunk count and
/// answered `WouldDeadlock { buffered: 0 }` instead of releasing chunk 0, waking the writer and
/// waiting.
#[test]
fn deadlock_verdict_releases_consumed_chunks_first() {
    let (mut w, mut r) = pipe_with(8, 4, 0, 1);
    let (wc, rc) = (CountingWaker::new(), CountingWaker::new());
    let mut cxw = Context::from_waker(&wc.waker);
    let mut cxr = Context::from_waker(&rc.waker);
    put(&mut w, 1, 1);
    w.commit();
    let end = r.try_read().unwrap().unwrap().buffer().end();
    r.advance_to(end, end).unwrap();
    for _ in 0..3 {
        put(&mut w, 4, 1);
    }
    assert!(w.poll_get_memory(&mut cxw, 4).is_pending());
    let got = r.poll_read(&mut cxr);
    assert!(
        got.is_pending(),
        "chunk 0 is consumed and sealed, so the writer's slot is one release \
         away; got {}",
        poll_dbg(&got.map(|r| r.map(|res| res.buffer().len())))
    );
}

/// The held-chunk class (issue 12), through the model: chunk 0 consumed while open, the reader
/// waiting in `read_at_least(7)`, the writer puts one byte in each of three fresh chunks (the
/// first grant seals chunk 0) and waits for a fourth. The model says the wait for room is not
/// a deadlock (the reader can free chunk 0's slot without new data) and that the reader, polled
/// again, frees it and wakes the writer; both before and after a cancel of that wait.
#[test]
fn a_wait_for_a_slot_the_parked_reader_can_free_is_not_a_deadlock() {
    let one_byte_chunks = || {
        let mut ops = Vec::new();
        for _ in 0..3 {
            ops.push(WOp::Write(4, 1));
            ops.push(WOp::Commit);
        }
        ops
    };
    let prefix = vec![
        Op::W(WOp::Write(4, 4)),
        Op::W(WOp::Commit),
        Op::Read(0),
        // Consumed and examined both at the end (see `Positions::pick`).
        Op::AdvanceTo(4, 5),
    ];
    let mut waits = prefix.clone();
    let mut inner = one_byte_chunks();
    inner.push(WOp::PollGetMemory(4));
    waits.push(Op::ReadAtLeast(7, inner));
    waits.push(Op::PollRead(0));
    waits.push(Op::W(WOp::PollGetMemory(4)));
    let mut canceled = prefix;
    let mut inner = one_byte_chunks();
    inner.extend([
        WOp::PollGetMemory(4),
        WOp::CancelFlush,
        WOp::PollGetMemory(4),
    ]);
    canceled.push(Op::ReadAtLeast(7, inner));
    for ops in [waits, canceled] {
        let case = Case {
            capacity: 12,
            chunk: 4,
            pause: 0,
            resume: 1,
            ops,
        };
        let mut h = Harness::new(&case);
        for (i, op) in case.ops.iter().enumerate() {
            if let Err(e) = h.step(op) {
                panic!("{case:?}: step {i} ({op:?}): {e}");
            }
        }
        assert_eq!(h.m.head, 4, "the shape was reached: chunk 0 consumed");
        assert!(h.m.released >= 1, "and its slot freed");
    }
}

// ---------------------------------------------------------------------------------------------
// Two threads, random piece sizes, a checksum.

#[derive(Clone, Debug)]
struct Stream {
    capacity: usize,
    chunk: usize,
    pause: usize,
    resume: usize,
    /// Piece sizes the producer writes and how (`write_all_blocking`, or `get_memory_blocking`
    /// with a hint picked from the byte, then a flush or a commit).
    pieces: Vec<(u16, u8)>,
    /// How much the consumer consumes per read (0: everything).
    takes: Vec<u8>,
    seed: u64,
}

impl Arbitrary for Stream {
    fn arbitrary(g: &mut Gen) -> Stream {
        let capacity = 1 + usize::arbitrary(g) % if bool::arbitrary(g) { 8 } else { 64 };
        let chunk = 1 + usize::arbitrary(g) % 16;
        let pause = usize::arbitrary(g) % (capacity + 1);
        let resume = 1 + usize::arbitrary(g) % pause.max(1);
        // At most a few thousand bytes: a tiny ring hands them over a few at a time.
        let n = usize::arbitrary(g) % (g.size().min(40) + 1);
        let pieces = (0..n)
            .map(|_| {
                let size = if bool::arbitrary(g) {
                    1 + u16::arbitrary(g) % 8
                } else {
                    1 + u16::arbitrary(g) % 150
                };
                (size, u8::arbitrary(g))
            })
            .collect();
        let takes = Vec::<u8>::arbitrary(g);
        Stream {
            capacity,
            chunk,
            pause,
            resume,
            pieces,
            takes,
            seed: u64::arbitrary(g),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Stream>> {
        let base = self.clone();
        let by_pieces = self.pieces.shrink().map({
            let base = base.clone();
            move |pieces| Stream {
                pieces,
                ..base.clone()
            }
        });
        let by_takes = self.takes.shrink().map(move |takes| Stream {
            takes,
            ..base.clone()
        });
        Box::new(by_pieces.chain(by_takes))
    }
}

/// FNV-1a, 64 bits.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

const FNV_START: u64 = 0xCBF2_9CE4_8422_2325;

/// How long a stream may take before it is declared hung (Miri's clock is virtual).
const TIMEOUT: std::time::Duration =
    std::time::Duration::from_secs(if cfg!(miri) { 36_000 } else { 30 });

/// Set once a stream hangs: later cases are discarded so that shrinking stops at once.
static HUNG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn produce(mut w: PipeWriter, s: &Stream, hint_max: usize) -> Result<(u64, u64), String> {
    let mut hash = FNV_START;
    let mut total = 0u64;
    let mut x = splitmix64(s.seed) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    };
    for &(size, how) in &s.pieces {
        let data: Vec<u8> = (0..size).map(|_| next()).collect();
        if how % 2 == 0 {
            let f = w
                .write_all_blocking(&data)
                .map_err(|e| format!("write_all_blocking: {e:?}"))?;
            if f.is_canceled() || f.is_completed() {
                return Err(format!("write_all_blocking: {f:?}"));
            }
        } else {
            let hint = (how as usize / 2) % (hint_max + 1);
            let mut rest = &data[..];
            while !rest.is_empty() {
                if w.try_get_memory(hint).is_err() {
                    w.commit();
                }
                let mem = w
                    .get_memory_blocking(hint)
                    .map_err(|e| format!("get_memory_blocking({hint}): {e:?}"))?;
                let k = mem.len().min(rest.len());
                mem[..k].copy_from_slice(&rest[..k]);
                w.advance(k);
                rest = &rest[k..];
            }
            if how % 4 == 1 {
                w.commit();
            } else {
                w.flush_blocking()
                    .map_err(|e| format!("flush_blocking: {e:?}"))?;
            }
        }
        hash = fnv(hash, &data);
        total += data.len() as u64;
    }
    w.complete();
    Ok((hash, total))
}

fn consume(mut r: PipeReader, s: &Stream, retain_max: usize) -> Result<(u64, u64), String> {
    let mut hash = FNV_START;
    let mut head = 0u64;
    let mut seen = 0u64;
    for i in 0.. {
        let res = r
            .read_blocking()
            .map_err(|e| format!("read_blocking at {head}: {e:?}"))?;
        let buf = res.buffer();
        let new = buf.slice((seen - head) as usize..);
        for chunk in new.chunks() {
            hash = fnv(hash, chunk);
        }
        seen = buf.end().offset();
        let len = buf.len();
        let take = match s.takes.get(i % s.takes.len().max(1)) {
            None | Some(0) => len,
            Some(&t) => (t as usize).min(len),
        };
        let c = take.max(len.saturating_sub(retain_max));
        let done = res.is_completed() && c == len;
        let (cp, end) = (buf.position(c), buf.end());
        r.advance_to(cp, end)
            .map_err(|e| format!("advance_to: {e:?}"))?;
        head += c as u64;
        if done {
            break;
        }
    }
    Ok((hash, head))
}

fn prop_two_threads(s: Stream) -> TestResult {
    if HUNG.load(Ordering::Relaxed) {
        return TestResult::discard();
    }
    let (opts, pool) = build(&Case {
        capacity: s.capacity,
        chunk: s.chunk,
        pause: s.pause,
        resume: s.resume,
        ops: Vec::new(),
    });
    // Liveness (see tests/streaming.rs): hints up to half the largest memory; a reader that
    // waits keeps few enough bytes that the writer always has bytes and a chunk slot.
    let max = s.capacity.min(s.chunk);
    let hint_max = (max / 2).max(1);
    let retain_max = (s.capacity - hint_max).min(opts.slots() - 2);
    let (w, r) = ringpipe::pipe(opts);
    let (tx, rx) = std::sync::mpsc::channel();
    let (s1, s2) = (s.clone(), s.clone());
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        let _ = tx.send(("producer", produce(w, &s1, hint_max)));
    });
    std::thread::spawn(move || {
        let _ = tx2.send(("consumer", consume(r, &s2, retain_max)));
    });
    let mut sent = None;
    let mut got = None;
    for _ in 0..2 {
        match rx.recv_timeout(TIMEOUT) {
            Ok(("producer", r)) => sent = Some(r),
            Ok((_, r)) => got = Some(r),
            Err(_) => {
                HUNG.store(true, Ordering::Relaxed);
                return TestResult::error("timed out after 30 s: a side is hung");
            }
        }
    }
    match (sent.unwrap(), got.unwrap()) {
        (Ok(a), Ok(b)) if a == b && pool.in_use() == 0 => TestResult::passed(),
        (Ok(a), Ok(b)) => TestResult::error(format!(
            "producer sent (checksum, bytes) {a:?}, consumer got {b:?}; pool in_use {}",
            pool.in_use()
        )),
        (a, b) => TestResult::error(format!("producer: {a:?}; consumer: {b:?}")),
    }
}

#[test]
fn two_threads_checksum() {
    checker(200).quickcheck(prop_two_threads as fn(Stream) -> TestResult);
}
