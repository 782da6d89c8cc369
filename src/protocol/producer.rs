//! The writer's half of the protocol: grant, advance, commit, flush, wait for room, complete.

use super::{
    Quiet, Ring, Side, Storage, Wakeup, EXAMINED_BACK, FLUSH_CANCELED, OPEN, READER_COMPLETED,
    READER_FAILED, READER_WAITING, STALLED, WRITER_WAITING, WRITER_WAITING_SPACE,
};
use crate::error::{CompletionError, WriteError};
use crate::sync::{Arc, Ordering};
use core::task::{Context, Poll};

/// What a flush (or `write_all`) observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushResult {
    pub(crate) canceled: bool,
    pub(crate) completed: bool,
    pub(crate) written: usize,
}

impl FlushResult {
    /// How many bytes of [`write_all`](crate::PipeWriter::write_all)'s data went into the pipe: all
    /// of them, unless a [`cancel_pending_flush`](crate::PipeCanceller::cancel_pending_flush) ended
    /// its wait for room (then `is_canceled`) or the reader completed while it waited (then
    /// `is_completed`, and the rest was not copied). 0 for a flush, which takes no data.
    pub fn written(&self) -> usize {
        self.written
    }

    /// A write that a cancel ended after `written` bytes.
    pub(crate) fn canceled_after(written: usize) -> FlushResult {
        FlushResult {
            canceled: true,
            completed: false,
            written,
        }
    }

    /// This result, for a write that took `written` bytes.
    pub(crate) fn with_written(self, written: usize) -> FlushResult {
        FlushResult { written, ..self }
    }
    /// The flush was cut short by [`PipeCanceller::cancel_pending_flush`](crate::PipeCanceller::cancel_pending_flush). The data it
    /// committed is still in the pipe; the writer may still be paused.
    pub fn is_canceled(&self) -> bool {
        self.canceled
    }
    /// The reader has completed (without an error), as this flush or write found at its end:
    /// further writes are dropped. Whether it read the bytes this call committed is not known:
    /// it may have taken them before it completed, or completed before they came.
    pub fn is_completed(&self) -> bool {
        self.completed
    }
}

/// Why the writer could not get memory right now.
pub(crate) enum GrantFail {
    Err(WriteError),
    /// Not enough room: the writer needs `head >= need_head` and `released >= need_released`.
    Space {
        need_head: u64,
        need_released: u64,
    },
}

/// The writer's half of the protocol: its position in the ring and every step it takes.
/// `Send`; one owner (the front-end's `PipeWriter`) drives it through `&mut self`.
pub(crate) struct Producer<S, W: Wakeup> {
    ring: Arc<Ring<S, W>>,
    /// Sequence number of the chunk being filled (or of the next one to open).
    seq: u64,
    has_chunk: bool,
    ptr: *mut u8,
    /// Write position: committed plus unflushed bytes.
    pos: u64,
    /// The position where the current chunk's data starts: it holds `pos - chunk_pos` bytes
    /// (committed and unflushed), and the writer writes at that offset.
    chunk_pos: u64,
    committed: u64,
    /// The end of the memory handed out by the last `get_memory`: `grant_end - pos` bytes are
    /// granted and not advanced yet.
    grant_end: u64,
    /// The fast path's bound: where the writer may go without looking at anything, the
    /// smaller of the current chunk's end and `cached_head + capacity`, while `has_chunk &&
    /// !scratch && !completed && waiting & WRITER_WAITING_SPACE == 0`; 0 (the fast path off)
    /// otherwise. Kept by `refresh_fast` whenever one of those changes.
    limit: u64,
    cached_head: u64,
    cached_released: u64,
    cached_examined: u64,
    /// The committed position from which a commit must run the backpressure bookkeeping:
    /// `cached_examined + pause` while not paused (below it the pause cannot be reached), 0
    /// while paused (every commit checks for the resume), `u64::MAX` without backpressure.
    /// Kept by `refresh_pause_at` whenever `paused` or `cached_examined` changes.
    pause_at: u64,
    paused: bool,
    completed: bool,
    /// The reader has completed: memory handed out is scratch and advanced bytes are dropped.
    scratch: bool,
    /// In scratch mode: the bytes advanced before the reader completed and not flushed since
    /// (still reported as unflushed until a flush folds them into the dropped stream).
    scratch_unflushed: u64,
    /// Bits of `state` this writer set while parking and has not cleared yet.
    waiting: u32,
    /// Whether the poll that set them returned `Pending` (the writer was parked, not only
    /// registered): its next stop is a resumption (`Ring::resumed`).
    parked: bool,
    /// How this writer's spins before parking went (waits for room and flushes alike).
    spin: W::SpinState,
    /// This side's run of quiet publishes before the ring goes back to asymmetric fences
    /// ("Fence modes").
    quiet: Quiet,
}

