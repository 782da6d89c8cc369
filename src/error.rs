//! Error types, one per side of the pipe.
//!
//! Every error says what went wrong in words a user can act on. Contract violations that are
//! bugs in the caller (advancing the writer past the memory it was given) panic instead; each
//! such panic is documented on the method.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// The error a side completes with, handed to the other side on its next call.
///
/// It is shared: every call that reports it returns a clone of the same `Arc`, so the other
/// side sees the very value that was passed to `complete_with_error` (as .NET rethrows the same
/// exception instance).
pub type CompletionError = Arc<dyn Error + Send + Sync + 'static>;

/// What `complete_with_error` of either half takes, as the shared error both sides see.
pub(crate) fn completion_error(error: impl Into<Box<dyn Error + Send + Sync>>) -> CompletionError {
    let boxed: Box<dyn Error + Send + Sync> = error.into();
    Arc::from(boxed)
}

/// Why a writer call failed.
#[derive(Clone)]
#[non_exhaustive]
pub enum WriteError {
    /// This writer has completed; it cannot write any more.
    WriterCompleted,
    /// The reader completed with this error.
    ReaderFailed(CompletionError),
    /// The size hint can never be met: memory is handed out in one contiguous piece of at most
    /// `max` bytes (the smaller of the chunk size and the capacity).
    TooLarge {
        /// The size hint.
        requested: usize,
        /// The largest hint the pipe can meet.
        max: usize,
    },
    /// (`try_get_memory` only) the ring has no room for the hint right now; flush and wait, or
    /// try again later.
    Full {
        /// The size hint.
        requested: usize,
    },
    /// Waiting for room would never end: the ring is full and the reader is waiting for more
    /// data than it holds (it has examined everything and consumed too little). The reader gets
    /// [`ReadError::WouldDeadlock`] at the same time.
    WouldDeadlock,
    /// (`get_memory` and its forms) the wait for room was ended by
    /// [`PipeCanceller::cancel_pending_flush`](crate::PipeCanceller::cancel_pending_flush)
    /// (.NET's `CancelPendingFlush` releases a writer held by backpressure). Nothing changed;
    /// the writer may ask again.
    Canceled,
}

