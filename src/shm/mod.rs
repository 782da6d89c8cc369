//! The pipe between two processes over shared memory (Linux): the same ring, the same
//! [`PipeWriter`] and [`PipeReader`] (read/advance_to, get_memory/advance/flush, backpressure,
//! cancel, completion with an error, async/blocking/non-blocking, the I/O traits), with its
//! bytes in a region both processes map, and no system call on the hot path: a publish makes
//! one only when the other side is parked. A blocking call parks on a futex word in the region,
//! which the other process wakes with one `FUTEX_WAKE` (the waiting thread runs next: a
//! round trip between two parked processes on one CPU costs two such hand-offs, about what a
//! pipe(2) pays); an async task is woken through the ring's socket (a byte on it, which a
//! watcher thread in the waiting process reads before it wakes the task's waker, on whatever
//! executor it runs).
//!
//! * [`writer`] / [`reader`] make a ring and keep one end; the [`PeerEnd`] goes to the other
//!   process: inherited by a child ([`PeerEnd::inherit`], [`SharedReader::from_handle_string`])
//!   or sent over a Unix socket, a named pipe connection included ([`PeerEnd::send_over`],
//!   [`SharedReader::receive`]). [`duplex`] makes two rings, one each way, for
//!   request/response, each process's end one [`SharedDuplex`] ([`PeerDuplex`],
//!   [`attach_duplex`], [`receive_duplex`]).
//! * The other process is not trusted. Every value this process takes from the shared region
//!   (cursors, slot lengths, state bits, the error message) is checked before use, against
//!   bounds this process keeps itself; the sizes come once, in the handshake, and are checked.
//!   What a hostile or broken peer **can** do: make this side read bytes it chose (treat what
//!   you read as untrusted input, and as liable to change while you look at it: it is memory
//!   the other process can write), stop waking this side or wake it for nothing (as a live
//!   peer that stops may; a blocking call looks again every 50 ms in any case, so it is not
//!   held past that by a peer that commits without waking it), and break the protocol, which
//!   this side reports as the other side completing with [`PeerError::ProtocolViolation`].
//!   What it **cannot** do: make ringpipe touch memory outside the region or its own, allocate
//!   without bound, spin without end, or panic. (A peer that keeps changing a blocking call's
//!   futex word makes it poll again each time: as many wake-ups as it pays system calls.)
//! * The ring's options are the in-process pipe's ([`PipeOptions`](crate::PipeOptions)), with
//!   one default of its own: no pause threshold unless the options set one (the whole
//!   capacity is mapped up front, so pausing early saves no memory; with 64 KiB, the
//!   in-process default, a stream ran at about half the speed on two CPUs, `shm-peers`).
//! * A peer that goes away (exit, SIGKILL, dropping its end) is seen at once: the socket the
//!   ring came over (which carries the rings too) hangs up, a watcher thread that waits on it
//!   records [`PeerError::Gone`] and wakes the waiting call. The region is a sealed memfd with
//!   no name in any file system: nothing is left behind, and the memory goes with the last
//!   process that maps it.
//!
//! [`PipeWriter`]: crate::PipeWriter
//! [`PipeReader`]: crate::PipeReader

mod handover;
mod layout;
mod status;
mod storage;
pub(crate) mod sys;
mod wakeup;

pub use handover::{attach_duplex, duplex, reader, receive_duplex, writer, PeerDuplex, PeerEnd};
pub use status::PeerError;

use crate::pipe::home::{sealed, Home};
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;

/// The home of a ring in memory shared with another process: the type parameter of
/// [`SharedWriter`] and [`SharedReader`].
#[derive(Debug)]
pub enum SharedMemory {}

impl sealed::Sealed for SharedMemory {
    type Storage = storage::MappedRing;
    type Wakeup = wakeup::ShmWakeup;
}

impl Home for SharedMemory {}

/// The writing end of a pipe in shared memory.
pub type SharedWriter = PipeWriter<SharedMemory>;
/// The reading end of a pipe in shared memory.
pub type SharedReader = PipeReader<SharedMemory>;
/// One process's end of a [`duplex`]: a [`DuplexEnd`](crate::DuplexEnd) over two shared rings.
pub type SharedDuplex = crate::io::duplex::DuplexEnd<SharedMemory>;