// SAFETY: `ptr` points into the writer's open slot, which only this writer accesses
// (invariant 4); nothing in `Producer` is tied to the thread that created it. `Ring` is
// `Send + Sync`.
unsafe impl<S: Storage, W: Wakeup> Send for Producer<S, W> {}

impl<S: Storage, W: Wakeup> Producer<S, W> {
    pub(crate) fn new(ring: Arc<Ring<S, W>>) -> Producer<S, W> {
        let pause = ring.pause;
        Producer {
            ring,
            seq: 0,
            has_chunk: false,
            ptr: core::ptr::null_mut(),
            pos: 0,
            chunk_pos: 0,
            committed: 0,
            grant_end: 0,
            limit: 0,
            cached_head: 0,
            cached_released: 0,
            cached_examined: 0,
            pause_at: if pause == 0 { u64::MAX } else { pause },
            paused: false,
            completed: false,
            scratch: false,
            scratch_unflushed: 0,
            waiting: 0,
            parked: false,
            spin: W::SpinState::default(),
            quiet: Quiet::new(),
        }
    }

    /// Back to the state of a new ring (after [`Ring::reset`]).
    pub(crate) fn reset_local(&mut self) {
        let ring = self.ring.clone();
        *self = Producer::new(ring);
    }

    /// The shared ring.
    #[inline]
    pub(crate) fn ring(&self) -> &Arc<Ring<S, W>> {
        &self.ring
    }

    /// Bytes advanced but not yet committed (after the reader completed: those advanced before
    /// and not flushed since; later ones are dropped as they come).
    pub(crate) fn unflushed(&self) -> u64 {
        if self.scratch {
            self.scratch_unflushed
        } else {
            self.pos - self.committed
        }
    }

    /// Whether this writer has completed.
    pub(crate) fn is_completed(&self) -> bool {
        self.completed
    }

    /// Whether the writer is paused by backpressure (as of its last commit or flush).
    pub(crate) fn is_paused(&self) -> bool {
        self.paused
    }

    /// The write position (committed and unflushed bytes).
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// The committed position.
    pub(crate) fn committed(&self) -> u64 {
        self.committed
    }

    /// Whether the writer knows the reader has completed: memory handed out is then scratch.
    pub(crate) fn is_scratch(&self) -> bool {
        self.scratch
    }

    /// Bytes handed out by the last grant and not advanced yet.
    pub(crate) fn granted(&self) -> usize {
        (self.grant_end - self.pos) as usize
    }

    /// Bytes in the current chunk.
    #[inline]
    fn fill(&self) -> usize {
        (self.pos - self.chunk_pos) as usize
    }

