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

/// This process's record of the other one, shared by the storage (which finds violations and
/// reports the error) and the wake-up (whose watcher thread sees the process go).
#[derive(Debug, Default)]
pub(crate) struct PeerStatus {
    lost: AtomicU8,
    violation: Mutex<Option<PeerError>>,
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

    /// The error the other side's loss reads as.
    pub(crate) fn error(&self) -> PeerError {
        let v = self.violation.lock().unwrap_or_else(|e| e.into_inner());
        v.clone().unwrap_or(PeerError::Gone)
    }
}
