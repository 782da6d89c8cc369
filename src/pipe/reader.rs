//! The reading half of a pipe: the public face of the protocol's [`Consumer`], with the waits
//! in their three forms (async, blocking, non-blocking), and the results it hands out.

use super::canceller::PipeCanceller;
use super::future::{ReadFuture, WriterCompletionFuture};
use super::home::{Home, InProcess};
use super::sequence::{Position, Sequence};
use super::wait::Blocker;
use crate::error::{completion_error, AdvanceError, CompletionError, ReadError};
use crate::protocol::{Consumer, FencePolicy, Need, Ring, Side, Snap, Storage};
use crate::sync::Arc;
use core::fmt;
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
pub struct PipeReader<H: Home = InProcess> {
    c: Consumer<H::Storage, H::Wakeup>,
    /// Names this pipe and its reset generation in the positions it hands out.
    tag: u64,
}

impl<H: Home> fmt::Debug for PipeReader<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeReader")
            .field("consumed", &self.c.consumed())
            .field("examined", &self.c.examined())
            .field("completed", &self.c.is_completed())
            .finish()
    }
}

impl<H: Home> PipeReader<H> {
    pub(crate) fn new(ring: Arc<Ring<H::Storage, H::Wakeup>>, tag: u64) -> Self {
        PipeReader {
            c: Consumer::new(ring),
            tag,
        }
    }

    /// The shared ring.
    pub(crate) fn ring(&self) -> &Arc<Ring<H::Storage, H::Wakeup>> {
        self.c.ring()
    }

    /// How this half's blocking calls wait.
    #[inline]
    pub(crate) fn blocker(&self) -> Blocker<H::Storage, H::Wakeup> {
        Blocker::new(self.ring(), Side::Reader)
    }

    /// Back to the state of a new pipe, with a new tag (after [`reset`](crate::reset)).
    pub(crate) fn reset_local(&mut self, tag: u64) {
        self.c.reset_local();
        self.tag = tag;
    }

