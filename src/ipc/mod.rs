//! Pipes between processes on Linux (.NET's `PipeStream` family): named pipes over Unix
//! sockets ([`named`]), the peer's credentials ([`creds`]), and the system calls under them
//! ([`sys`]).

pub(crate) mod creds;
pub(crate) mod named;
pub(crate) mod sys;

/// Which way a pipe carries data, seen from the side that says it (.NET `PipeDirection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PipeDirection {
    /// This side reads.
    In,
    /// This side writes.
    Out,
    /// Both.
    InOut,
}