    /// Tries to make `hint.max(1)` contiguous bytes available; returns how many are.
    #[inline]
    pub(crate) fn grant(&mut self, hint: usize) -> Result<usize, GrantFail> {
        // Fast path: the hint fits below `limit` (in what is left of the current chunk, and in
        // the ring by the head we last saw; 0 when the fast path is off), and the reader has
        // not completed (then the memory is scratch: the slow path switches to it, with the
        // Acquire that C1 needs there). The newest head needs no looking at.
        let ring = &*self.ring;
        debug_assert_eq!(
            self.limit != 0,
            fast_flag(self.has_chunk, self.scratch, self.completed, self.waiting)
        );
        // `limit` may be below `pos` (0 while the fast path is off, or behind a writer in
        // scratch mode).
        let left = self.limit.saturating_sub(self.pos);
        // Ordering: Relaxed; seeing the bit sends us to the slow path, which acquires it.
        // Not seeing it yet is harmless: the memory handed out lies past everything committed,
        // which the reader never reads (invariant 4).
        if (hint.max(1) as u64 <= left)
            & (ring.words().state.load(Ordering::Relaxed) & READER_COMPLETED == 0)
        {
            self.grant_end = self.limit;
            return Ok(left as usize);
        }
        self.grant_slow(hint)
    }

    #[inline(never)]
    fn grant_slow(&mut self, hint: usize) -> Result<usize, GrantFail> {
        if self.completed {
            return Err(GrantFail::Err(WriteError::WriterCompleted));
        }
        let ring = &*self.ring;
        let need = hint.max(1);
        let max = ring.max_hint();
        if need > max {
            return Err(GrantFail::Err(WriteError::TooLarge {
                requested: hint,
                max,
            }));
        }
        if !self.scratch {
            // Ordering: Acquire, pairs with C1: the reader's last reads of chunk memory happen
            // before we reuse the current chunk as scratch.
            if ring.state() & READER_COMPLETED != 0 {
                self.enter_scratch();
            }
        }
        if self.scratch {
            return Ok(self.grant_scratch());
        }
        let ring = &*self.ring;
        let cs = ring.chunk_size;
        // Byte room: `pos - head <= capacity` (invariant 2).
        let mut room = ring.capacity - (self.pos - self.cached_head);
        if room < need as u64 {
            // Ordering: Acquire, pairs with P4 (reader's head store).
            self.cached_head = ring.head_in(self.cached_head, self.committed);
            room = ring.capacity - (self.pos - self.cached_head);
        }
        let bytes_ok = room >= need as u64;
        let in_chunk = self.has_chunk && cs - self.fill() >= need;
        // The chunk to open if the current one has no room (an empty current chunk always has
        // room, because `need <= chunk_size`).
        let target = if self.has_chunk {
            self.seq + 1
        } else {
            self.seq
        };
        let slots = ring.slots();
        let mut slot_ok = in_chunk || target - self.cached_released < slots;
        if !slot_ok {
            // Ordering: Acquire, pairs with P3: the reader is done with the slot we reuse.
            self.cached_released = ring.released_in(self.cached_released, self.seq);
            slot_ok = target - self.cached_released < slots;
        }
        if !bytes_ok || !slot_ok {
            return Err(GrantFail::Space {
                need_head: if bytes_ok {
                    0
                } else {
                    self.pos + need as u64 - ring.capacity
                },
                need_released: if slot_ok { 0 } else { target + 1 - slots },
            });
        }
        let mut sealed_consumed = false;
        if !in_chunk {
            if self.has_chunk {
                // Seal: the reader learns where this chunk's data ends.
                // Ordering: Release, pairs with P2 (reader's len load); also orders our last
                // writes to the chunk before the reader gives it back to the pool.
                ring.len(self.seq).store(self.fill(), Ordering::Release);
                sealed_consumed = self.reader_parked_past(self.pos);
                self.seq += 1;
                self.chunk_pos = self.pos;
            }
            self.open_chunk();
        }
        let granted = ((cs - self.fill()) as u64).min(room);
        self.grant_end = self.pos + granted;
        // A wait for room left pending (a forgotten `GetMemory`, a `poll_get_memory` not polled
        // again) is over now that the writer got memory: its bits must not make the reader
        // think we still wait for room (a false `WouldDeadlock`). A pending flush's wait is
        // another matter and stays.
        if self.waiting & WRITER_WAITING_SPACE != 0 {
            self.stop_waiting();
        }
        if sealed_consumed {
            // R1: the reader parked after consuming every byte of the chunk we just sealed, so
            // it did not give it back; nobody else can. Wake it to do so (last, as every
            // wake-up).
            self.ring.wake(Side::Reader);
        }
        self.refresh_fast();
        Ok(granted as usize)
    }

