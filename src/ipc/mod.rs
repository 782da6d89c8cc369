//! Pipes between processes (Linux), .NET's `PipeStream` family: [`named`] pipes over Unix
//! sockets (`NamedPipeServerStream` / `NamedPipeClientStream`), [`anonymous`] pipes from a
//! parent to the child it spawns (`AnonymousPipeServerStream` / `AnonymousPipeClientStream`),
//! the peer's credentials ([`creds`]), the system calls under named pipes ([`sys`]), the
//! descriptor checks every end taken from another process goes through ([`fd`]), and the
//! threads or futures that move an end's bytes to and from a ringpipe half ([`pump`]).
//!
//! The process on the other side is not trusted: a descriptor named by a string is checked
//! (open, a pipe or socket of the right kind) before it is used, a peer of another user can be
//! refused by its kernel credentials, and a peer that stops reading or exits shows up as an
//! error or the end of the stream, never as a signal or a hang of ours.

pub(crate) mod anonymous;
pub(crate) mod creds;
pub(crate) mod fd;
pub(crate) mod named;
pub(crate) mod pump;
pub(crate) mod sys;

pub use anonymous::{AnonymousPipeClient, AnonymousPipeServer};
pub use pump::Pump;

/// The way bytes flow through a pipe end, seen from the process that holds the end (.NET
/// `PipeDirection`): an `In` end is read, an `Out` end is written.
///
/// Anonymous pipes are one-way: an [`AnonymousPipeServer`] is `In` or `Out` and its client
/// has the other direction; `InOut` is refused with `InvalidInput`. A named pipe's connection
/// can be both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PipeDirection {
    /// This end reads what the other end writes.
    In,
    /// This end writes what the other end reads.
    Out,
    /// This end reads and writes (named pipes only).
    InOut,
}
