//! The writing half: `get_memory` / `advance` / `commit` / `flush` / `complete`.

use crate::error::{CompletionError, WriteError};
use crate::loom::{fence_heavy, fence_light, Arc, Ordering};
use crate::ring::*;
use crate::wait::{block_on, other_side_here, Spinner};
use crate::PipeCanceller;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// What a flush (or `write_all`) observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushResult {
    pub(crate) canceled: bool,
    pub(crate) completed: bool,
    pub(crate) written: usize,
}

impl FlushResult {
    /// How many bytes of [`write_all`](PipeWriter::write_all)'s data went into the pipe: all
    /// of them, unless a [`cancel_pending_flush`](PipeCanceller::cancel_pending_flush) ended
    /// its wait for room (then `is_canceled`) or the reader completed (then `is_completed`;
    /// the bytes were dropped). 0 for a flush, which takes no data.
    pub fn written(&self) -> usize {
        self.written
    }
    /// The flush was cut short by [`PipeCanceller::cancel_pending_flush`]. The data it
    /// committed is still in the pipe; the writer may still be paused.
    pub fn is_canceled(&self) -> bool {
        self.canceled
    }
    /// The reader has completed (without an error): further writes are dropped.
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

/// The writing half of a pipe. `Send`, not `Clone`: exactly one producer.
///
/// Write by asking for memory, filling it and advancing, then commit or flush:
///
/// ```
/// let (mut writer, mut reader) = ringpipe::pipe(Default::default());
/// let buf = writer.try_get_memory(5).unwrap();
/// buf[..5].copy_from_slice(b"hello");
/// writer.advance(5);
/// assert_eq!(writer.unflushed_bytes(), 5);
/// assert!(reader.try_read().unwrap().is_none()); // not flushed yet
/// writer.flush_blocking().unwrap();
/// assert_eq!(reader.try_read().unwrap().unwrap().buffer().to_vec(), b"hello");
/// ```
pub struct PipeWriter {
    pub(crate) shared: Arc<Shared>,
    /// Sequence number of the chunk being filled (or of the next one to open).
    seq: u64,
    has_chunk: bool,
    ptr: *mut u8,
    /// Bytes in the current chunk (committed and unflushed).
    fill: usize,
    /// Write position: committed plus unflushed bytes.
    pos: u64,
    committed: u64,
    /// Bytes handed out by the last `get_memory` and not advanced yet.
    granted: usize,
    /// Offset in the chunk of the granted memory.
    grant_off: usize,
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
    /// Bits of `state` this writer set while parking and has not cleared yet.
    waiting: u32,
    /// `has_chunk && !scratch && !completed && waiting & WRITER_WAITING_SPACE == 0`, kept by
    /// `refresh_fast` whenever one of them changes: the grant fast path tests one flag.
    fast: bool,
    /// How this writer's spins before parking went (waits for room and flushes alike).
    spinner: Spinner,
}

// SAFETY: `ptr` points into a chunk owned by the ring's open slot, which only this writer
// accesses (invariant 4); nothing in `PipeWriter` is tied to the thread that created it. The
// writer is the only producer, and `&mut self` on every writing method keeps it that way.
unsafe impl Send for PipeWriter {}
// SAFETY: every method that touches the writer's state takes `&mut self`; the `&self` methods
// only read atomics of the shared state.
unsafe impl Sync for PipeWriter {}

impl fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeWriter")
            .field("position", &self.pos)
            .field("committed", &self.committed)
            .field("paused", &self.paused)
            .field("completed", &self.completed)
            .finish()
    }
}

impl PipeWriter {
    pub(crate) fn new(shared: Arc<Shared>) -> PipeWriter {
        let pause = shared.pause;
        PipeWriter {
            shared,
            seq: 0,
            has_chunk: false,
            ptr: core::ptr::null_mut(),
            fill: 0,
            pos: 0,
            committed: 0,
            granted: 0,
            grant_off: 0,
            cached_head: 0,
            cached_released: 0,
            cached_examined: 0,
            pause_at: if pause == 0 { u64::MAX } else { pause },
            paused: false,
            completed: false,
            scratch: false,
            waiting: 0,
            fast: false,
            spinner: Spinner::default(),
        }
    }

    /// Back to the state of a new pipe (after [`crate::reset`]).
    pub(crate) fn reset_local(&mut self) {
        let shared = self.shared.clone();
        *self = PipeWriter::new(shared);
    }

