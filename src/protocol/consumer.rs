//! The reader's half of the protocol: read (wait for data), release, advance, complete; and
//! the reader's side of the stall and deadlock verdicts.

use super::{
    Quiet, Ring, Side, Storage, Wakeup, EXAMINED_BACK, READER_WAITING, READ_CANCELED, STALLED,
    SYM_FENCES, WRITER_COMPLETED, WRITER_FAILED, WRITER_WAITING, WRITER_WAITING_SPACE,
};
use crate::error::{AdvanceError, CompletionError, ReadError};
use crate::sync::{Arc, Ordering};
use core::task::{Context, Poll};

/// What the reader waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Need {
    /// Any byte past `examined`.
    More,
    /// At least this many unconsumed bytes.
    AtLeast(usize),
}

/// Polls without a context (`try_read`) that find nothing, in a row and with nothing consumed
/// in between, after which the pipe counts as idle: about 10-50 µs of a busy-polling reader
/// that finds no data (a streaming one finds some far more often).
const IDLE_POLLS: u32 = 1024;

/// What a read found: the end of the data it may return, and why it ended.
pub(crate) struct Snap {
    pub(crate) tail: u64,
    pub(crate) canceled: bool,
    pub(crate) completed: bool,
}

/// The reader's half of the protocol: its position in the ring and every step it takes.
/// `Send`; one owner (the front-end's `PipeReader`) drives it through `&mut self`.
pub(crate) struct Consumer<S, W: Wakeup> {
    ring: Arc<Ring<S, W>>,
    head: u64,
    examined: u64,
    /// The end of the data of the last read (positions up to here may be advanced to).
    seen_tail: u64,
    /// The chunk holding `head` (also the number of chunks released), and where its data starts.
    chunk_seq: u64,
    chunk_start: u64,
    /// Where the data of chunk `chunk_seq` ends, as of the last look at its length (at the
    /// last read, or when it became the current chunk): `u64::MAX` while it was open. A chunk
    /// is sealed once, so a known end is exact; an unknown one is looked at again by the next
    /// read (and before a park). `advance_to` releases chunks only when `head` reaches a known
    /// end, which keeps the length load off its path; a chunk sealed after the read that
    /// returned its last bytes is released by the next read's advance (the writer commits
    /// into the next chunk after sealing, P1/P2), or before the reader parks (R1).
    chunk_end: u64,
    completed: bool,
    /// Whether a read saw the writer completed: no chunk is opened any more, so the storage
    /// keeps nothing for it (`Storage::idle` after every release).
    writer_done: bool,
    /// Released slots from here on may still keep memory for the writer (`Storage::idle`).
    idle_from: u64,
    /// Polls without a context that found nothing in a row, all at `head == empty_at`.
    empty_polls: u32,
    empty_at: u64,
    /// Whether this reader set READER_WAITING and has not cleared it.
    waiting: bool,
    /// Whether the poll that announced that wait returned `Pending` (the reader was parked,
    /// not only registered): its next stop is a resumption (`Ring::resumed`).
    parked: bool,
    /// How this reader's spins before parking went.
    spin: W::SpinState,
    /// This side's run of quiet publishes before the ring goes back to asymmetric fences
    /// ("Fence modes").
    quiet: Quiet,
}

impl<S: Storage, W: Wakeup> Consumer<S, W> {
    pub(crate) fn new(ring: Arc<Ring<S, W>>) -> Consumer<S, W> {
        Consumer {
            ring,
            head: 0,
            examined: 0,
            seen_tail: 0,
            chunk_seq: 0,
            chunk_start: 0,
            chunk_end: u64::MAX,
            completed: false,
            writer_done: false,
            parked: false,
            idle_from: 0,
            empty_polls: 0,
            empty_at: 0,
            waiting: false,
            spin: W::SpinState::default(),
            quiet: Quiet::new(),
        }
    }

    /// Back to the state of a new ring (after [`Ring::reset`]).
    pub(crate) fn reset_local(&mut self) {
        let shared = self.ring.clone();
        *self = Consumer::new(shared);
    }

    /// The shared ring.
    #[inline]
    pub(crate) fn ring(&self) -> &Arc<Ring<S, W>> {
        &self.ring
    }

    /// Whether this reader has completed.
    pub(crate) fn is_completed(&self) -> bool {
        self.completed
    }

    /// Bytes consumed since creation (or the last reset).
    pub(crate) fn consumed(&self) -> u64 {
        self.head
    }

    /// The examined position.
    pub(crate) fn examined(&self) -> u64 {
        self.examined
    }