    /// R1 (writer half), right after sealing a chunk whose data ends at `end`: whether the
    /// reader is parked with every byte of that chunk consumed. Such a chunk is released by
    /// nobody while the reader waits (it gives chunks back in `advance_to` and before it
    /// parks), and its slot may be the one the writer needs next.
    fn reader_parked_past(&mut self, end: u64) -> bool {
        if self.committed != end {
            // Unflushed bytes in the chunk: the reader cannot have consumed them.
            return false;
        }
        let ring = &*self.ring;
        // W1-style pair with the reader's park: our seal (the len store) vs its READER_WAITING
        // bit. Either we see the bit here, or its re-check after its heavy half sees the seal
        // and it releases the chunk itself. Acquire (in `state`), pairs with the reader's
        // READER_WAITING RMW: its head stores before that wait are visible to the head load
        // below.
        let s = ring.state_after_publish(Side::Writer, &mut self.quiet, self.pos);
        // Ordering: Acquire, pairs with P4.
        s & READER_WAITING != 0 && ring.head() >= end
    }

    /// R1 (writer half, at a deadlock verdict): whether the reader could give back the chunks
    /// before slot `need_released` without any new data, i.e. it has consumed every byte of
    /// chunk `need_released - 1`. Those chunks are sealed (`need_released <= seq`); their
    /// lengths are ours, so we walk back from the start of the current chunk. (On a ring shared
    /// with another process, that process can overwrite them: the walk saturates, and a wrong
    /// length only makes a wrong choice between waking the reader and a deadlock verdict.)
    fn reader_can_release(&self, need_released: u64) -> bool {
        let ring = &*self.ring;
        debug_assert!(need_released <= self.seq);
        let mut end = self.chunk_pos;
        for seq in need_released..self.seq {
            // Ordering: Relaxed; our own store (the seal), read back.
            end = end.saturating_sub(ring.len(seq).load(Ordering::Relaxed) as u64);
        }
        // Ordering: Acquire, pairs with P4.
        ring.head() >= end
    }

    /// Opens slot `self.seq` in the storage.
    fn open_chunk(&mut self) {
        let ring = &*self.ring;
        // Ordering: Relaxed; published to the reader by the commit (P1) of the first byte in
        // this slot, before which the reader never looks at it.
        ring.len(self.seq).store(OPEN, Ordering::Relaxed);
        // SAFETY: `seq - released < slots` (checked in `grant`, P3), so the reader has
        // released this slot's previous use and no longer touches it; we open each seq once.
        self.ptr = unsafe { ring.storage.open(self.seq) };
        self.has_chunk = true;
        self.refresh_fast();
    }

    /// The reader has completed: advanced bytes, unflushed or to come, are dropped (nobody
    /// will read them) and no backpressure applies.
    fn enter_scratch(&mut self) {
        if !self.scratch {
            self.scratch_unflushed = self.pos - self.committed;
        }
        self.scratch = true;
        self.committed = self.pos;
        self.refresh_fast();
        self.paused = false;
        self.refresh_pause_at();
    }

    /// Recomputes `limit` after `has_chunk`, `scratch`, `completed`, `waiting`, the current
    /// chunk or `cached_head` changed. (A bound of the fast path is never 0: a chunk holds at
    /// least a byte, and so does the ring.)
    #[inline]
    fn refresh_fast(&mut self) {
        let ring = &*self.ring;
        self.limit = if fast_flag(self.has_chunk, self.scratch, self.completed, self.waiting) {
            (self.chunk_pos + ring.chunk_size as u64).min(self.cached_head + ring.capacity)
        } else {
            0
        };
    }

