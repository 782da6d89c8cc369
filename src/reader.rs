//! The reading half: `read` / `try_read` / `read_at_least` / `advance_to` / `complete`.

use crate::error::{AdvanceError, CompletionError, ReadError};
use crate::loom::{fence_heavy, fence_light, Arc, Ordering};
use crate::ring::*;
use crate::sequence::{Position, Sequence};
use crate::wait::{block_on, other_side_here, Spinner};
use crate::PipeCanceller;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// What a read returned: every flushed, unconsumed byte, and why the read ended.
///
/// It borrows the reader: no other read, and no `advance_to`, can happen while it is alive.
#[derive(Debug, Clone, Copy)]
pub struct ReadResult<'a> {
    buffer: Sequence<'a>,
    canceled: bool,
    completed: bool,
}

impl<'a> ReadResult<'a> {
    /// All flushed bytes not consumed yet, including those examined before.
    #[inline]
    pub fn buffer(&self) -> Sequence<'a> {
        self.buffer
    }
    /// The read was cut short by [`PipeCanceller::cancel_pending_read`] (one-shot). The
    /// buffer still holds whatever data there is.
    pub fn is_canceled(&self) -> bool {
        self.canceled
    }
    /// The writer has completed (without an error): the buffer holds the last bytes there
    /// will ever be.
    pub fn is_completed(&self) -> bool {
        self.completed
    }
}

/// What the reader waits for.
#[derive(Clone, Copy, Debug)]
enum Need {
    /// Any byte past `examined`.
    More,
    /// At least this many unconsumed bytes.
    AtLeast(usize),
}

struct Snap {
    tail: u64,
    canceled: bool,
    completed: bool,
}

/// The reading half of a pipe. `Send`, not `Clone`: exactly one consumer.
///
/// ```
/// let (mut writer, mut reader) = ringpipe::pipe(Default::default());
/// writer.write_all_blocking(b"ping\npo").unwrap();
/// let result = reader.read_blocking().unwrap();
/// let buf = result.buffer();
/// let nl = buf.find(b'\n').unwrap();
/// let line = buf.slice_to(nl).to_vec();
/// let (consumed, examined) = (buf.position(line.len() + 1), buf.end());
/// reader.advance_to(consumed, examined).unwrap();
/// assert_eq!(line, b"ping");
/// // "po" stays unconsumed, and the next read waits for more than it.
/// assert!(reader.try_read().unwrap().is_none());
/// ```
pub struct PipeReader {
    pub(crate) shared: Arc<Shared>,
    pub(crate) tag: u64,
    head: u64,
    examined: u64,
    /// The end of the data of the last read (positions up to here may be advanced to).
    seen_tail: u64,
    /// The chunk holding `head` (also the number of chunks released), and where its data starts.
    chunk_seq: u64,
    chunk_start: u64,
    completed: bool,
    /// Whether this reader set READER_WAITING and has not cleared it.
    waiting: bool,
    /// How this reader's spins before parking went.
    spinner: Spinner,
}

impl fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeReader")
            .field("consumed", &self.head)
            .field("examined", &self.examined)
            .field("completed", &self.completed)
            .finish()
    }
}

impl PipeReader {
    pub(crate) fn new(shared: Arc<Shared>, tag: u64) -> PipeReader {
        PipeReader {
            shared,
            tag,
            head: 0,
            examined: 0,
            seen_tail: 0,
            chunk_seq: 0,
            chunk_start: 0,
            completed: false,
            waiting: false,
            spinner: Spinner::default(),
        }
    }

    pub(crate) fn reset_local(&mut self, tag: u64) {
        let shared = self.shared.clone();
        *self = PipeReader::new(shared, tag);
    }