    /// Takes a read's result: positions up to `snap.tail` may now be advanced to. Returns
    /// where the data starts: the consumed position, the slot holding it, where that slot's
    /// data starts and where it ends (`u64::MAX` while the writer fills it).
    ///
    /// The end is loaded here, after the read's load of `tail` (P1), so an open chunk holds
    /// every byte of the result: the writer seals a chunk before it commits a byte past it
    /// (P2 before P1). No slot is released here: `advance_to` does it, and so does a read
    /// before it parks. A writer waiting for a slot this read could free is not kept waiting
    /// for long: the reader advances next (the contract), or reads again and finds nothing
    /// new, and then it parks, after releasing. (Keeping this off the read path saves a tenth
    /// of a 64-byte write+read cycle.)
    #[inline]
    pub(crate) fn take(&mut self, snap: &Snap) -> (u64, u64, u64, u64) {
        self.seen_tail = snap.tail;
        self.chunk_end = self.load_chunk_end();
        (self.head, self.chunk_seq, self.chunk_start, self.chunk_end)
    }

    /// The end of chunk `chunk_seq`'s data if it is sealed, else `u64::MAX`. Ordering:
    /// Acquire (in `sealed_len`), P2.
    #[inline]
    fn load_chunk_end(&self) -> u64 {
        match self.ring.sealed_len(self.chunk_seq) {
            Some(len) => self.chunk_start + len as u64,
            None => u64::MAX,
        }
    }

    /// The common case of a non-waiting read, inline: the same decision as `decide` when no
    /// bit of `state` is set but the fence mode (no completion, error, cancel, stall or wait of
    /// either side: our own completion and wait have their bits too): data past `examined` is
    /// a result; `None` sends the caller the general way.
    #[inline]
    pub(crate) fn try_fast(&mut self) -> Option<Snap> {
        let ring = &*self.ring;
        // Ordering: as in `poll_read` (state, then tail; Acquire: C1, P1).
        let s = ring.state();
        let t = self.tail();
        (s & !SYM_FENCES == 0 && t > self.examined).then_some(Snap {
            tail: t,
            canceled: false,
            completed: false,
        })
    }

    /// The writer's committed position (checked: never below the end of the last read, nor
    /// past our consumed position plus the capacity).
    #[inline]
    fn tail(&self) -> u64 {
        self.ring
            .tail(self.seen_tail, self.head + self.ring.capacity)
    }

    fn wait_pos(&self, need: Need) -> u64 {
        match need {
            Need::More => self.examined + 1,
            Need::AtLeast(n) => self.head + n as u64,
        }
    }

    /// Decides a read from a state snapshot `s` and a tail `t` (loaded after `s`).
    #[inline]
    fn decide(&mut self, s: u32, t: u64, need: Need) -> Option<Result<Snap, ReadError>> {
        if s & WRITER_FAILED != 0 {
            return Some(Err(ReadError::WriterFailed(
                self.ring.error_of(Side::Writer),
            )));
        }
        let completed = s & WRITER_COMPLETED != 0;
        if completed && !self.writer_done {
            self.saw_writer_done();
        }
        let ring = &*self.ring;
        let canceled = s & READ_CANCELED != 0;
        if canceled || completed || t >= self.wait_pos(need) {
            if canceled || s & STALLED != 0 {
                // One-shot: this result observes the cancel. A stall is over once a read
                // returns: it concerned the previous wait.
                ring.clear(READ_CANCELED | STALLED);
            }
            return Some(Ok(Snap {
                tail: t,
                canceled,
                completed,
            }));
        }
        if t - self.head >= ring.capacity {
            // The ring is full of data we examined without consuming: the writer has no room
            // and nothing unflushed, so no byte can ever come.
            self.stall(t);
            return Some(Err(self.deadlock(t)));
        }
        if s & STALLED != 0 {
            return Some(Err(self.deadlock(t)));
        }
        None
    }

    fn deadlock(&self, t: u64) -> ReadError {
        ReadError::WouldDeadlock {
            buffered: (t - self.head) as usize,
            capacity: self.ring.capacity as usize,
        }
    }

    /// Records that our read can never be satisfied and tells a parked writer.
    fn stall(&self, t: u64) {
        let ring = &*self.ring;
        // Ordering: Release, pairs with the writer's Acquire load in `commit_slow` (after it
        // saw STALLED): only data past `t` ends this stall.
        ring.words().reader.stall_tail.store(t, Ordering::Release);
        // Decide the wake on the RMW's result, not on an earlier snapshot: RMWs on `state` are
        // totally ordered, so either we see the writer's waiting bits here or the writer's
        // post-fence load sees STALLED.
        let old = ring.words().state.fetch_or(STALLED, Ordering::AcqRel);
        if old & WRITER_WAITING != 0 {
            ring.wake(Side::Writer);
        }
    }