    /// The pipe's capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.shared.capacity as usize
    }

    /// The largest size hint [`get_memory`](Self::get_memory) accepts: the smaller of the chunk
    /// size and the capacity.
    pub fn max_memory(&self) -> usize {
        self.shared.max_hint()
    }

    /// Bytes advanced but not yet committed (.NET `UnflushedBytes`).
    pub fn unflushed_bytes(&self) -> usize {
        (self.pos - self.committed) as usize
    }

    /// Whether this writer has completed.
    pub fn is_completed(&self) -> bool {
        self.completed
    }

    /// Whether the reader has completed (racy: it may complete right after this returns
    /// `false`; once `true` it stays `true` until a reset).
    pub fn is_reader_completed(&self) -> bool {
        // Ordering: Relaxed; a snapshot, nothing is read on the strength of it.
        self.shared.state.load(Ordering::Relaxed) & READER_COMPLETED != 0
    }

    /// A handle that can cancel a pending read or flush from any thread.
    pub fn canceller(&self) -> PipeCanceller {
        PipeCanceller {
            shared: self.shared.clone(),
        }
    }

    /// Tries to make `hint.max(1)` contiguous bytes available; returns how many are.
    #[inline]
    fn grant(&mut self, hint: usize) -> Result<usize, GrantFail> {
        // Fast path: the hint fits in what is left of the current chunk, and in the ring by the
        // head we last saw, and the reader has not completed (then the memory is scratch: the
        // slow path switches to it, with the Acquire that C1 needs there). The newest head
        // needs no looking at.
        let sh = &*self.shared;
        // Ordering: Relaxed; seeing the bit sends us to the slow path, which acquires it.
        // Not seeing it yet is harmless: the memory handed out lies past everything committed,
        // which the reader never reads (invariant 4).
        debug_assert_eq!(
            self.fast,
            fast_flag(self.has_chunk, self.scratch, self.completed, self.waiting)
        );
        if self.fast & (sh.state.load(Ordering::Relaxed) & READER_COMPLETED == 0) {
            let need = hint.max(1) as u64;
            let left = (sh.chunk_size - self.fill) as u64;
            let room = sh.capacity - (self.pos - self.cached_head);
            if need <= left && need <= room {
                self.grant_off = self.fill;
                self.granted = left.min(room) as usize;
                return Ok(self.granted);
            }
        }
        self.grant_slow(hint)
    }

    #[inline(never)]
    fn grant_slow(&mut self, hint: usize) -> Result<usize, GrantFail> {
        if self.completed {
            return Err(GrantFail::Err(WriteError::WriterCompleted));
        }
        let sh = &*self.shared;
        let need = hint.max(1);
        let max = sh.max_hint();
        if need > max {
            return Err(GrantFail::Err(WriteError::TooLarge {
                requested: hint,
                max,
            }));
        }
        if !self.scratch {
            // Ordering: Acquire, pairs with C1: the reader's last reads of chunk memory happen
            // before we reuse the current chunk as scratch.
            if sh.state.load(Ordering::Acquire) & READER_COMPLETED != 0 {
                self.enter_scratch();
            }
        }
        if self.scratch {
            return Ok(self.grant_scratch());
        }
        let sh = &*self.shared;
        let cs = sh.chunk_size;
        // Byte room: `pos - head <= capacity` (invariant 2).
        let mut room = sh.capacity - (self.pos - self.cached_head);
        if room < need as u64 {
            // Ordering: Acquire, pairs with P4 (reader's head store).
            self.cached_head = sh.reader.head.load(Ordering::Acquire);
            room = sh.capacity - (self.pos - self.cached_head);
        }
        let bytes_ok = room >= need as u64;
        let in_chunk = self.has_chunk && cs - self.fill >= need;
        // The chunk to open if the current one has no room (an empty current chunk always has
        // room, because `need <= chunk_size`).
        let target = if self.has_chunk {
            self.seq + 1
        } else {
            self.seq
        };
        let slots = sh.mask + 1;
        let mut slot_ok = in_chunk || target - self.cached_released < slots;
        if !slot_ok {
            // Ordering: Acquire, pairs with P3: the reader is done with the slot we reuse.
            self.cached_released = sh.reader.released.load(Ordering::Acquire);
            slot_ok = target - self.cached_released < slots;
        }
        if !bytes_ok || !slot_ok {
            return Err(GrantFail::Space {
                need_head: if bytes_ok {
                    0
                } else {
                    self.pos + need as u64 - sh.capacity
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
                sh.slot(self.seq).len.store(self.fill, Ordering::Release);
                sealed_consumed = self.reader_parked_past(self.pos);
                self.seq += 1;
                self.fill = 0;
            }
            self.open_chunk();
        }
        self.grant_off = self.fill;
        self.granted = ((cs - self.fill) as u64).min(room) as usize;
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
            self.shared.writer_wakes_reader();
        }
        Ok(self.granted)
    }

    /// R1 (writer half), right after sealing a chunk whose data ends at `end`: whether the
    /// reader is parked with every byte of that chunk consumed. Such a chunk is released by
    /// nobody while the reader waits (it gives chunks back in `advance_to` and before it
    /// parks), and its slot may be the one the writer needs next.
    fn reader_parked_past(&self, end: u64) -> bool {
        if self.committed != end {
            // Unflushed bytes in the chunk: the reader cannot have consumed them.
            return false;
        }
        let sh = &*self.shared;
        // W1-style pair with the reader's park: our seal (the len store) vs its READER_WAITING
        // bit. Either we see the bit here, or its re-check after its heavy fence sees the seal
        // and it releases the chunk itself.
        fence_light(sh.asym);
        // Ordering: Acquire, pairs with the reader's READER_WAITING RMW: its head stores before
        // that wait are visible to the head load below.
        let s = sh.state.load(Ordering::Acquire);
        // Ordering: Acquire, pairs with P4.
        s & READER_WAITING != 0 && sh.reader.head.load(Ordering::Acquire) >= end
    }

    /// R1 (writer half, at a deadlock verdict): whether the reader could give back the chunks
    /// before slot `need_released` without any new data, i.e. it has consumed every byte of
    /// chunk `need_released - 1`. Those chunks are sealed (`need_released <= seq`); their
    /// lengths are ours, so we walk back from the start of the current chunk.
    fn reader_can_release(&self, need_released: u64) -> bool {
        let sh = &*self.shared;
        debug_assert!(need_released <= self.seq);
        let mut end = self.pos - self.fill as u64;
        for seq in need_released..self.seq {
            // Ordering: Relaxed; our own store (the seal), read back.
            end -= sh.slot(seq).len.load(Ordering::Relaxed) as u64;
        }
        // Ordering: Acquire, pairs with P4.
        sh.reader.head.load(Ordering::Acquire) >= end
    }

    /// Takes a chunk from the pool into slot `self.seq`.
    fn open_chunk(&mut self) {
        let sh = &*self.shared;
        let chunk = sh.pool.take();
        self.ptr = chunk.ptr();
        let slot = sh.slot(self.seq);
        // Ordering: Relaxed; published to the reader by the commit (P1) of the first byte in
        // this chunk, before which the reader never looks at this slot.
        slot.len.store(OPEN, Ordering::Relaxed);
        // SAFETY: `seq - released < slots` (checked in `grant`, P3), so the reader has
        // released this slot's previous chunk and no longer reads the cell.
        slot.chunk.with_mut(|c| unsafe { *c = Some(chunk) });
        self.has_chunk = true;
        self.refresh_fast();
    }

    /// The reader has completed: further advanced bytes are dropped (nobody will read them)
    /// and no backpressure applies.
    fn enter_scratch(&mut self) {
        self.scratch = true;
        self.refresh_fast();
        self.paused = false;
        self.refresh_pause_at();
    }

    /// Recomputes `fast` after `has_chunk`, `scratch`, `completed` or `waiting` changed.
    #[inline]
    fn refresh_fast(&mut self) {
        self.fast = fast_flag(self.has_chunk, self.scratch, self.completed, self.waiting);
    }

    /// Recomputes `pause_at` after `paused` or `cached_examined` changed.
    #[inline]
    fn refresh_pause_at(&mut self) {
        let pause = self.shared.pause;
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
        self.grant_off = 0;
        self.granted = self.shared.max_hint();
        self.granted
    }

    #[inline]
    fn granted_slice(&mut self) -> &mut [u8] {
        // SAFETY: bytes `grant_off .. grant_off + granted` of the open chunk belong to the
        // writer (invariant 4: the reader never reads at or past `tail <= pos`, and in scratch
        // mode the reader has completed). Chunk memory is always initialised (zeroed when
        // allocated). `&mut self` makes the slice unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(self.grant_off), self.granted) }
    }

    /// Writable memory of at least `size_hint` bytes (at least 1 when the hint is 0), without
    /// waiting. Write into it, then call [`advance`](Self::advance) with the number of bytes
    /// written. Successive calls may return different memory.
    ///
    /// # Errors
    /// * [`WriteError::Full`] if the ring has no room now (flush and wait, or use
    ///   [`get_memory`](Self::get_memory));
    /// * [`WriteError::TooLarge`] if `size_hint > max_memory()`;
    /// * [`WriteError::WriterCompleted`] after [`complete`](Self::complete).
    ///
    /// After the reader has completed this still succeeds (as .NET): the memory is scratch
    /// and whatever is advanced into it is dropped.
    #[inline]
    pub fn try_get_memory(&mut self, size_hint: usize) -> Result<&mut [u8], WriteError> {
        match self.grant(size_hint) {
            Ok(_) => Ok(self.granted_slice()),
            Err(GrantFail::Err(e)) => Err(e),
            Err(GrantFail::Space { .. }) => Err(WriteError::Full {
                requested: size_hint,
            }),
        }
    }

    /// Writable memory of at least `size_hint` bytes, waiting (asynchronously) for the reader
    /// to make room. Cancel-safe: dropping the future gives up the wait and changes nothing.
    ///
    /// Waiting does not commit: advanced bytes stay invisible to the reader. Commit first if
    /// the reader may need them to make progress (as [`write_all`](Self::write_all) does);
    /// otherwise a reader waiting for those bytes and this wait end in
    /// [`WriteError::WouldDeadlock`] on both sides instead of hanging.
    ///
    /// # Errors
    /// As [`try_get_memory`](Self::try_get_memory), except that instead of `Full` it waits;
    /// [`WriteError::WouldDeadlock`] if the wait could never end; [`WriteError::Canceled`] if
    /// [`cancel_pending_flush`](PipeCanceller::cancel_pending_flush) ended the wait (or was
    /// called before it, with no flush since).
    pub fn get_memory(&mut self, size_hint: usize) -> GetMemory<'_> {
        GetMemory {
            writer: Some(self),
            hint: size_hint,
        }
    }

    /// As [`get_memory`](Self::get_memory), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`get_memory`](Self::get_memory).
    pub fn get_memory_blocking(&mut self, size_hint: usize) -> Result<&mut [u8], WriteError> {
        block_on(self.get_memory(size_hint))
    }

    /// The poll form of [`get_memory`](Self::get_memory); on `Ready(Ok(n))` the memory is
    /// available through [`granted_memory`](Self::granted_memory). After `Pending`, the waker
    /// is woken when the room may be there, unless another call gets memory first: any
    /// successful grant ends the writer's wait for room. (A dropped [`GetMemory`] future ends
    /// it at once; a forgotten one, at the next grant or wait.)
    pub fn poll_get_memory(
        &mut self,
        cx: &mut Context<'_>,
        size_hint: usize,
    ) -> Poll<Result<usize, WriteError>> {
        let r = self.poll_grant(Some(cx), size_hint);
        if !matches!(r, Poll::Pending) {
            self.stop_waiting();
        }
        r
    }

    /// The memory handed out by the last successful `get_memory` call, minus what was advanced
    /// since (empty if none).
    pub fn granted_memory(&mut self) -> &mut [u8] {
        if self.granted == 0 {
            return &mut [];
        }
        self.granted_slice()
    }

    fn poll_grant(
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
        if self.take_flush_cancel(self.shared.state.load(Ordering::Acquire)) {
            return Poll::Ready(Err(WriteError::Canceled));
        }
        // Spin before parking, as the pipe's `SpinWait` says: cheap re-tries, no
        // registration, no fence.
        let mut spinner = self.spinner;
        let here = other_side_here(self.shared.spin, &self.shared.reader.seen_on);
        let spun = spinner.spin(self.shared.spin, here, || match self.grant(hint) {
            Ok(n) => Some(Ok(n)),
            Err(GrantFail::Err(e)) => Some(Err(e)),
            // Ordering: as above.
            Err(GrantFail::Space { .. }) => self
                .take_flush_cancel(self.shared.state.load(Ordering::Acquire))
                .then_some(Err(WriteError::Canceled)),
        });
        self.spinner = spinner;
        if let Some(r) = spun {
            return Poll::Ready(r);
        }
        let sh = &*self.shared;
        sh.note_seen(&sh.writer.seen_on);
        sh.writer_waker.register(cx.waker());
        // Ordering: Release, pairs with the reader's Acquire loads in `writer_blocked`: a
        // reader that sees these needs also sees every commit before them.
        sh.writer.need_head.store(need_head, Ordering::Release);
        sh.writer
            .need_released
            .store(need_released, Ordering::Release);
        let bits = WRITER_WAITING | WRITER_WAITING_SPACE;
        sh.state.fetch_or(bits, Ordering::AcqRel);
        self.waiting = bits;
        self.refresh_fast();
        let sh = &*self.shared;
        // W1 (heavy half): our WAITING bit vs the reader's head/released store.
        fence_heavy(sh.asym);
        // Ordering: Acquire, pairs with the reader's RMW that set READER_WAITING; and Acquire
        // on `wait_pos`, pairs with its Release store. Whichever wait of the reader these
        // values come from, every head it stored before that wait is visible to the `grant`
        // below, so a reader that waits is never judged on a stale head.
        let s = sh.state.load(Ordering::Acquire);
        let wait_pos = sh.reader.wait_pos.load(Ordering::Acquire);
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
        let sh = &*self.shared;
        if s & STALLED != 0 || (s & READER_WAITING != 0 && wait_pos > self.committed) {
            if let Some(need_released) = need_released {
                if self.reader_can_release(need_released) {
                    // Not a deadlock: we lack only slots, and the reader holds chunks it has
                    // consumed (sealed after it parked). Wake it to give them back; it wakes
                    // us when it has (`after_progress`).
                    self.shared.writer_wakes_reader();
                    return Poll::Pending;
                }
            }
            // The reader waits for data we cannot commit without room, and we wait for room
            // the reader will not make without data (the `grant` above saw every head the
            // reader stored before it started waiting).
            // Ordering: Release, pairs with the Acquire load in `commit_slow`.
            sh.reader
                .stall_tail
                .store(self.committed, Ordering::Release);
            sh.state.fetch_or(STALLED, Ordering::AcqRel);
            self.stop_waiting();
            self.shared.writer_wakes_reader();
            return Poll::Ready(Err(WriteError::WouldDeadlock));
        }
        Poll::Pending
    }

    /// Consumes a pending `cancel_pending_flush` seen in the state snapshot `s` (one-shot:
    /// it ends one flush or one wait for room, whichever comes first).
    fn take_flush_cancel(&self, s: u32) -> bool {
        if s & FLUSH_CANCELED == 0 {
            return false;
        }
        // Ordering: AcqRel, as every RMW on `state`; only the writer clears this bit.
        self.shared
            .state
            .fetch_and(!FLUSH_CANCELED, Ordering::AcqRel);
        true
    }

    /// Clears the waiting bits this writer set (after a wait ends or is abandoned).
    fn stop_waiting(&mut self) {
        if self.waiting != 0 {
            self.shared.state.fetch_and(!self.waiting, Ordering::AcqRel);
            self.waiting = 0;
            self.refresh_fast();
        }
    }

    /// Marks `n` bytes of the memory from the last `get_memory` as written. They become
    /// visible to the reader at the next commit, flush or completion. `advance(0)` is legal.
    /// After the reader completed, advanced bytes are dropped.
    ///
    /// # Panics
    /// If `n` is more than what is left of the memory handed out by the last `get_memory`
    /// (including when no memory was handed out): `"advance(n) past the memory handed out"`.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        assert!(
            n <= self.granted,
            "ringpipe: advance({n}) past the memory handed out ({} bytes left from the last get_memory)",
            self.granted
        );
        self.granted -= n;
        if self.scratch {
            self.grant_off += n;
            return;
        }
        // SAFETY: the slot `seq` is open and owned by the writer.
        #[cfg(loom)]
        self.shared
            .slot(self.seq)
            .chunk
            .with(|c| unsafe { (*c).as_ref().unwrap().track_write(self.fill, n) });
        self.fill += n;
        self.grant_off += n;
        self.pos += n as u64;
    }

    /// Publishes every advanced byte to the reader without waiting (wait-free: one store, one
    /// fence (none with asymmetric [`WakeFences`](crate::WakeFences)), one load; a wake-up only
    /// if the reader is parked and now satisfied).
    #[inline]
    pub fn commit(&mut self) {
        if self.commit_inner() {
            // Last, after every change of state: a waker that panics cannot leave the pipe
            // half-updated.
            self.shared.writer_wakes_reader();
        }
    }

    /// `commit` without its wake-up: returns whether the reader must be woken.
    #[inline]
    fn commit_inner(&mut self) -> bool {
        if self.pos == self.committed || self.scratch || self.completed {
            return false;
        }
        let sh = &*self.shared;
        let old = self.committed;
        // Ordering: Release, P1: the bytes and slot metadata before this point become visible
        // to the reader's Acquire load of `tail`.
        sh.writer.tail.store(self.pos, Ordering::Release);
        self.committed = self.pos;
        // W1 (light half): our tail store vs the reader's READER_WAITING bit.
        fence_light(sh.asym);
        // Ordering: Acquire, pairs with the reader's AcqRel RMWs on `state` (READER_WAITING
        // with its `wait_pos`, EXAMINED_BACK with its `examined`).
        let s = sh.state.load(Ordering::Acquire);
        let wake = s & (READER_WAITING | STALLED | EXAMINED_BACK) != 0 && self.commit_slow(s);
        if self.committed >= self.pause_at {
            self.update_pause(old);
        }
        wake
    }

    /// The rare part of a commit: end a stall our data ends, note that the reader moved
    /// `examined` back; returns whether the reader waits for what we committed (the caller
    /// wakes it).
    #[cold]
    fn commit_slow(&mut self, s: u32) -> bool {
        let sh = &*self.shared;
        // Data past the tail a stall was judged on ends it: whatever wait it was about, the next
        // one is judged afresh. (A commit of bytes the stalled read already saw does not.)
        let mut clear = 0;
        // Ordering: Acquire, pairs with the Release store before the STALLED RMW we observed.
        if s & STALLED != 0 && self.pos > sh.reader.stall_tail.load(Ordering::Acquire) {
            clear |= STALLED;
        }
        if s & READER_WAITING != 0 && self.pos >= sh.reader.wait_pos.load(Ordering::Acquire) {
            // The reader's wait is satisfied.
            clear |= READER_WAITING;
        }
        if s & EXAMINED_BACK != 0 {
            // Our cached `examined` may be ahead of the real one: make `update_pause` reload.
            self.cached_examined = 0;
            clear |= EXAMINED_BACK;
        }
        if clear != 0 {
            sh.state.fetch_and(!clear, Ordering::AcqRel);
        }
        if clear & EXAMINED_BACK != 0 {
            self.refresh_pause_at();
        }
        clear & READER_WAITING != 0
    }

    /// Backpressure bookkeeping at a commit from `old` to `self.committed`.
    fn update_pause(&mut self, old: u64) {
        let sh = &*self.shared;
        if self.paused {
            // Ordering: Acquire, pairs with P4 (examined).
            self.cached_examined = sh.reader.examined.load(Ordering::Acquire);
            if old.saturating_sub(self.cached_examined) < sh.resume {
                self.paused = false;
            }
        }
        if !self.paused && self.committed - self.cached_examined.min(self.committed) >= sh.pause {
            // Ordering: Acquire, pairs with P4 (examined).
            self.cached_examined = sh.reader.examined.load(Ordering::Acquire);
            let before = old.saturating_sub(self.cached_examined);
            let after = self.committed.saturating_sub(self.cached_examined);
            if before < sh.pause && after >= sh.pause {
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
        let sh = &*self.shared;
        // Ordering: Acquire, pairs with P4 (examined).
        self.cached_examined = sh.reader.examined.load(Ordering::Acquire);
        if self.committed.saturating_sub(self.cached_examined) < sh.resume
            || (s & READER_WAITING != 0
                && sh.reader.wait_pos.load(Ordering::Relaxed) > self.committed)
        {
            self.paused = false;
        }
        self.refresh_pause_at();
        self.paused
    }

    fn flush_outcome(&mut self, s: u32) -> Option<Result<FlushResult, WriteError>> {
        let sh = &*self.shared;
        if s & READER_FAILED != 0 {
            // SAFETY: the reader wrote its error before setting READER_FAILED (C1), which we
            // observed with Acquire; it never writes it again before a reset.
            let e = sh.reader_error.with(|p| unsafe { (*p).clone() });
            self.enter_scratch();
            // A flush folds the advanced bytes into the (dropped) stream: nothing is unflushed.
            self.committed = self.pos;
            return Some(Err(WriteError::ReaderFailed(e.expect("reader error set"))));
        }
        if s & READER_COMPLETED != 0 {
            self.enter_scratch();
            self.committed = self.pos;
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

    /// The poll form of [`flush`](Self::flush): commits, then reports, or waits while the
    /// writer is paused. A `Pending` poll leaves the writer registered as waiting (its waker
    /// is woken when the pause may be over) until the next flush poll; a dropped [`Flush`]
    /// future clears it at once, a forgotten one (`mem::forget`) only at the next flush.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<FlushResult, WriteError>> {
        let r = self.poll_flush_inner(Some(cx));
        if !matches!(r, Poll::Pending) {
            self.stop_waiting();
        }
        r
    }

    fn poll_flush_inner(
        &mut self,
        cx: Option<&mut Context<'_>>,
    ) -> Poll<Result<FlushResult, WriteError>> {
        if self.completed {
            return Poll::Ready(Err(WriteError::WriterCompleted));
        }
        self.commit();
        let sh = &*self.shared;
        // Ordering: Acquire, pairs with C1 (reader completion and its error).
        let s = sh.state.load(Ordering::Acquire);
        if let Some(r) = self.flush_outcome(s) {
            return Poll::Ready(r);
        }
        let Some(cx) = cx else { return Poll::Pending };
        // Spin before parking, as the pipe's `SpinWait` says: cheap re-checks, no
        // registration, no fence.
        let mut spinner = self.spinner;
        let here = other_side_here(self.shared.spin, &self.shared.reader.seen_on);
        let spun = spinner.spin(self.shared.spin, here, || {
            // Ordering: as above.
            let s = self.shared.state.load(Ordering::Acquire);
            self.flush_outcome(s)
        });
        self.spinner = spinner;
        if let Some(r) = spun {
            return Poll::Ready(r);
        }
        if self.waiting & WRITER_WAITING_SPACE != 0 {
            // An abandoned wait for room left its bit: this is a flush, not that wait.
            self.stop_waiting();
        }
        let sh = &*self.shared;
        sh.note_seen(&sh.writer.seen_on);
        sh.writer_waker.register(cx.waker());
        sh.state.fetch_or(WRITER_WAITING, Ordering::AcqRel);
        self.waiting = WRITER_WAITING;
        self.refresh_fast();
        let sh = &*self.shared;
        // W1 (heavy half): our WAITING bit vs the reader's examined store.
        fence_heavy(self.shared.asym);
        let s = sh.state.load(Ordering::Acquire);
        match self.flush_outcome(s) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    /// Commits, then reports without waiting: `Ok(None)` means the writer is paused (the data
    /// is committed all the same).
    ///
    /// # Errors
    /// [`WriteError::WriterCompleted`], or [`WriteError::ReaderFailed`] if the reader completed
    /// with an error.
    pub fn try_flush(&mut self) -> Result<Option<FlushResult>, WriteError> {
        match self.poll_flush_inner(None) {
            Poll::Ready(r) => r.map(Some),
            Poll::Pending => Ok(None),
        }
    }

    /// Commits every advanced byte, then waits while backpressure holds: the flush that brings
    /// the unexamined bytes to the pause threshold waits until the reader's examined position
    /// brings them strictly below the resume threshold. Cancel-safe: the data is committed at
    /// the first poll, and dropping the future only gives up the wait.
    ///
    /// # Errors
    /// [`WriteError::WriterCompleted`], or [`WriteError::ReaderFailed`] with the reader's error.
    pub fn flush(&mut self) -> Flush<'_> {
        Flush { writer: self }
    }

    /// As [`flush`](Self::flush), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn flush_blocking(&mut self) -> Result<FlushResult, WriteError> {
        block_on(self.flush())
    }

    /// Copies all of `data` into the pipe, across as many chunks as needed, committing and
    /// waiting for room as it goes, then flushes (.NET `WriteAsync`). If the reader has
    /// completed, returns at once with `is_completed` and copies nothing more. A
    /// [`cancel_pending_flush`](PipeCanceller::cancel_pending_flush) ends it where it is (in a
    /// wait for room, or in the final flush) with `is_canceled`; what went in is committed, and
    /// [`FlushResult::written`] says how much that was.
    ///
    /// # Errors
    /// [`WriteError::WriterCompleted`], [`WriteError::ReaderFailed`], or
    /// [`WriteError::WouldDeadlock`] if room can never come.
    pub async fn write_all(&mut self, data: &[u8]) -> Result<FlushResult, WriteError> {
        let mut rest = data;
        while !rest.is_empty() {
            if self.completed {
                return Err(WriteError::WriterCompleted);
            }
            if self.scratch || self.is_reader_completed() {
                break;
            }
            let n = match self.grant(1) {
                Ok(n) => n,
                Err(GrantFail::Err(e)) => return Err(e),
                Err(GrantFail::Space { .. }) => {
                    // Let the reader see what we have before waiting for it to make room.
                    self.commit();
                    match self.get_memory(1).await {
                        Ok(mem) => mem.len(),
                        Err(WriteError::Canceled) => {
                            return Ok(FlushResult {
                                canceled: true,
                                completed: false,
                                written: data.len() - rest.len(),
                            })
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            if self.scratch {
                break;
            }
            let n = n.min(rest.len());
            self.granted_slice()[..n].copy_from_slice(&rest[..n]);
            self.advance(n);
            rest = &rest[n..];
        }
        let mut result = self.flush().await?;
        result.written = data.len() - rest.len();
        Ok(result)
    }

    /// As [`write_all`](Self::write_all), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`write_all`](Self::write_all).
    pub fn write_all_blocking(&mut self, data: &[u8]) -> Result<FlushResult, WriteError> {
        block_on(self.write_all(data))
    }

    /// Completes the writer: commits unflushed bytes, then tells the reader that no more data
    /// will come (it drains what is left, then sees `is_completed`). The first completion wins;
    /// later calls do nothing. Dropping the writer completes it.
    pub fn complete(&mut self) {
        self.complete_inner(None);
    }

    /// Completes the writer with an error: the reader's next read returns
    /// [`ReadError::WriterFailed`](crate::ReadError::WriterFailed) with this very value (and
    /// does not deliver unread data, as in .NET).
    pub fn complete_with_error(
        &mut self,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) {
        let boxed: Box<dyn std::error::Error + Send + Sync> = error.into();
        self.complete_inner(Some(std::sync::Arc::from(boxed)));
    }

    fn complete_inner(&mut self, error: Option<CompletionError>) {
        if self.completed {
            return;
        }
        self.stop_waiting();
        // No wake-up here: the completion below wakes the reader anyway, after every change of
        // state (so that a panicking waker cannot keep the completion from being recorded).
        self.commit_inner();
        let sh = &*self.shared;
        let mut bits = WRITER_COMPLETED;
        if let Some(e) = error {
            // SAFETY: only the writer writes this cell, before setting WRITER_FAILED (C1); the
            // reader reads it only after observing that bit.
            sh.writer_error.with_mut(|p| unsafe { *p = Some(e) });
            bits |= WRITER_FAILED;
        }
        let opened = if self.has_chunk {
            self.seq + 1
        } else {
            self.seq
        };
        // SAFETY: as for the error cell.
        sh.opened.with_mut(|p| unsafe { *p = opened });
        // Ordering: AcqRel, C1: publishes the stores above; acquires the reader's if it
        // completed first (then we free everything).
        let s = sh.state.fetch_or(bits, Ordering::AcqRel);
        self.completed = true;
        self.granted = 0;
        self.committed = self.pos;
        self.has_chunk = false;
        self.refresh_fast();
        let sh = &*self.shared;
        if s & READER_COMPLETED != 0 {
            // SAFETY: both sides have completed and we completed second.
            unsafe { sh.free_all() };
        }
        // Last: a panicking waker finds the pipe completed and its chunks freed.
        sh.wake_reader();
    }

    /// Resolves when the reader completes: `Ok(())`, or `Err` with the reader's error. This is
    /// ringpipe's form of .NET's obsolete `OnReaderCompleted` callback.
    pub fn reader_completion(&mut self) -> ReaderCompletion<'_> {
        ReaderCompletion { writer: self }
    }

    /// The poll form of [`reader_completion`](Self::reader_completion).
    pub fn poll_reader_completion(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), CompletionError>> {
        let sh = &*self.shared;
        sh.writer_waker.register(cx.waker());
        // Ordering: Acquire, pairs with C1 (the reader's completion and error).
        let s = sh.state.load(Ordering::Acquire);
        if s & READER_COMPLETED == 0 {
            return Poll::Pending;
        }
        if s & READER_FAILED != 0 {
            // SAFETY: written before READER_FAILED was set (C1).
            let e = sh.reader_error.with(|p| unsafe { (*p).clone() });
            return Poll::Ready(Err(e.expect("reader error set")));
        }
        Poll::Ready(Ok(()))
    }

    /// Whether this pipe uses asymmetric fences (no fence instruction when publishing, a
    /// `membarrier` system call when parking); see [`WakeFences`](crate::WakeFences).
    pub fn asymmetric_fences(&self) -> bool {
        self.shared.asym
    }

    /// Whether the writer is paused by backpressure (as of its last commit or flush).
    pub fn is_paused(&self) -> bool {
        self.paused
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.complete_inner(None);
    }
}

/// Future of [`PipeWriter::flush`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Flush<'a> {
    writer: &'a mut PipeWriter,
}

impl Future for Flush<'_> {
    type Output = Result<FlushResult, WriteError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.writer.poll_flush(cx)
    }
}

impl Drop for Flush<'_> {
    fn drop(&mut self) {
        self.writer.stop_waiting();
    }
}

/// Future of [`PipeWriter::get_memory`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct GetMemory<'a> {
    writer: Option<&'a mut PipeWriter>,
    hint: usize,
}

impl<'a> Future for GetMemory<'a> {
    type Output = Result<&'a mut [u8], WriteError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let hint = self.hint;
        let writer = self
            .writer
            .as_mut()
            .expect("GetMemory polled after completion");
        match writer.poll_get_memory(cx, hint) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(_)) => {
                let writer = self.writer.take().expect("present");
                Poll::Ready(Ok(writer.granted_slice()))
            }
        }
    }
}

impl Drop for GetMemory<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            w.stop_waiting();
        }
    }
}

/// Future of [`PipeWriter::reader_completion`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReaderCompletion<'a> {
    writer: &'a mut PipeWriter,
}

impl Future for ReaderCompletion<'_> {
    type Output = Result<(), CompletionError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.writer.poll_reader_completion(cx)
    }
}

/// The writer's `fast` flag from the fields it summarises.
#[inline]
fn fast_flag(has_chunk: bool, scratch: bool, completed: bool, waiting: u32) -> bool {
    has_chunk & !scratch & !completed & (waiting & WRITER_WAITING_SPACE == 0)
}
