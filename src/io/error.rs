//! The pipe's errors as `std::io::Error`s, for the I/O trait impls and the stream adapters.
//!
//! The kinds follow what a Rust user expects of a socket or of tokio's `DuplexStream`; the
//! table is in the crate docs ("I/O traits"). Every converted error keeps the pipe's error as
//! its payload ([`io::Error::get_ref`] downcasts to [`ReadError`] or [`WriteError`]), so its
//! [`source`](std::error::Error::source) is the peer's error value when the peer completed
//! with one.

use crate::error::{CompletionError, ReadError, WriteError};
use std::io::{self, ErrorKind};

/// The kind of the peer's error if it is an `io::Error` itself (an adapter that failed on its
/// stream passes the stream's error on), so a kind survives a trip through the pipe.
fn peer_kind(peer: &CompletionError) -> Option<ErrorKind> {
    peer.downcast_ref::<io::Error>().map(io::Error::kind)
}

impl ReadError {
    /// The [`ErrorKind`] this error has as an `io::Error` (see the crate docs' "I/O traits").
    pub fn io_kind(&self) -> ErrorKind {
        match self {
            ReadError::ReaderCompleted => ErrorKind::NotConnected,
            ReadError::WriterFailed(peer) => peer_kind(peer).unwrap_or(ErrorKind::Other),
            // `ErrorKind::Deadlock` says it best, but it is stable only since Rust 1.83 (the
            // library's MSRV is 1.75); `WouldBlock` would make callers retry forever.
            ReadError::WouldDeadlock { .. } => ErrorKind::Other,
            ReadError::MinimumTooLarge { .. } => ErrorKind::InvalidInput,
        }
    }
}

impl WriteError {
    /// The [`ErrorKind`] this error has as an `io::Error` (see the crate docs' "I/O traits").
    pub fn io_kind(&self) -> ErrorKind {
        match self {
            // As a socket after `shutdown(Write)` and tokio's `DuplexStream` after `shutdown`.
            WriteError::WriterCompleted => ErrorKind::BrokenPipe,
            // The reader is gone, whatever its reason (the reason is the source).
            WriteError::ReaderFailed(_) => ErrorKind::BrokenPipe,
            WriteError::TooLarge { .. } => ErrorKind::InvalidInput,
            WriteError::Full { .. } => ErrorKind::WouldBlock,
            WriteError::WouldDeadlock => ErrorKind::Other,
            WriteError::Canceled => ErrorKind::Interrupted,
        }
    }
}

/// A read error as an `io::Error` of the kind in the crate docs' table; the `ReadError` is its
/// payload, and a writer's error its source.
impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> io::Error {
        io::Error::new(e.io_kind(), e)
    }
}

/// A write error as an `io::Error` of the kind in the crate docs' table; the `WriteError` is
/// its payload, and a reader's error its source.
impl From<WriteError> for io::Error {
    fn from(e: WriteError) -> io::Error {
        io::Error::new(e.io_kind(), e)
    }
}

/// A read ended by `cancel_pending_read` with no data: `Interrupted`.
pub(crate) fn read_canceled() -> io::Error {
    io::Error::new(
        ErrorKind::Interrupted,
        "the pending read was canceled by cancel_pending_read",
    )
}

/// A flush ended by `cancel_pending_flush`: `Interrupted`.
pub(crate) fn flush_canceled() -> io::Error {
    io::Error::new(
        ErrorKind::Interrupted,
        "the pending flush was canceled by cancel_pending_flush",
    )
}

/// A write or flush after the reader completed without an error: `BrokenPipe`.
pub(crate) fn reader_gone() -> io::Error {
    io::Error::new(ErrorKind::BrokenPipe, "the pipe's reader has completed")
}

/// The error a failed stream hands to the other side of the pipe: the same kind and message
/// (an `io::Error` is not `Clone`, and the caller gets the original).
pub(crate) fn for_peer(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}