    /// The first read that sees the writer completed: the storage need keep nothing for it.
    #[cold]
    #[inline(never)]
    fn saw_writer_done(&mut self) {
        self.writer_done = true;
        self.go_idle();
    }

    /// The pipe goes idle: what the storage keeps of the slots released since the last time
    /// goes back (`Storage::idle`); nothing to do if no slot was released since.
    #[inline]
    fn go_idle(&mut self) {
        if self.idle_from != self.chunk_seq {
            self.return_kept();
        }
    }

    /// Out of line: on the way to a park, and only once per released chunk.
    #[inline(never)]
    fn return_kept(&mut self) {
        // SAFETY: we are the reader.
        unsafe { self.ring.storage.idle(self.idle_from, self.chunk_seq) };
        self.idle_from = self.chunk_seq;
    }

    /// A poll without a context found nothing: after `IDLE_POLLS` of them in a row with no
    /// byte consumed in between, the pipe counts as idle.
    #[cold]
    fn polled_empty(&mut self) {
        if self.head != self.empty_at {
            self.empty_at = self.head;
            self.empty_polls = 0;
        }
        self.empty_polls += 1;
        if self.empty_polls == IDLE_POLLS {
            self.go_idle();
        }
    }

    /// Clears the waiting bit this reader set (after a wait ends or is abandoned).
    pub(crate) fn stop_waiting(&mut self) {
        if self.waiting {
            self.ring.clear(READER_WAITING);
            self.waiting = false;
            if self.parked {
                self.parked = false;
                self.ring.resumed(Side::Reader, &mut self.spin);
            }
        }
    }

    /// A read: `Ready(Ok(Some(snap)))` with data (or a completion or cancel), `Ready(Ok(None))`
    /// without a context when there is nothing, `Pending` (with a context) after announcing
    /// the wait; a `Pending` poll leaves the reader registered as waiting until the next read
    /// or [`stop_waiting`](Self::stop_waiting).
    pub(crate) fn poll_read(
        &mut self,
        cx: Option<&mut Context<'_>>,
        need: Need,
    ) -> Poll<Result<Option<Snap>, ReadError>> {
        if self.completed {
            return Poll::Ready(Err(ReadError::ReaderCompleted));
        }
        if let Need::AtLeast(n) = need {
            if n as u64 > self.ring.capacity {
                return Poll::Ready(Err(ReadError::MinimumTooLarge {
                    minimum: n,
                    capacity: self.ring.capacity as usize,
                }));
            }
        }
        let ring = &*self.ring;
        // Ordering: Acquire, pairs with C1 (completion, errors) and cancel; then Acquire on
        // tail, P1. State first: a completed writer's final tail is then visible.
        let s = ring.state();
        let t = self.tail();
        if let Some(r) = self.decide(s, t, need) {
            self.stop_waiting();
            return Poll::Ready(r.map(Some));
        }
        let Some(cx) = cx else {
            self.polled_empty();
            self.stop_waiting();
            // (No release here: a polling reader sees the data committed after any seal, and
            // its `advance_to` past that data releases the sealed slots.)
            return Poll::Ready(Ok(None));
        };
        // Chunks consumed while the writer still filled them may be sealed by now: give them
        // back before we park, so a writer waiting for their slots can go on (and is not
        // judged blocked below).
        if self.release_consumed() {
            self.after_progress(false);
        }
        // Spin before parking, as the pipe's `SpinWait` says: cheap re-checks, no
        // registration, no fence.
        let plan = self.ring.spin_plan(Side::Reader);
        let mut spin = self.spin;
        let spun = W::spin(plan, &mut spin, || {
            // Ordering: as above.
            let s = self.ring.state();
            let t = self.tail();
            self.decide(s, t, need)
        });
        self.spin = spin;
        if let Some(r) = spun {
            self.stop_waiting();
            return Poll::Ready(r.map(Some));
        }
        // About to park: memory the storage keeps for the writer's next chunks goes back.
        self.go_idle();
        let ring = &*self.ring;
        // Ordering: Release, pairs with the writer's Acquire loads (commit, `poll_grant`): a
        // writer that sees this wait position also sees the head and examined stored before.
        ring.words()
            .reader
            .wait_pos
            .store(self.wait_pos(need), Ordering::Release);
        // W1 (heavy half): our WAITING bit vs the writer's tail store.
        let old = ring.announce_wait(Side::Reader, cx, READER_WAITING, &mut self.quiet, self.head);
        self.waiting = true;
        let s = ring.state();
        let t = self.tail();
        if let Some(r) = self.decide(s, t, need) {
            self.stop_waiting();
            return Poll::Ready(r.map(Some));
        }
        // R1 (reader half): a chunk the writer sealed after our release above (while we spun or
        // announced the wait) is ours to give back now: the fence above pairs with the one
        // after the writer's seal, so either we see the seal here or the writer sees our bit
        // and wakes us.
        if self.release_consumed() {
            self.after_progress(false);
        }
        if s & WRITER_WAITING_SPACE != 0 && self.writer_blocked_after_release() {
            // The needs we just acquired may come from a wait newer than `s`: re-read the
            // tail, which now includes every commit made before those needs were stored.
            let t = self.tail();
            if let Some(r) = self.decide(s, t, need) {
                self.stop_waiting();
                return Poll::Ready(r.map(Some));
            }
            // The writer waits for room only we can make, and we wait for data only it can
            // commit.
            self.stop_waiting();
            self.stall(t);
            return Poll::Ready(Err(self.deadlock(t)));
        }
        let ring = &*self.ring;
        if old & WRITER_WAITING != 0 && old & WRITER_WAITING_SPACE == 0 {
            // A paused writer may resume now that we wait for more (read_at_least).
            ring.wake(Side::Writer);
        }
        self.parked = true;
        Poll::Pending
    }

