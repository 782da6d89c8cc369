//! The writing half of a pipe: the public face of the protocol's [`Producer`], with the waits
//! in their three forms (async, blocking, non-blocking).

use super::canceller::PipeCanceller;
use super::future::{FlushFuture, GetMemoryFuture, ReaderCompletionFuture, WriteAllFuture};
use super::home::{Home, InProcess};
use super::wait::Blocker;
use crate::error::{completion_error, CompletionError, WriteError};
use crate::protocol::{FencePolicy, FlushResult, GrantFail, Producer, Ring, Side};
use crate::sync::Arc;
use core::fmt;
use core::task::{Context, Poll};

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
pub struct PipeWriter<H: Home = InProcess> {
    p: Producer<H::Storage, H::Wakeup>,
}

// SAFETY: every method that touches the writer's state takes `&mut self`; the `&self` methods
// only read atomics of the shared ring or plain fields.
unsafe impl<H: Home> Sync for PipeWriter<H> {}

impl<H: Home> fmt::Debug for PipeWriter<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeWriter")
            .field("position", &self.p.position())
            .field("committed", &self.p.committed())
            .field("paused", &self.p.is_paused())
            .field("completed", &self.p.is_completed())
            .finish()
    }
}

impl<H: Home> PipeWriter<H> {
    pub(crate) fn new(ring: Arc<Ring<H::Storage, H::Wakeup>>) -> Self {
        PipeWriter {
            p: Producer::new(ring),
        }
    }

    /// The shared ring.
    pub(crate) fn ring(&self) -> &Arc<Ring<H::Storage, H::Wakeup>> {
        self.p.ring()
    }

    /// How this half's blocking calls wait.
    #[inline]
    pub(crate) fn blocker(&self) -> Blocker<H::Storage, H::Wakeup> {
        Blocker::new(self.ring(), Side::Writer)
    }

    /// Back to the state of a new pipe (after [`reset`](crate::reset)).
    pub(crate) fn reset_local(&mut self) {
        self.p.reset_local();
    }

