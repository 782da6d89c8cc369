//! Pipes between processes (Linux), .NET's `PipeStream` family: [`anonymous`] pipes from a
//! parent to the child it spawns (`AnonymousPipeServerStream` / `AnonymousPipeClientStream`),
//! the descriptor checks every end taken from another process goes through ([`fd`]), and the
//! threads or futures that move an end's bytes to and from a ringpipe half ([`pump`]).
//!
//! The process on the other side is not trusted: a descriptor named by a string is checked
//! (open, a pipe, the right direction) before it is used, and a peer that stops reading or
//! exits shows up as an error or the end of the stream, never as a signal or a hang of ours.

pub(crate) mod anonymous;
pub(crate) mod fd;
pub(crate) mod pump;

pub use anonymous::{AnonymousPipeClient, AnonymousPipeServer};
pub use pump::Pump;

/// The way bytes flow through a pipe end, seen from the process that holds the end (.NET
/// `PipeDirection`): an `In` end is read, an `Out` end is written.
///
/// Anonymous pipes are one-way: an [`AnonymousPipeServer`] is `In` or `Out` and its client
/// has the other direction; `InOut` is refused with `InvalidInput`. It is here for named
/// pipes, which can be both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PipeDirection {
    /// This end reads what the other end writes.
    In,
    /// This end writes what the other end reads.
    Out,
    /// This end reads and writes (named pipes only).
    InOut,
}