    /// As [`writer_blocked`](Self::writer_blocked), for a deadlock verdict: the writer's needs
    /// are loaded first, then we give back what we can. A chunk sealed before those needs were
    /// stored (they are stored after the writer's last seal) is then released, not held
    /// against the writer.
    fn writer_blocked_after_release(&mut self) -> bool {
        // Acquire (in `needs`) also makes the writer's seals before its wait visible to
        // `release_consumed` (P2 through this pair).
        let (need_head, need_released) = self.ring.needs();
        if self.release_consumed() {
            self.after_progress(false);
        }
        self.head < need_head || self.chunk_seq < need_released
    }

    /// Whether a writer parked for room still lacks it, given our (exact) head and released.
    fn writer_blocked(&self) -> bool {
        let (need_head, need_released) = self.ring.needs();
        self.head < need_head || self.chunk_seq < need_released
    }

    /// Gives back chunks whose every byte is consumed (the writer may have sealed them since
    /// the last look). Returns whether any went back.
    #[inline]
    fn release_consumed(&mut self) -> bool {
        // The common case, inline: the chunk holding `head` is not finished (nothing consumed
        // from it, still open, or sealed past `head`).
        if self.head <= self.chunk_start {
            return false;
        }
        self.chunk_end = self.load_chunk_end();
        self.head >= self.chunk_end && self.release_consumed_slow()
    }

    /// Gives back every chunk from `chunk_seq` on that is sealed and wholly consumed, and
    /// loads the end of the chunk it stops at. Returns whether any went back.
    #[inline(never)]
    fn release_consumed_slow(&mut self) -> bool {
        let ring = &*self.ring;
        let before = self.chunk_seq;
        // `head == chunk_start`: nothing consumed from this chunk, which may not even be open
        // yet; a sealed chunk holds at least one byte, so it is not finished either.
        while self.head > self.chunk_start {
            // P2: a sealed slot is finished by the writer.
            let len = match ring.sealed_len(self.chunk_seq) {
                Some(len) if self.head >= self.chunk_start + len as u64 => len,
                _ => break,
            };
            // SAFETY: the slot is sealed and fully consumed; the writer does not touch it again
            // until we publish `released` past it (P3).
            unsafe { ring.storage.release(self.chunk_seq) };
            self.chunk_start += len as u64;
            self.chunk_seq += 1;
        }
        self.chunk_end = self.load_chunk_end();
        if self.chunk_seq != before {
            // Ordering: Release, P3: our accesses to the released slots happen before the
            // writer reuses them.
            ring.words()
                .reader
                .released
                .store(self.chunk_seq, Ordering::Release);
            if self.writer_done {
                self.go_idle();
            }
            true
        } else {
            false
        }
    }