    /// The pipe's capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.shared.capacity as usize
    }

    /// Whether this reader has completed.
    pub fn is_completed(&self) -> bool {
        self.completed
    }

    /// Whether the writer has completed (racy: once `true` it stays `true` until a reset).
    pub fn is_writer_completed(&self) -> bool {
        // Ordering: Relaxed; a snapshot, nothing is read on the strength of it.
        self.shared.state.load(Ordering::Relaxed) & WRITER_COMPLETED != 0
    }

    /// A handle that can cancel a pending read or flush from any thread.
    pub fn canceller(&self) -> PipeCanceller {
        PipeCanceller {
            shared: self.shared.clone(),
        }
    }

    /// Whether this pipe uses asymmetric fences; see [`WakeFences`](crate::WakeFences).
    pub fn asymmetric_fences(&self) -> bool {
        self.shared.asym
    }

    /// Bytes consumed since creation (or the last reset).
    pub fn consumed_bytes(&self) -> u64 {
        self.head
    }

    fn writer_error(&self) -> CompletionError {
        // SAFETY: the writer wrote its error before setting WRITER_FAILED (C1), which the
        // caller observed with Acquire; it is not written again before a reset.
        let e = self.shared.writer_error.with(|p| unsafe { (*p).clone() });
        e.expect("writer error set")
    }

    fn wait_pos(&self, need: Need) -> u64 {
        match need {
            Need::More => self.examined + 1,
            Need::AtLeast(n) => self.head + n as u64,
        }
    }

    /// Decides a read from a state snapshot `s` and a tail `t` (loaded after `s`).
    fn decide(&mut self, s: u32, t: u64, need: Need) -> Option<Result<Snap, ReadError>> {
        let sh = &*self.shared;
        if s & WRITER_FAILED != 0 {
            return Some(Err(ReadError::WriterFailed(self.writer_error())));
        }
        let completed = s & WRITER_COMPLETED != 0;
        let canceled = s & READ_CANCELED != 0;
        if canceled || completed || t >= self.wait_pos(need) {
            if canceled || s & STALLED != 0 {
                // One-shot: this result observes the cancel. A stall is over once a read
                // returns: it concerned the previous wait.
                sh.state
                    .fetch_and(!(READ_CANCELED | STALLED), Ordering::AcqRel);
            }
            return Some(Ok(Snap {
                tail: t,
                canceled,
                completed,
            }));
        }
        if t - self.head >= sh.capacity {
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
            capacity: self.shared.capacity as usize,
        }
    }

    /// Records that our read can never be satisfied and tells a parked writer.
    fn stall(&self, t: u64) {
        let sh = &*self.shared;
        // Ordering: Release, pairs with the writer's Acquire load in `commit_slow` (after it
        // saw STALLED): only data past `t` ends this stall.
        sh.reader.stall_tail.store(t, Ordering::Release);
        // Decide the wake on the RMW's result, not on an earlier snapshot: RMWs on `state` are
        // totally ordered, so either we see the writer's waiting bits here or the writer's
        // post-fence load sees STALLED.
        let old = sh.state.fetch_or(STALLED, Ordering::AcqRel);
        if old & WRITER_WAITING != 0 {
            sh.reader_wakes_writer();
        }
    }

    fn stop_waiting(&mut self) {
        if self.waiting {
            self.shared
                .state
                .fetch_and(!READER_WAITING, Ordering::AcqRel);
            self.waiting = false;
        }
    }

    fn poll_inner(
        &mut self,
        cx: Option<&mut Context<'_>>,
        need: Need,
    ) -> Poll<Result<Option<Snap>, ReadError>> {
        if self.completed {
            return Poll::Ready(Err(ReadError::ReaderCompleted));
        }
        if let Need::AtLeast(n) = need {
            if n as u64 > self.shared.capacity {
                return Poll::Ready(Err(ReadError::MinimumTooLarge {
                    minimum: n,
                    capacity: self.shared.capacity as usize,
                }));
            }
        }
        let sh = &*self.shared;
        // Ordering: Acquire, pairs with C1 (completion, errors) and cancel; then Acquire on
        // tail, P1. State first: a completed writer's final tail is then visible.
        let s = sh.state.load(Ordering::Acquire);
        let t = sh.writer.tail.load(Ordering::Acquire);
        if let Some(r) = self.decide(s, t, need) {
            self.stop_waiting();
            return Poll::Ready(r.map(Some));
        }
        let Some(cx) = cx else {
            self.stop_waiting();
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
        let mut spinner = self.spinner;
        let here = other_side_here(self.shared.spin, &self.shared.writer.seen_on);
        let spun = spinner.spin(self.shared.spin, here, || {
            // Ordering: as above.
            let s = self.shared.state.load(Ordering::Acquire);
            let t = self.shared.writer.tail.load(Ordering::Acquire);
            self.decide(s, t, need)
        });
        self.spinner = spinner;
        if let Some(r) = spun {
            self.stop_waiting();
            return Poll::Ready(r.map(Some));
        }
        let sh = &*self.shared;
        sh.note_seen(&sh.reader.seen_on);
        sh.reader_waker.register(cx.waker());
        // Ordering: Release, pairs with the writer's Acquire loads (commit, `poll_grant`): a
        // writer that sees this wait position also sees the head and examined stored before.
        sh.reader
            .wait_pos
            .store(self.wait_pos(need), Ordering::Release);
        let old = sh.state.fetch_or(READER_WAITING, Ordering::AcqRel);
        self.waiting = true;
        let sh = &*self.shared;
        // W1 (heavy half): our WAITING bit vs the writer's tail store.
        fence_heavy(self.shared.asym);
        let s = sh.state.load(Ordering::Acquire);
        let t = sh.writer.tail.load(Ordering::Acquire);
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
            let t = self.shared.writer.tail.load(Ordering::Acquire);
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
        let sh = &*self.shared;
        if old & WRITER_WAITING != 0 && old & WRITER_WAITING_SPACE == 0 {
            // A paused writer may resume now that we wait for more (read_at_least).
            sh.reader_wakes_writer();
        }
        Poll::Pending
    }

    /// As [`writer_blocked`](Self::writer_blocked), for a deadlock verdict: the writer's needs
    /// are loaded first, then we give back what we can. A chunk sealed before those needs were
    /// stored (they are stored after the writer's last seal) is then released, not held
    /// against the writer.
    fn writer_blocked_after_release(&mut self) -> bool {
        let sh = &*self.shared;
        // Ordering: Acquire, as in `writer_blocked`; also makes the writer's seals before its
        // wait visible to `release_consumed` (P2 through this pair).
        let need_head = sh.writer.need_head.load(Ordering::Acquire);
        let need_released = sh.writer.need_released.load(Ordering::Acquire);
        if self.release_consumed() {
            self.after_progress(false);
        }
        self.head < need_head || self.chunk_seq < need_released
    }

    /// Whether a writer parked for room still lacks it, given our (exact) head and released.
    fn writer_blocked(&self) -> bool {
        let sh = &*self.shared;
        // Ordering: Acquire, pairs with the writer's Release stores of its needs (made after
        // its last commit before that wait).
        self.head < sh.writer.need_head.load(Ordering::Acquire)
            || self.chunk_seq < sh.writer.need_released.load(Ordering::Acquire)
    }

    /// Turns a snapshot into a result borrowing `self`.
    #[inline]
    fn result(&mut self, snap: Snap) -> ReadResult<'_> {
        // No chunk is given back here: `advance_to` does it, and so does a read before it
        // parks. A writer waiting for a slot this read could free is not kept waiting for long:
        // the reader advances next (the contract), or reads again and finds nothing new, and
        // then it parks, after giving the chunks back. (Keeping this off the read path saves
        // a tenth of a 64-byte write+read cycle.)
        self.seen_tail = snap.tail;
        // SAFETY: `head .. tail` is committed (P1) and unconsumed; chunk `chunk_seq` holds
        // `head`; the result borrows `self` mutably, so the reader cannot advance meanwhile.
        let buffer = unsafe {
            Sequence::new(
                &self.shared,
                self.head,
                snap.tail,
                self.chunk_seq,
                self.chunk_start,
                self.tag,
            )
        };
        ReadResult {
            buffer,
            canceled: snap.canceled,
            completed: snap.completed,
        }
    }

    /// Everything flushed and not consumed, without waiting. `Ok(None)` if there is nothing
    /// new: no byte past the examined position, no completion, no cancel.
    ///
    /// # Errors
    /// [`ReadError::ReaderCompleted`], [`ReadError::WriterFailed`], or
    /// [`ReadError::WouldDeadlock`] if no read can ever be satisfied.
    #[inline]
    pub fn try_read(&mut self) -> Result<Option<ReadResult<'_>>, ReadError> {
        // Fast path, the same decision as `decide` when no bit of `state` is set (no
        // completion, error, cancel, stall or wait of either side) and we set none: data past
        // `examined` is a result, anything else goes the general way.
        if !self.completed & !self.waiting {
            let sh = &*self.shared;
            // Ordering: as in `poll_inner` (state, then tail; Acquire: C1, P1).
            let s = sh.state.load(Ordering::Acquire);
            let t = sh.writer.tail.load(Ordering::Acquire);
            if s == 0 && t > self.examined {
                return Ok(Some(self.result(Snap {
                    tail: t,
                    canceled: false,
                    completed: false,
                })));
            }
        }
        match self.poll_inner(None, Need::More) {
            Poll::Ready(Ok(Some(snap))) => Ok(Some(self.result(snap))),
            Poll::Ready(Ok(None)) | Poll::Pending => Ok(None),
            Poll::Ready(Err(e)) => Err(e),
        }
    }

    /// Waits until there is a byte past the examined position (or the writer completes, or
    /// the read is canceled), then returns every flushed, unconsumed byte. Cancel-safe.
    ///
    /// # Errors
    /// As [`try_read`](Self::try_read).
    pub fn read(&mut self) -> Read<'_> {
        Read {
            reader: Some(self),
            need: Need::More,
        }
    }

    /// As [`read`](Self::read), but waits until at least `minimum` bytes are unconsumed. While
    /// it waits, a paused writer is let through (the read overrides the pause threshold, as
    /// .NET's `ReadAtLeastAsync`).
    ///
    /// # Errors
    /// As [`read`](Self::read), and [`ReadError::MinimumTooLarge`] if `minimum` exceeds the
    /// capacity.
    pub fn read_at_least(&mut self, minimum: usize) -> Read<'_> {
        let need = if minimum == 0 {
            Need::More
        } else {
            Need::AtLeast(minimum)
        };
        Read {
            reader: Some(self),
            need,
        }
    }

    /// As [`read`](Self::read), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn read_blocking(&mut self) -> Result<ReadResult<'_>, ReadError> {
        block_on(self.read())
    }

    /// As [`read_at_least`](Self::read_at_least), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`read_at_least`](Self::read_at_least).
    pub fn read_at_least_blocking(&mut self, minimum: usize) -> Result<ReadResult<'_>, ReadError> {
        block_on(self.read_at_least(minimum))
    }

    /// The poll form of [`read`](Self::read). A `Pending` poll leaves the reader registered as
    /// waiting until the next poll or read (a dropped [`Read`] future clears it at once).
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<ReadResult<'_>, ReadError>> {
        match self.poll_inner(Some(cx), Need::More) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(snap))) => Poll::Ready(Ok(self.result(snap))),
            Poll::Ready(Ok(None)) => unreachable!("a read with a context waits"),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }

    /// Gives back chunks whose every byte is consumed (the writer may have sealed them since
    /// the last advance). Returns whether any went back.
    #[inline]
    fn release_consumed(&mut self) -> bool {
        // The common case, inline: the chunk holding `head` is not finished (nothing consumed
        // from it, still open, or sealed past `head`).
        if self.head <= self.chunk_start {
            return false;
        }
        // Ordering: Acquire, pairs with P2 (seal).
        let len = self.shared.slot(self.chunk_seq).len.load(Ordering::Acquire);
        if len == OPEN || self.head < self.chunk_start + len as u64 {
            return false;
        }
        self.release_consumed_slow()
    }

    #[inline(never)]
    fn release_consumed_slow(&mut self) -> bool {
        let sh = &*self.shared;
        let before = self.chunk_seq;
        // `head == chunk_start`: nothing consumed from this chunk, which may not even be open
        // yet; a sealed chunk holds at least one byte, so it is not finished either.
        while self.head > self.chunk_start {
            let slot = sh.slot(self.chunk_seq);
            // Ordering: Acquire, pairs with P2 (seal): the writer is done with the chunk.
            let len = slot.len.load(Ordering::Acquire);
            if len == OPEN || self.head < self.chunk_start + len as u64 {
                break;
            }
            // SAFETY: the chunk is sealed and fully consumed; the writer does not touch this
            // slot again until we publish `released` past it (P3).
            let chunk = slot.chunk.with_mut(|c| unsafe { (*c).take() });
            if let Some(chunk) = chunk {
                sh.pool.put(chunk);
            }
            self.chunk_start += len as u64;
            self.chunk_seq += 1;
        }
        if self.chunk_seq != before {
            // Ordering: Release, P3: our accesses to the released slots happen before the
            // writer reuses them.
            sh.reader.released.store(self.chunk_seq, Ordering::Release);
            true
        } else {
            false
        }
    }

    #[inline]
    fn check_position(&self, p: Position) -> Result<u64, AdvanceError> {
        if p.tag != self.tag {
            return Err(AdvanceError::ForeignPosition);
        }
        if p.pos < self.head {
            return Err(AdvanceError::AlreadyConsumed {
                position: p.pos,
                consumed: self.head,
            });
        }
        if p.pos > self.seen_tail {
            return Err(AdvanceError::BeyondEnd {
                position: p.pos,
                end: self.seen_tail,
            });
        }
        Ok(p.pos)
    }

    /// Tells the pipe how far the reader got: bytes before `consumed` are released (their
    /// chunks go back to the pool once wholly consumed); bytes before `examined` were looked
    /// at. When `examined` is the end of the data, the next read waits until **more** data is
    /// flushed (or completion, or a cancel), so a parser that needs more bytes never spins.
    /// Moving `examined` back ("un-examining") is allowed, as in .NET since 2024. Wait-free.
    ///
    /// Positions may come from any read of this reader since the last advance past them.
    ///
    /// # Errors
    /// Nothing changes when an error is returned: [`AdvanceError::ExaminedBeforeConsumed`],
    /// [`AdvanceError::AlreadyConsumed`] (stale position), [`AdvanceError::BeyondEnd`],
    /// [`AdvanceError::ForeignPosition`], [`AdvanceError::ReaderCompleted`].
    #[inline]
    pub fn advance_to(
        &mut self,
        consumed: Position,
        examined: Position,
    ) -> Result<(), AdvanceError> {
        if self.completed {
            return Err(AdvanceError::ReaderCompleted);
        }
        let c = self.check_position(consumed)?;
        let e = self.check_position(examined)?;
        if e < c {
            return Err(AdvanceError::ExaminedBeforeConsumed {
                consumed: c,
                examined: e,
            });
        }
        let sh = &*self.shared;
        let head_moved = c != self.head;
        let old_examined = self.examined;
        self.head = c;
        self.examined = e;
        if head_moved {
            // Ordering: Release, P4: byte room for the writer (stored before `examined`).
            sh.reader.head.store(c, Ordering::Release);
        }
        let released = self.release_consumed();
        let sh = &*self.shared;
        if e != old_examined {
            // Ordering: Release, P4: backpressure.
            sh.reader.examined.store(e, Ordering::Release);
            if e < old_examined {
                // Ordering: AcqRel; a writer that sees the bit reloads `examined` (above).
                sh.state.fetch_or(EXAMINED_BACK, Ordering::AcqRel);
            }
        }
        if head_moved || released || e != old_examined {
            self.after_progress(head_moved || e < old_examined);
        }
        Ok(())
    }

    /// `advance_to(consumed, consumed)`.
    ///
    /// # Errors
    /// As [`advance_to`](Self::advance_to).
    #[inline]
    pub fn advance_to_consumed(&mut self, consumed: Position) -> Result<(), AdvanceError> {
        self.advance_to(consumed, consumed)
    }

    /// After publishing progress: clear a stall it resolves, wake a writer it lets through.
    #[inline]
    fn after_progress(&mut self, unstalls: bool) {
        let sh = &*self.shared;
        // W1 (light half): our head/examined/released stores vs the writer's WAITING bits.
        fence_light(sh.asym);
        // Ordering: Acquire, pairs with the writer's RMW that set its WAITING bits (needs).
        let s = sh.state.load(Ordering::Acquire);
        if s & STALLED != 0 && unstalls {
            sh.state.fetch_and(!STALLED, Ordering::AcqRel);
        }
        if s & WRITER_WAITING == 0 {
            return;
        }
        let wake = if s & WRITER_WAITING_SPACE != 0 {
            !self.writer_blocked()
        } else {
            self.seen_tail.saturating_sub(self.examined) < sh.resume
        };
        if wake {
            sh.reader_wakes_writer();
        }
    }

    /// Completes the reader: the writer's flushes report `is_completed`, its writes are
    /// dropped, and a paused writer is released. The first completion wins. Dropping the
    /// reader completes it.
    pub fn complete(&mut self) {
        self.complete_inner(None);
    }

    /// Completes the reader with an error: the writer's next flush or write returns
    /// [`WriteError::ReaderFailed`](crate::WriteError::ReaderFailed) with this very value.
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
        let sh = &*self.shared;
        let mut bits = READER_COMPLETED;
        if let Some(e) = error {
            // SAFETY: only the reader writes this cell, before setting READER_FAILED (C1).
            sh.reader_error.with_mut(|p| unsafe { *p = Some(e) });
            bits |= READER_FAILED;
        }
        // Ordering: AcqRel, C1.
        let s = sh.state.fetch_or(bits, Ordering::AcqRel);
        self.completed = true;
        if s & WRITER_COMPLETED != 0 {
            // SAFETY: both sides have completed and we completed second.
            unsafe { sh.free_all() };
        }
        // Last: a panicking waker finds the pipe completed and its chunks freed.
        sh.wake_writer();
    }

    /// Resolves when the writer completes: `Ok(())`, or `Err` with the writer's error. This is
    /// ringpipe's form of .NET's obsolete `OnWriterCompleted` callback. (A read also reports
    /// completion, once the data before it is drained.)
    pub fn writer_completion(&mut self) -> WriterCompletion<'_> {
        WriterCompletion { reader: self }
    }

    /// The poll form of [`writer_completion`](Self::writer_completion).
    pub fn poll_writer_completion(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), CompletionError>> {
        let sh = &*self.shared;
        sh.reader_waker.register(cx.waker());
        // Ordering: Acquire, pairs with C1.
        let s = sh.state.load(Ordering::Acquire);
        if s & WRITER_COMPLETED == 0 {
            return Poll::Pending;
        }
        if s & WRITER_FAILED != 0 {
            return Poll::Ready(Err(self.writer_error()));
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.complete_inner(None);
    }
}

/// Future of [`PipeReader::read`] and [`PipeReader::read_at_least`].
#[must_use = "futures do nothing unless polled"]
pub struct Read<'a> {
    reader: Option<&'a mut PipeReader>,
    need: Need,
}

impl fmt::Debug for Read<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read").field("need", &self.need).finish()
    }
}

impl<'a> Future for Read<'a> {
    type Output = Result<ReadResult<'a>, ReadError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let need = self.need;
        let reader = self.reader.as_mut().expect("Read polled after completion");
        match reader.poll_inner(Some(cx), need) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(snap)) => {
                let snap = snap.expect("a read with a context waits");
                let reader = self.reader.take().expect("present");
                Poll::Ready(Ok(reader.result(snap)))
            }
        }
    }
}

impl Drop for Read<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.reader.as_mut() {
            r.stop_waiting();
        }
    }
}

/// Future of [`PipeReader::writer_completion`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriterCompletion<'a> {
    reader: &'a mut PipeReader,
}

impl Future for WriterCompletion<'_> {
    type Output = Result<(), CompletionError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.reader.poll_writer_completion(cx)
    }
}
