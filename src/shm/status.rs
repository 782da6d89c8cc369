//! What this process knows of the other one: whether it is gone or broke the protocol, and
//! the error a call reports then ([`PeerError`]).

use std::error::Error;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// Why a shared ring's other side reads as completed with an error: the error inside
/// [`ReadError::WriterFailed`](crate::ReadError::WriterFailed) and
/// [`WriteError::ReaderFailed`](crate::WriteError::ReaderFailed) on a shared-memory pipe
/// (`error.downcast_ref::<PeerError>()`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerError {
    /// The other process is gone (it exited or was killed, or dropped its end without
    /// completing it) before it completed its side.
    Gone,
    /// The other process wrote a value the protocol does not allow where this one read it:
    /// it is broken or hostile, and this side stops trusting it.
    ProtocolViolation {
        /// The value: "the writer's committed position", "a slot's length", ...
        what: &'static str,
        /// What it was.
        value: u64,
        /// What the protocol allowed there at that moment.
        allowed: RangeInclusive<u64>,
    },
    /// The other process completed its side with an error: its message (cut at 256 bytes).
    Failed(String),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Gone => f.write_str("the other process is gone (it exited or closed its end without completing it)"),
            PeerError::ProtocolViolation { what, value, allowed } => write!(
                f,
                "the other process violated the shared ring's protocol: {what} was {value}, allowed {}..={}",
                allowed.start(),
                allowed.end()
            ),
            PeerError::Failed(message) => write!(f, "the other process completed with an error: {message}"),
        }
    }
}

impl Error for PeerError {}

/// The other side is fine.
const OK: u8 = 0;
/// The other process is gone.
const GONE: u8 = 1;
/// The other process broke the protocol (`PeerStatus::violation` says how).
const VIOLATED: u8 = 2;

/// How the other side ended, as this process first saw it (kept in [`PeerStatus`]: the other
/// process cannot take it back by writing the state word again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerEnd {
    /// It completed.
    Completed,
    /// It completed with an error, whose message it left in its error record.
    Failed,
    /// It was gone, or broke the protocol, before it completed: [`PeerStatus::error`].
    Lost,
}

/// This process's record of the other one, shared by the storage (which finds violations and
/// reports the error) and the wake-up (whose watcher thread sees the process go).
#[derive(Debug, Default)]
pub(crate) struct PeerStatus {
    lost: AtomicU8,
    violation: Mutex<Option<PeerError>>,
    /// The other side's end once seen: 0, or `PeerEnd as u8 + 1`.
    end: AtomicU8,
}

impl PeerStatus {
    /// Whether the other side is gone or broke the protocol. Ordering: Acquire, pairs with
    /// the Release in `set`: whoever sees the state sees the violation's details.
    #[inline]
    pub(crate) fn lost(&self) -> bool {
        self.lost.load(Ordering::Acquire) != OK
    }

    /// Records that the other process is gone (unless it broke the protocol first).
    pub(crate) fn gone(&self) {
        self.set(GONE, None);
    }

    /// Records a violation (the first one counts).
    pub(crate) fn violated(&self, what: &'static str, value: u64, allowed: RangeInclusive<u64>) {
        self.set(
            VIOLATED,
            Some(PeerError::ProtocolViolation {
                what,
                value,
                allowed,
            }),
        );
    }

    fn set(&self, state: u8, violation: Option<PeerError>) {
        let mut v = self.violation.lock().unwrap_or_else(|e| e.into_inner());
        if self.lost.load(Ordering::Relaxed) != OK {
            return;
        }
        *v = violation;
        // Ordering: Release, pairs with `lost`'s Acquire (under the lock, so the first wins).
        self.lost.store(state, Ordering::Release);
    }

    /// The other side's end: `seen` unless one was kept before (the first one seen counts),
    /// and from now on. Ordering: AcqRel / Acquire, so that whoever sees an end sees what the
    /// side that kept it saw before (the error record the FAILED bit published, C1).
    pub(crate) fn keep_end(&self, seen: PeerEnd) -> PeerEnd {
        match self
            .end
            .compare_exchange(0, seen as u8 + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => seen,
            Err(kept) => Self::end_of(kept).unwrap_or(seen),
        }
    }

    /// Whether the other side is gone, broke the protocol, or was seen to end. Ordering:
    /// Acquire, as `end`; a `true` sends the caller to `keep_end`, whose RMW is what orders
    /// what it reads next.
    #[inline]
    pub(crate) fn settled(&self) -> bool {
        self.lost() || self.end.load(Ordering::Acquire) != 0
    }

    /// The other side's end, if this process has seen it. Ordering: as in `keep_end`.
    pub(crate) fn end(&self) -> Option<PeerEnd> {
        Self::end_of(self.end.load(Ordering::Acquire))
    }

    fn end_of(v: u8) -> Option<PeerEnd> {
        [PeerEnd::Completed, PeerEnd::Failed, PeerEnd::Lost]
            .into_iter()
            .find(|e| *e as u8 + 1 == v)
    }

    /// The error the other side's loss reads as.
    pub(crate) fn error(&self) -> PeerError {
        let v = self.violation.lock().unwrap_or_else(|e| e.into_inner());
        v.clone().unwrap_or(PeerError::Gone)
    }
}