    /// Whether `advance_to(c, e)` is allowed: the reader has not completed, and `head <= c
    /// <= e <= ` the end of the last read's data. One test for the common case; the caller
    /// finds which rule a refused pair breaks (with [`position_error`](Self::position_error)
    /// for each position).
    #[inline]
    pub(crate) fn can_advance(&self, c: u64, e: u64) -> bool {
        !self.completed & (self.head <= c) & (c <= e) & (e <= self.seen_tail)
    }

    /// Why `pos` cannot be advanced to, if it cannot: before the consumed position, or past
    /// the end of the last read's data.
    #[cold]
    pub(crate) fn position_error(&self, pos: u64) -> Option<AdvanceError> {
        if pos < self.head {
            return Some(AdvanceError::AlreadyConsumed {
                position: pos,
                consumed: self.head,
            });
        }
        (pos > self.seen_tail).then_some(AdvanceError::BeyondEnd {
            position: pos,
            end: self.seen_tail,
        })
    }

    /// Advances to `c` (consumed) and `e` (examined), which [`can_advance`](Self::can_advance)
    /// allowed: consumed bytes are released (P4, then their slots once wholly consumed),
    /// examined ones count for backpressure and for what the next read waits for. Wait-free.
    #[inline]
    pub(crate) fn advance_to(&mut self, c: u64, e: u64) {
        debug_assert!(self.can_advance(c, e));
        let (old_head, old_examined) = (self.head, self.examined);
        if (c != old_head) & (e >= old_examined) & (c < self.chunk_end) {
            // The common case: consumed more, examined no less, no chunk to give back.
            self.head = c;
            // Ordering: Release, P4: byte room for the writer (stored before `examined`).
            self.ring.words().reader.head.store(c, Ordering::Release);
            if e != old_examined {
                self.examined = e;
                // Ordering: Release, P4: backpressure.
                self.ring
                    .words()
                    .reader
                    .examined
                    .store(e, Ordering::Release);
            }
            self.after_progress(true);
            return;
        }
        self.advance_general(c, e);
    }

    /// `advance_to` in general: un-examining, giving chunks back, or no move at all.
    #[inline(never)]
    fn advance_general(&mut self, c: u64, e: u64) {
        let ring = &*self.ring;
        let head_moved = c != self.head;
        let old_examined = self.examined;
        self.head = c;
        self.examined = e;
        if head_moved {
            // Ordering: Release, P4: byte room for the writer (stored before `examined`).
            ring.words().reader.head.store(c, Ordering::Release);
        }
        // Chunks whose known end `head` reached go back (see `chunk_end`).
        let released = c >= self.chunk_end && self.release_consumed_slow();
        let ring = &*self.ring;
        if e != old_examined {
            // Ordering: Release, P4: backpressure.
            ring.words().reader.examined.store(e, Ordering::Release);
            if e < old_examined {
                // Ordering: AcqRel; a writer that sees the bit reloads `examined` (above).
                ring.words().state.fetch_or(EXAMINED_BACK, Ordering::AcqRel);
            }
        }
        if head_moved || released || e != old_examined {
            self.after_progress(head_moved || e < old_examined);
        }
    }

    /// After publishing progress: clear a stall it resolves, wake a writer it lets through.
    #[inline]
    fn after_progress(&mut self, unstalls: bool) {
        let ring = &*self.ring;
        // W1 (light half): our head/examined/released stores vs the writer's WAITING bits.
        // Acquire (in `state`), pairs with the writer's RMW that set its WAITING bits (needs).
        let s = ring.state_after_publish(Side::Reader, &mut self.quiet, self.head);
        if s & (STALLED | WRITER_WAITING) == 0 {
            return;
        }
        if s & STALLED != 0 && unstalls {
            ring.clear(STALLED);
        }
        if s & WRITER_WAITING == 0 {
            return;
        }
        let wake = if s & WRITER_WAITING_SPACE != 0 {
            !self.writer_blocked()
        } else {
            self.seen_tail.saturating_sub(self.examined) < ring.resume
        };
        if wake {
            ring.wake(Side::Writer);
        }
    }

    /// Completes the reader (C1), with `error` if any: the writer's flushes report it, its
    /// writes are dropped, a paused writer is released. The first completion wins.
    pub(crate) fn complete(&mut self, error: Option<CompletionError>) {
        if self.completed {
            return;
        }
        self.stop_waiting();
        self.completed = true;
        self.ring.complete(Side::Reader, error, None);
    }

    /// Resolves when the writer completes: `Ok(())`, or `Err` with its error.
    pub(crate) fn poll_writer_completion(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), CompletionError>> {
        self.ring.poll_completion_of_other(Side::Reader, cx)
    }
}