    /// Recomputes `pause_at` after `paused` or `cached_examined` changed.
    #[inline]
    fn refresh_pause_at(&mut self) {
        let pause = self.ring.pause;
        self.pause_at = if pause == 0 {
            u64::MAX
        } else if self.paused {
            0
        } else {
            self.cached_examined.saturating_add(pause)
        };
    }

    /// After the reader completed: hand out the whole current chunk as scratch memory.
    fn grant_scratch(&mut self) -> usize {
        if !self.has_chunk {
            // `opened == released` here (no current chunk), so slot `seq` is free.
            self.open_chunk();
        }
        self.chunk_pos = self.pos;
        let granted = self.ring.max_hint();
        self.grant_end = self.pos + granted as u64;
        granted
    }

    #[inline]
    pub(crate) fn granted_slice(&mut self) -> &mut [u8] {
        // SAFETY: bytes `fill .. fill + granted` of the open chunk belong to the writer
        // (invariant 4: the reader never reads at or past `tail <= pos`, and in scratch mode
        // the reader has completed). Chunk memory is always initialised (zeroed when
        // allocated). `&mut self` makes the slice unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(self.fill()), self.granted()) }
    }

    /// Memory for `hint` bytes: `Ready(Ok(len))` with the grant in
    /// [`granted_slice`](Self::granted_slice); without a context, `Full` instead of waiting.
    /// A `Pending` poll leaves the writer registered as waiting for room until the next grant,
    /// wait or [`stop_waiting`](Self::stop_waiting).
    pub(crate) fn poll_grant(
        &mut self,
        cx: Option<&mut Context<'_>>,
        hint: usize,
    ) -> Poll<Result<usize, WriteError>> {
        let (need_head, need_released) = match self.grant(hint) {
            Ok(n) => return Poll::Ready(Ok(n)),
            Err(GrantFail::Err(e)) => return Poll::Ready(Err(e)),
            Err(GrantFail::Space {
                need_head,
                need_released,
            }) => (need_head, need_released),
        };
        let Some(cx) = cx else {
            return Poll::Ready(Err(WriteError::Full { requested: hint }));
        };
        // Ordering: Acquire, pairs with the canceller's RMW (as in `flush_outcome`).
        if self.take_flush_cancel(self.ring.state()) {
            return Poll::Ready(Err(WriteError::Canceled));
        }
        // Spin before parking, as the pipe's `SpinWait` says: cheap re-tries, no
        // registration, no fence.
        let plan = self.ring.spin_plan(Side::Writer);
        let mut spin = self.spin;
        // (A cancel during the spin is seen after it: the check after announcing the wait.)
        let spun = W::spin(plan, &mut spin, || match self.grant(hint) {
            Ok(n) => Some(Ok(n)),
            Err(GrantFail::Err(e)) => Some(Err(e)),
            Err(GrantFail::Space { .. }) => None,
        });
        self.spin = spin;
        if let Some(r) = spun {
            return Poll::Ready(r);
        }
        let ring = &*self.ring;
        // Ordering: Release, pairs with the reader's Acquire loads in `Ring::needs`: a reader
        // that sees these needs also sees every commit and seal before them.
        ring.words()
            .writer
            .need_head
            .store(need_head, Ordering::Release);
        ring.words()
            .writer
            .need_released
            .store(need_released, Ordering::Release);
        let bits = WRITER_WAITING | WRITER_WAITING_SPACE;
        // W1 (heavy half): our WAITING bit vs the reader's head/released store.
        ring.announce_wait(Side::Writer, cx, bits, &mut self.quiet, self.pos);
        self.waiting = bits;
        self.refresh_fast();
        let ring = &*self.ring;
        // Ordering: Acquire, pairs with the reader's RMW that set READER_WAITING; and Acquire
        // on `wait_pos`, pairs with its Release store. Whichever wait of the reader these
        // values come from, every head it stored before that wait is visible to the `grant`
        // below, so a reader that waits is never judged on a stale head.
        let s = ring.state();
        let wait_pos = ring.wait_pos(Ordering::Acquire);
        // Room may have come between the first try and our WAITING bit.
        let need_released = match self.grant(hint) {
            Ok(n) => return Poll::Ready(Ok(n)),
            Err(GrantFail::Err(e)) => return Poll::Ready(Err(e)),
            Err(GrantFail::Space {
                need_head,
                need_released,
            }) => (need_head == 0).then_some(need_released),
        };
        if self.take_flush_cancel(s) {
            return Poll::Ready(Err(WriteError::Canceled));
        }
        let ring = &*self.ring;
        if s & STALLED != 0 || (s & READER_WAITING != 0 && wait_pos > self.committed) {
            if let Some(need_released) = need_released {
                if self.reader_can_release(need_released) {
                    // Not a deadlock: we lack only slots, and the reader holds chunks it has
                    // consumed (sealed after it parked). Wake it to give them back; it wakes
                    // us when it has (`after_progress`).
                    self.ring.wake(Side::Reader);
                    self.parked = true;
                    return Poll::Pending;
                }
            }
            // The reader waits for data we cannot commit without room, and we wait for room
            // the reader will not make without data (the `grant` above saw every head the
            // reader stored before it started waiting).
            // Ordering: Release, pairs with the Acquire load in `commit_slow`.
            ring.words()
                .reader
                .stall_tail
                .store(self.committed, Ordering::Release);
            ring.words().state.fetch_or(STALLED, Ordering::AcqRel);
            self.stop_waiting();
            self.ring.wake(Side::Reader);
            return Poll::Ready(Err(WriteError::WouldDeadlock));
        }
        self.parked = true;
        Poll::Pending
    }