impl WriteError {
    /// The reader's completion error, if that is what this is.
    pub fn reader_error(&self) -> Option<&CompletionError> {
        match self {
            WriteError::ReaderFailed(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::WriterCompleted => f.write_str("WriterCompleted"),
            WriteError::ReaderFailed(e) => f
                .debug_tuple("ReaderFailed")
                .field(&format_args!("{e}"))
                .finish(),
            WriteError::TooLarge { requested, max } => f
                .debug_struct("TooLarge")
                .field("requested", requested)
                .field("max", max)
                .finish(),
            WriteError::Full { requested } => f
                .debug_struct("Full")
                .field("requested", requested)
                .finish(),
            WriteError::WouldDeadlock => f.write_str("WouldDeadlock"),
            WriteError::Canceled => f.write_str("Canceled"),
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::WriterCompleted => f.write_str("writing is not allowed after the writer was completed"),
            WriteError::ReaderFailed(e) => write!(f, "the reader completed with an error: {e}"),
            WriteError::TooLarge { requested, max } => write!(
                f,
                "size hint {requested} is larger than the largest contiguous memory the pipe hands out ({max} bytes)"
            ),
            WriteError::Full { requested } => {
                write!(f, "the pipe has no room for {requested} bytes right now")
            }
            WriteError::WouldDeadlock => f.write_str(
                "the pipe is full and the reader is waiting for more data than it holds: waiting would never end",
            ),
            WriteError::Canceled => {
                f.write_str("the wait for room was canceled by cancel_pending_flush")
            }
        }
    }
}

impl Error for WriteError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WriteError::ReaderFailed(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Why a reader call failed.
#[derive(Clone)]
#[non_exhaustive]
pub enum ReadError {
    /// This reader has completed; it cannot read any more.
    ReaderCompleted,
    /// The writer completed with this error. Unread data is not delivered (as in .NET).
    WriterFailed(CompletionError),
    /// The read can never be satisfied: it waits for data the writer cannot add until the
    /// reader consumes some. Typically the pipe is full and everything in it has been examined;
    /// also a `read_at_least` larger than what the ring's chunks can hold around the writer's
    /// size hints, or a writer waiting for a hint that does not fit. Consume (advance
    /// `consumed`), or complete the reader. The writer, if it waits for room, gets
    /// [`WriteError::WouldDeadlock`].
    WouldDeadlock {
        /// Bytes the reader holds unconsumed.
        buffered: usize,
        /// The pipe's capacity.
        capacity: usize,
    },
    /// `read_at_least(minimum)` asked for more bytes than the pipe can ever hold.
    MinimumTooLarge {
        /// What was asked for.
        minimum: usize,
        /// The pipe's capacity.
        capacity: usize,
    },
}

impl ReadError {
    /// The writer's completion error, if that is what this is.
    pub fn writer_error(&self) -> Option<&CompletionError> {
        match self {
            ReadError::WriterFailed(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::ReaderCompleted => f.write_str("ReaderCompleted"),
            ReadError::WriterFailed(e) => f
                .debug_tuple("WriterFailed")
                .field(&format_args!("{e}"))
                .finish(),
            ReadError::WouldDeadlock { buffered, capacity } => f
                .debug_struct("WouldDeadlock")
                .field("buffered", buffered)
                .field("capacity", capacity)
                .finish(),
            ReadError::MinimumTooLarge { minimum, capacity } => f
                .debug_struct("MinimumTooLarge")
                .field("minimum", minimum)
                .field("capacity", capacity)
                .finish(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::ReaderCompleted => f.write_str("reading is not allowed after the reader was completed"),
            ReadError::WriterFailed(e) => write!(f, "the writer completed with an error: {e}"),
            ReadError::WouldDeadlock { buffered, capacity } => write!(
                f,
                "the read can never be satisfied: it waits for data the writer cannot add until the reader consumes some ({buffered} unconsumed bytes, capacity {capacity})"
            ),
            ReadError::MinimumTooLarge { minimum, capacity } => write!(
                f,
                "read_at_least({minimum}) can never be satisfied: the pipe holds at most {capacity} bytes"
            ),
        }
    }
}

impl Error for ReadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadError::WriterFailed(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Why `advance_to(consumed, examined)` was refused. Nothing changed when it is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdvanceError {
    /// This reader has completed.
    ReaderCompleted,
    /// The position belongs to another pipe, or to this pipe before a reset.
    ForeignPosition,
    /// The position is before what was already consumed (a stale position).
    AlreadyConsumed {
        /// The position given.
        position: u64,
        /// What was already consumed.
        consumed: u64,
    },
    /// The position is past the end of every buffer this reader was given.
    BeyondEnd {
        /// The position given.
        position: u64,
        /// The end of the data the reader has seen.
        end: u64,
    },
    /// `examined` is before `consumed`.
    ExaminedBeforeConsumed {
        /// The consumed position.
        consumed: u64,
        /// The examined position.
        examined: u64,
    },
}

impl fmt::Display for AdvanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AdvanceError::ReaderCompleted => f.write_str("reading is not allowed after the reader was completed"),
            AdvanceError::ForeignPosition => {
                f.write_str("the position does not belong to this pipe (another pipe, or before a reset)")
            }
            AdvanceError::AlreadyConsumed { position, consumed } => write!(
                f,
                "the reader has already advanced past the provided position ({position} < consumed {consumed})"
            ),
            AdvanceError::BeyondEnd { position, end } => write!(
                f,
                "the position {position} is past the end of the data read so far ({end})"
            ),
            AdvanceError::ExaminedBeforeConsumed { consumed, examined } => write!(
                f,
                "the examined position must be greater than or equal to the consumed position (examined {examined} < consumed {consumed})"
            ),
        }
    }
}

impl Error for AdvanceError {}

/// Why [`reset`](crate::reset) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetError {
    /// Both sides have to be completed to reset the pipe.
    NotCompleted {
        /// Whether the writer has completed.
        writer: bool,
        /// Whether the reader has completed.
        reader: bool,
    },
    /// The writer and the reader belong to different pipes.
    DifferentPipes,
}

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ResetError::NotCompleted { writer, reader } => write!(
                f,
                "both reader and writer have to be completed to reset the pipe (writer completed: {writer}, reader completed: {reader})"
            ),
            ResetError::DifferentPipes => f.write_str("the writer and the reader belong to different pipes"),
        }
    }
}

impl Error for ResetError {}
