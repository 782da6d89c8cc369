//! Cancel handles (.NET `CancelPendingRead` / `CancelPendingFlush`), usable from any thread.

use super::home::{Home, InProcess};
use crate::protocol::{Ring, Side, FLUSH_CANCELED, READ_CANCELED};
use crate::sync::Arc;
use core::fmt;

/// Cancels a pending read or flush, from any thread (.NET `CancelPendingRead` /
/// `CancelPendingFlush`). Get one from [`PipeReader::canceller`](crate::PipeReader::canceller)
/// or [`PipeWriter::canceller`](crate::PipeWriter::canceller); it is `Clone`, `Send` and
/// `Sync`.
pub struct PipeCanceller<H: Home = InProcess> {
    ring: Arc<Ring<H::Storage, H::Wakeup>>,
}

impl<H: Home> Clone for PipeCanceller<H> {
    fn clone(&self) -> Self {
        PipeCanceller {
            ring: self.ring.clone(),
        }
    }
}

impl<H: Home> fmt::Debug for PipeCanceller<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeCanceller").finish_non_exhaustive()
    }
}

impl<H: Home> PipeCanceller<H> {
    pub(crate) fn new(ring: Arc<Ring<H::Storage, H::Wakeup>>) -> Self {
        PipeCanceller { ring }
    }

    /// Makes the pending read, or the next one if none is pending, return with
    /// [`ReadResult::is_canceled`](crate::ReadResult::is_canceled) (and whatever data there
    /// is). One-shot; nothing is lost.
    pub fn cancel_pending_read(&self) {
        self.ring.cancel(READ_CANCELED);
    }

    /// Makes the pending flush, or the next one, return with
    /// [`FlushResult::is_canceled`](crate::FlushResult::is_canceled); a writer waiting for
    /// room ([`get_memory`](crate::PipeWriter::get_memory) and its forms) gets
    /// [`WriteError::Canceled`](crate::WriteError::Canceled) instead, and a
    /// [`write_all`](crate::PipeWriter::write_all) returns canceled with the count of bytes
    /// that went in. The flushed data stays committed; a paused writer stays paused. One-shot:
    /// it ends one flush or one wait for room, whichever comes first.
    pub fn cancel_pending_flush(&self) {
        self.ring.cancel(FLUSH_CANCELED);
    }

    /// Whether the writer has completed.
    pub fn is_writer_completed(&self) -> bool {
        self.ring.is_completed(Side::Writer)
    }

    /// Whether the reader has completed.
    pub fn is_reader_completed(&self) -> bool {
        self.ring.is_completed(Side::Reader)
    }
}