    /// The pipe's capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.p.ring().capacity() as usize
    }

    /// The largest size hint [`get_memory`](Self::get_memory) accepts: the smaller of the chunk
    /// size and the capacity.
    pub fn max_memory(&self) -> usize {
        self.p.ring().max_hint()
    }

    /// Bytes advanced but not yet committed (.NET `UnflushedBytes`).
    pub fn unflushed_bytes(&self) -> usize {
        self.p.unflushed() as usize
    }

    /// Whether this writer has completed.
    pub fn is_completed(&self) -> bool {
        self.p.is_completed()
    }

    /// Whether the reader has completed (racy: it may complete right after this returns
    /// `false`; once `true` it stays `true` until a reset).
    pub fn is_reader_completed(&self) -> bool {
        self.p.ring().is_completed(Side::Reader)
    }

    /// A handle that can cancel a pending read or flush from any thread.
    pub fn canceller(&self) -> PipeCanceller<H> {
        PipeCanceller::new(self.p.ring().clone())
    }

    /// Whether this pipe may use asymmetric fences (no fence instruction when publishing, a
    /// `membarrier` system call when parking): always, or while its sides do not park
    /// ([`WakeFences::Auto`](crate::WakeFences::Auto)); see [`WakeFences`](crate::WakeFences).
    pub fn asymmetric_fences(&self) -> bool {
        self.p.ring().fence_policy() != FencePolicy::Symmetric
    }

    /// Whether the writer is paused by backpressure (as of its last commit or flush).
    pub fn is_paused(&self) -> bool {
        self.p.is_paused()
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
        match self.p.grant(size_hint) {
            Ok(_) => Ok(self.p.granted_slice()),
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
    pub fn get_memory(&mut self, size_hint: usize) -> GetMemoryFuture<'_, H> {
        GetMemoryFuture::new(self, size_hint)
    }

    /// As [`get_memory`](Self::get_memory), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`get_memory`](Self::get_memory).
    pub fn get_memory_blocking(&mut self, size_hint: usize) -> Result<&mut [u8], WriteError> {
        self.blocker().block_on(self.get_memory(size_hint))
    }

    /// The poll form of [`get_memory`](Self::get_memory); on `Ready(Ok(n))` the memory is
    /// available through [`granted_memory`](Self::granted_memory). After `Pending`, the waker
    /// is woken when the room may be there, unless another call gets memory first: any
    /// successful grant ends the writer's wait for room. (A dropped [`GetMemoryFuture`] ends
    /// it at once; a forgotten one, at the next grant or wait.)
    #[inline]
    pub fn poll_get_memory(
        &mut self,
        cx: &mut Context<'_>,
        size_hint: usize,
    ) -> Poll<Result<usize, WriteError>> {
        let r = self.p.poll_grant(Some(cx), size_hint);
        if r.is_ready() {
            self.p.stop_waiting();
        }
        r
    }

    /// The memory handed out by the last successful `get_memory` call, minus what was advanced
    /// since (empty if none).
    pub fn granted_memory(&mut self) -> &mut [u8] {
        if self.p.granted() == 0 {
            return &mut [];
        }
        self.p.granted_slice()
    }

    /// Ends an outstanding wait (a dropped future, or the poll form's registration).
    pub(crate) fn stop_waiting(&mut self) {
        self.p.stop_waiting();
    }

    /// The length of [`granted_memory`](Self::granted_memory), without borrowing it.
    #[cfg(feature = "bytes")]
    pub(crate) fn granted_len(&self) -> usize {
        self.p.granted()
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
        self.p.advance(n);
    }

    /// Publishes every advanced byte to the reader without waiting (wait-free: one store, one
    /// fence (none with asymmetric [`WakeFences`](crate::WakeFences)), one load; a wake-up only
    /// if the reader is parked and now satisfied).
    #[inline]
    pub fn commit(&mut self) {
        self.p.commit();
    }

    /// The poll form of [`flush`](Self::flush): commits, then reports, or waits while the
    /// writer is paused. A `Pending` poll leaves the writer registered as waiting (its waker
    /// is woken when the pause may be over) until the next flush poll; a dropped
    /// [`FlushFuture`] clears it at once, a forgotten one (`mem::forget`) only at the next
    /// flush.
    #[inline]
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<FlushResult, WriteError>> {
        let r = self.p.poll_flush(Some(cx));
        if r.is_ready() {
            self.p.stop_waiting();
        }
        r
    }

    /// Commits, then reports without waiting: `Ok(None)` means the writer is paused (the data
    /// is committed all the same).
    ///
    /// # Errors
    /// [`WriteError::WriterCompleted`], or [`WriteError::ReaderFailed`] if the reader completed
    /// with an error.
    pub fn try_flush(&mut self) -> Result<Option<FlushResult>, WriteError> {
        match self.p.poll_flush(None) {
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
    pub fn flush(&mut self) -> FlushFuture<'_, H> {
        FlushFuture::new(self)
    }

    /// As [`flush`](Self::flush), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn flush_blocking(&mut self) -> Result<FlushResult, WriteError> {
        self.blocker().block_on(self.flush())
    }

    /// Copies all of `data` into the pipe, across as many chunks as needed, committing and
    /// waiting for room as it goes, then flushes (.NET `WriteAsync`). If the reader has
    /// completed, returns at once with `is_completed` and copies nothing more. A
    /// [`cancel_pending_flush`](PipeCanceller::cancel_pending_flush) ends it where it is (in a
    /// wait for room, or in the final flush) with `is_canceled`; what went in is committed, and
    /// [`FlushResult::written`] says how much that was. Dropping the future stops the copy
    /// where it is (what was copied stays, committed or not).
    ///
    /// # Errors
    /// [`WriteError::WriterCompleted`], [`WriteError::ReaderFailed`], or
    /// [`WriteError::WouldDeadlock`] if room can never come.
    pub fn write_all<'a>(&'a mut self, data: &'a [u8]) -> WriteAllFuture<'a, H> {
        WriteAllFuture::new(self, data)
    }

    /// As [`write_all`](Self::write_all), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`write_all`](Self::write_all).
    pub fn write_all_blocking(&mut self, data: &[u8]) -> Result<FlushResult, WriteError> {
        self.blocker().block_on(self.write_all(data))
    }

    /// The poll form of [`write_all`](Self::write_all). `written` counts the bytes of `data`
    /// copied so far: start it at 0 and pass the same variable, with the same `data`, until
    /// the poll is ready. A `Pending` poll leaves the writer registered as waiting (for room,
    /// or in the final flush) as [`poll_get_memory`](Self::poll_get_memory) and
    /// [`poll_flush`](Self::poll_flush) do.
    ///
    /// # Errors
    /// As [`write_all`](Self::write_all).
    #[inline]
    pub fn poll_write_all(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
        written: &mut usize,
    ) -> Poll<Result<FlushResult, WriteError>> {
        while *written < data.len() {
            if self.p.is_completed() {
                return Poll::Ready(Err(WriteError::WriterCompleted));
            }
            if self.p.is_scratch() || self.is_reader_completed() {
                break;
            }
            let n = match self.p.grant(1) {
                Ok(n) => n,
                Err(GrantFail::Err(e)) => return Poll::Ready(Err(e)),
                Err(GrantFail::Space { .. }) => {
                    // Let the reader see what we have before waiting for it to make room.
                    self.p.commit();
                    match self.poll_get_memory(cx, 1) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(n)) => n,
                        Poll::Ready(Err(WriteError::Canceled)) => {
                            return Poll::Ready(Ok(FlushResult::canceled_after(*written)))
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    }
                }
            };
            if self.p.is_scratch() {
                break;
            }
            let n = n.min(data.len() - *written);
            self.p.granted_slice()[..n].copy_from_slice(&data[*written..*written + n]);
            self.p.advance(n);
            *written += n;
        }
        self.poll_flush(cx).map_ok(|r| r.with_written(*written))
    }

    /// Completes the writer: commits unflushed bytes, then tells the reader that no more data
    /// will come (it drains what is left, then sees `is_completed`). The first completion wins;
    /// later calls do nothing. Dropping the writer completes it.
    pub fn complete(&mut self) {
        self.p.complete(None);
    }

    /// Completes the writer with an error: the reader's next read returns
    /// [`ReadError::WriterFailed`](crate::ReadError::WriterFailed) with this very value (and
    /// does not deliver unread data, as in .NET).
    pub fn complete_with_error(
        &mut self,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) {
        self.p.complete(Some(completion_error(error)));
    }

    /// Resolves when the reader completes: `Ok(())`, or `Err` with the reader's error. This is
    /// ringpipe's form of .NET's obsolete `OnReaderCompleted` callback.
    pub fn reader_completion(&mut self) -> ReaderCompletionFuture<'_, H> {
        ReaderCompletionFuture::new(self)
    }

    /// The poll form of [`reader_completion`](Self::reader_completion).
    pub fn poll_reader_completion(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), CompletionError>> {
        self.p.poll_reader_completion(cx)
    }
}

impl<H: Home> Drop for PipeWriter<H> {
    fn drop(&mut self) {
        self.p.complete(None);
    }
}