    /// Consumes a pending `cancel_pending_flush` seen in the state snapshot `s` (one-shot:
    /// it ends one flush or one wait for room, whichever comes first).
    fn take_flush_cancel(&self, s: u32) -> bool {
        if s & FLUSH_CANCELED == 0 {
            return false;
        }
        // Only the writer clears this bit.
        self.ring.clear(FLUSH_CANCELED);
        true
    }

    /// Clears the waiting bits this writer set (after a wait ends or is abandoned).
    pub(crate) fn stop_waiting(&mut self) {
        if self.waiting != 0 {
            self.ring.clear(self.waiting);
            self.waiting = 0;
            self.refresh_fast();
            if self.parked {
                self.parked = false;
                self.ring.resumed(Side::Writer, &mut self.spin);
            }
        }
    }

    /// Marks `n` bytes of the granted memory as written (visible at the next commit; dropped
    /// after the reader completed).
    ///
    /// # Panics
    /// If `n` is more than what is left of the last grant.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        assert!(
            n as u64 <= self.grant_end - self.pos,
            "ringpipe: advance({n}) past the memory handed out ({} bytes left from the last get_memory)",
            self.granted()
        );
        // SAFETY: the slot `seq` is open and its bytes from `fill` on are the writer's (in
        // scratch mode too: the reader has completed, and the writer not).
        unsafe { self.ring.storage.track_write(self.seq, self.fill(), n) };
        // In scratch mode too; the commit drops them (`committed = pos`).
        self.pos += n as u64;
    }

    /// Publishes every advanced byte to the reader (P1), then wakes it if it waits for them.
    #[inline]
    pub(crate) fn commit(&mut self) {
        self.commit_then(true);
    }

    /// `commit`; wakes a reader that waits for what it committed only if `wake` (the
    /// completion wakes it anyway). Every wake-up comes last, after every change of state, so
    /// that a waker that panics cannot leave the pipe half-updated.
    #[inline]
    fn commit_then(&mut self, wake: bool) {
        // A completed writer has nothing to commit (it committed at completion and hands out
        // no memory since).
        debug_assert!(!self.completed || self.pos == self.committed);
        if self.pos == self.committed {
            return;
        }
        if self.scratch {
            // The reader has completed: nobody reads these bytes.
            self.committed = self.pos;
            return;
        }
        let ring = &*self.ring;
        let old = self.committed;
        // Ordering: Release, P1: the bytes and slot metadata before this point become visible
        // to the reader's Acquire load of `tail`.
        ring.words().writer.tail.store(self.pos, Ordering::Release);
        self.committed = self.pos;
        // W1 (light half): our tail store vs the reader's READER_WAITING bit. Acquire (in
        // `state`), pairs with the reader's AcqRel RMWs on `state` (READER_WAITING with its
        // `wait_pos`, EXAMINED_BACK with its `examined`).
        let s = ring.state_after_publish(Side::Writer, &mut self.quiet, self.pos);
        if s & (READER_WAITING | STALLED | EXAMINED_BACK) != 0 {
            self.commit_slow(s, old, wake);
        } else if self.committed >= self.pause_at {
            self.update_pause(old);
        }
    }

    /// The rare part of a commit from `old`: end a stall our data ends, note that the reader
    /// moved `examined` back, do the backpressure bookkeeping, then wake the reader if it
    /// waits for what we committed (and `wake`).
    #[cold]
    fn commit_slow(&mut self, s: u32, old: u64, wake: bool) {
        let ring = &*self.ring;
        // Data past the tail a stall was judged on ends it: whatever wait it was about, the next
        // one is judged afresh. (A commit of bytes the stalled read already saw does not.)
        let mut clear = 0;
        // Ordering: Acquire, pairs with the Release store before the STALLED RMW we observed.
        if s & STALLED != 0 && self.pos > ring.stall_tail() {
            clear |= STALLED;
        }
        if s & READER_WAITING != 0 && self.pos >= ring.wait_pos(Ordering::Acquire) {
            // The reader's wait is satisfied.
            clear |= READER_WAITING;
        }
        if s & EXAMINED_BACK != 0 {
            // Our cached `examined` may be ahead of the real one: make `update_pause` reload.
            self.cached_examined = 0;
            clear |= EXAMINED_BACK;
        }
        if clear != 0 {
            ring.clear(clear);
        }
        if clear & EXAMINED_BACK != 0 {
            self.refresh_pause_at();
        }
        if self.committed >= self.pause_at {
            self.update_pause(old);
        }
        if wake && clear & READER_WAITING != 0 {
            self.ring.wake(Side::Reader);
        }
    }

    /// Backpressure bookkeeping at a commit from `old` to `self.committed`.
    fn update_pause(&mut self, old: u64) {
        let ring = &*self.ring;
        if self.paused {
            // Ordering: Acquire, pairs with P4 (examined).
            self.cached_examined = ring.examined();
            if old.saturating_sub(self.cached_examined) < ring.resume {
                self.paused = false;
            }
        }
        if !self.paused && self.committed - self.cached_examined.min(self.committed) >= ring.pause {
            // Ordering: Acquire, pairs with P4 (examined).
            self.cached_examined = ring.examined();
            let before = old.saturating_sub(self.cached_examined);
            let after = self.committed.saturating_sub(self.cached_examined);
            if before < ring.pause && after >= ring.pause {
                self.paused = true;
            }
        }
        self.refresh_pause_at();
    }

    /// Whether the writer is still paused; clears the pause when the reader has examined
    /// enough or is waiting for more than is committed (`read_at_least` overrides the pause).
    fn still_paused(&mut self, s: u32) -> bool {
        if !self.paused {
            return false;
        }
        let ring = &*self.ring;
        // Ordering: Acquire, pairs with P4 (examined).
        self.cached_examined = ring.examined();
        if self.committed.saturating_sub(self.cached_examined) < ring.resume
            || (s & READER_WAITING != 0 && ring.wait_pos(Ordering::Relaxed) > self.committed)
        {
            self.paused = false;
        }
        self.refresh_pause_at();
        self.paused
    }

    fn flush_outcome(&mut self, s: u32) -> Option<Result<FlushResult, WriteError>> {
        let ring = &*self.ring;
        if s & READER_FAILED != 0 {
            let e = ring.error_of(Side::Reader);
            self.enter_scratch();
            // A flush folds the advanced bytes into the (dropped) stream: nothing is unflushed.
            self.scratch_unflushed = 0;
            return Some(Err(WriteError::ReaderFailed(e)));
        }
        if s & READER_COMPLETED != 0 {
            self.enter_scratch();
            self.scratch_unflushed = 0;
            return Some(Ok(FlushResult {
                completed: true,
                ..FlushResult::default()
            }));
        }
        if self.take_flush_cancel(s) {
            return Some(Ok(FlushResult {
                canceled: true,
                ..FlushResult::default()
            }));
        }
        if !self.still_paused(s) {
            return Some(Ok(FlushResult::default()));
        }
        None
    }

    /// Commits, then reports, or (with a context) waits while the writer is paused; without a
    /// context `Pending` means "paused". A `Pending` poll leaves the writer registered as
    /// waiting until the next flush poll or [`stop_waiting`](Self::stop_waiting).
    pub(crate) fn poll_flush(
        &mut self,
        cx: Option<&mut Context<'_>>,
    ) -> Poll<Result<FlushResult, WriteError>> {
        if self.completed {
            return Poll::Ready(Err(WriteError::WriterCompleted));
        }
        self.commit();
        let ring = &*self.ring;
        // Ordering: Acquire, pairs with C1 (reader completion and its error).
        let s = ring.state();
        if let Some(r) = self.flush_outcome(s) {
            return Poll::Ready(r);
        }
        let Some(cx) = cx else { return Poll::Pending };
        // Spin before parking, as the pipe's `SpinWait` says: cheap re-checks, no
        // registration, no fence.
        let plan = self.ring.spin_plan(Side::Writer);
        let mut spin = self.spin;
        let spun = W::spin(plan, &mut spin, || {
            // Ordering: as above.
            let s = self.ring.state();
            self.flush_outcome(s)
        });
        self.spin = spin;
        if let Some(r) = spun {
            return Poll::Ready(r);
        }
        if self.waiting & WRITER_WAITING_SPACE != 0 {
            // An abandoned wait for room left its bit: this is a flush, not that wait.
            self.stop_waiting();
        }
        // W1 (heavy half): our WAITING bit vs the reader's examined store.
        self.ring
            .announce_wait(Side::Writer, cx, WRITER_WAITING, &mut self.quiet, self.pos);
        self.waiting = WRITER_WAITING;
        self.refresh_fast();
        let s = self.ring.state();
        match self.flush_outcome(s) {
            Some(r) => Poll::Ready(r),
            None => {
                self.parked = true;
                Poll::Pending
            }
        }
    }

    /// Completes the writer: commits unflushed bytes, then tells the reader that no more data
    /// will come (C1), with `error` if any. The first completion wins.
    pub(crate) fn complete(&mut self, error: Option<CompletionError>) {
        if self.completed {
            return;
        }
        self.stop_waiting();
        // No wake-up here: the completion below wakes the reader anyway, after every change of
        // state (so that a panicking waker cannot keep the completion from being recorded).
        // Commits every advanced byte (or, in scratch mode, drops them): `committed == pos`.
        self.commit_then(false);
        let opened = if self.has_chunk {
            self.seq + 1
        } else {
            self.seq
        };
        self.completed = true;
        self.grant_end = self.pos;
        self.scratch_unflushed = 0;
        self.has_chunk = false;
        self.refresh_fast();
        self.ring.complete(Side::Writer, error, Some(opened));
    }

    /// Resolves when the reader completes: `Ok(())`, or `Err` with its error.
    pub(crate) fn poll_reader_completion(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), CompletionError>> {
        self.ring.poll_completion_of_other(Side::Writer, cx)
    }
}

/// The writer's `fast` flag from the fields it summarises.
#[inline]
fn fast_flag(has_chunk: bool, scratch: bool, completed: bool, waiting: u32) -> bool {
    has_chunk & !scratch & !completed & (waiting & WRITER_WAITING_SPACE == 0)
}