    /// The pipe's capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.c.ring().capacity() as usize
    }

    /// Whether this reader has completed.
    pub fn is_completed(&self) -> bool {
        self.c.is_completed()
    }

    /// Whether the writer has completed (racy: once `true` it stays `true` until a reset).
    pub fn is_writer_completed(&self) -> bool {
        self.c.ring().is_completed(Side::Writer)
    }

    /// A handle that can cancel a pending read or flush from any thread.
    pub fn canceller(&self) -> PipeCanceller<H> {
        PipeCanceller::new(self.c.ring().clone())
    }

    /// Whether this pipe may use asymmetric fences; see [`WakeFences`](crate::WakeFences).
    pub fn asymmetric_fences(&self) -> bool {
        self.c.ring().fence_policy() != FencePolicy::Symmetric
    }

    /// Bytes consumed since creation (or the last reset).
    pub fn consumed_bytes(&self) -> u64 {
        self.c.consumed()
    }

    /// Turns a snapshot into a result borrowing `self`.
    #[inline]
    pub(crate) fn result(&mut self, snap: Snap) -> ReadResult<'_> {
        let (head, seq, chunk_start, chunk_end) = self.c.take(&snap);
        let ring = &**self.c.ring();
        // A chunk still open holds the rest of the data, within one slot; tell the sequence
        // where that slot ends on a ring whose other side may have written a tail past it.
        let chunk_end = if H::Storage::CHECKED {
            chunk_end.min(chunk_start + ring.chunk_size() as u64)
        } else {
            chunk_end
        };
        // An empty result may sit at the start of a slot the writer has not opened yet, and may
        // be opening now: its base is not looked at (loom's `cancel_races_data` catches a read
        // of the slot's cell there racing with the writer's `open`). A slot that holds
        // committed bytes was opened before their commit (P1).
        let base = if head < snap.tail {
            // SAFETY: slot `seq` holds committed, unconsumed bytes (`head < tail`), so it is
            // open and its base is the reader's to read.
            unsafe { ring.slot_base(seq) }
        } else {
            core::ptr::null()
        };
        // SAFETY: `head .. tail` is committed (P1) and unconsumed; slot `seq` holds `head`, its
        // data spans `chunk_start .. chunk_end` (`take`), within one slot, at `base` (null only
        // when the result is empty); the result borrows `self` mutably, so the reader cannot
        // advance meanwhile.
        let buffer = unsafe {
            Sequence::new(
                ring,
                head..snap.tail,
                seq,
                chunk_start..chunk_end,
                base,
                self.tag,
            )
        };
        ReadResult {
            buffer,
            canceled: snap.canceled,
            completed: snap.completed,
        }
    }

    /// A read waiting for `need` (for the futures).
    pub(crate) fn poll_need(
        &mut self,
        cx: &mut Context<'_>,
        need: Need,
    ) -> Poll<Result<Snap, ReadError>> {
        self.c
            .poll_read(Some(cx), need)
            .map(|r| r.map(|snap| snap.expect("ringpipe: a read with a context waits")))
    }

    /// Ends an outstanding wait (a dropped future, or the poll form's registration).
    pub(crate) fn stop_waiting(&mut self) {
        self.c.stop_waiting();
    }

    /// Everything flushed and not consumed, without waiting. `Ok(None)` if there is nothing
    /// new: no byte past the examined position, no completion, no cancel.
    ///
    /// # Errors
    /// [`ReadError::ReaderCompleted`], [`ReadError::WriterFailed`], or
    /// [`ReadError::WouldDeadlock`] if no read can ever be satisfied.
    #[inline]
    pub fn try_read(&mut self) -> Result<Option<ReadResult<'_>>, ReadError> {
        if let Some(snap) = self.c.try_fast() {
            return Ok(Some(self.result(snap)));
        }
        match self.c.poll_read(None, Need::More) {
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
    pub fn read(&mut self) -> ReadFuture<'_, H> {
        ReadFuture::new(self, Need::More)
    }

    /// As [`read`](Self::read), but waits until at least `minimum` bytes are unconsumed. While
    /// it waits, a paused writer is let through (the read overrides the pause threshold, as
    /// .NET's `ReadAtLeastAsync`).
    ///
    /// # Errors
    /// As [`read`](Self::read), and [`ReadError::MinimumTooLarge`] if `minimum` exceeds the
    /// capacity.
    pub fn read_at_least(&mut self, minimum: usize) -> ReadFuture<'_, H> {
        ReadFuture::new(self, need_at_least(minimum))
    }

    /// As [`read`](Self::read), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn read_blocking(&mut self) -> Result<ReadResult<'_>, ReadError> {
        self.blocker().block_on(self.read())
    }

    /// As [`read_at_least`](Self::read_at_least), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`read_at_least`](Self::read_at_least).
    pub fn read_at_least_blocking(&mut self, minimum: usize) -> Result<ReadResult<'_>, ReadError> {
        self.blocker().block_on(self.read_at_least(minimum))
    }

    /// The poll form of [`read`](Self::read). A `Pending` poll leaves the reader registered as
    /// waiting until the next poll or read (a dropped [`ReadFuture`] clears it at once).
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<ReadResult<'_>, ReadError>> {
        self.poll_read_at_least(cx, 0)
    }

    /// The poll form of [`read_at_least`](Self::read_at_least), registered as
    /// [`poll_read`](Self::poll_read) is.
    pub fn poll_read_at_least(
        &mut self,
        cx: &mut Context<'_>,
        minimum: usize,
    ) -> Poll<Result<ReadResult<'_>, ReadError>> {
        match self.poll_need(cx, need_at_least(minimum)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(snap)) => Poll::Ready(Ok(self.result(snap))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
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
        let (c, e) = (consumed.pos, examined.pos);
        let ours = (consumed.tag == self.tag) & (examined.tag == self.tag);
        if ours && self.c.can_advance(c, e) {
            self.c.advance_to(c, e);
            return Ok(());
        }
        Err(self.advance_error(consumed, examined))
    }

    /// Consumes `n` more bytes and examines no further than that: `advance_to` with both
    /// positions `n` bytes past the consumed position (the I/O traits' `consume`, which hand out
    /// bytes without positions).
    ///
    /// # Errors
    /// As [`advance_to`](Self::advance_to): [`AdvanceError::BeyondEnd`] past the data read so far.
    pub(crate) fn consume_bytes(&mut self, n: usize) -> Result<(), AdvanceError> {
        let to = Position {
            pos: self.c.consumed().saturating_add(n as u64),
            tag: self.tag,
        };
        self.advance_to(to, to)
    }

    /// `advance_to(consumed, consumed)`.
    ///
    /// # Errors
    /// As [`advance_to`](Self::advance_to).
    #[inline]
    pub fn advance_to_consumed(&mut self, consumed: Position) -> Result<(), AdvanceError> {
        self.advance_to(consumed, consumed)
    }

    /// Why `advance_to(consumed, examined)` was refused: the reader's completion first, then
    /// each position in turn (its pipe generation, then its range), then their order.
    #[cold]
    fn advance_error(&self, consumed: Position, examined: Position) -> AdvanceError {
        if self.c.is_completed() {
            return AdvanceError::ReaderCompleted;
        }
        for p in [consumed, examined] {
            if p.tag != self.tag {
                return AdvanceError::ForeignPosition;
            }
            if let Some(e) = self.c.position_error(p.pos) {
                return e;
            }
        }
        // Both positions are ours and in range: only their order is left.
        debug_assert!(examined.pos < consumed.pos);
        AdvanceError::ExaminedBeforeConsumed {
            consumed: consumed.pos,
            examined: examined.pos,
        }
    }

    /// Completes the reader: the writer's flushes report `is_completed`, its writes are
    /// dropped, and a paused writer is released. The first completion wins. Dropping the
    /// reader completes it.
    pub fn complete(&mut self) {
        self.c.complete(None);
    }

    /// Completes the reader with an error: the writer's next flush or write returns
    /// [`WriteError::ReaderFailed`](crate::WriteError::ReaderFailed) with this very value.
    pub fn complete_with_error(
        &mut self,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) {
        self.c.complete(Some(completion_error(error)));
    }

    /// Resolves when the writer completes: `Ok(())`, or `Err` with the writer's error. This is
    /// ringpipe's form of .NET's obsolete `OnWriterCompleted` callback. (A read also reports
    /// completion, once the data before it is drained.)
    pub fn writer_completion(&mut self) -> WriterCompletionFuture<'_, H> {
        WriterCompletionFuture::new(self)
    }

    /// The poll form of [`writer_completion`](Self::writer_completion).
    pub fn poll_writer_completion(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), CompletionError>> {
        self.c.poll_writer_completion(cx)
    }
}

impl<H: Home> Drop for PipeReader<H> {
    fn drop(&mut self) {
        self.c.complete(None);
    }
}

/// What `read_at_least(minimum)` waits for: `minimum == 0` is a plain read.
fn need_at_least(minimum: usize) -> Need {
    if minimum == 0 {
        Need::More
    } else {
        Need::AtLeast(minimum)
    }
}
