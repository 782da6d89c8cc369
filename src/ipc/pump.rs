//! An OS pipe end as a ringpipe half: a thread (or, with the `tokio` feature, a future) moves
//! the bytes between the end and a pipe, with the crate's stream adapters (the end's reads go
//! straight into the writer's memory; the reader's chunks go out with `write_vectored`).

use super::fd;
use crate::io::adapters_std::{drain_to_writer, fill_from_reader};
use crate::pipe::options::PipeOptions;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::thread::{self, JoinHandle};

/// The thread that moves a pipe end's bytes (from [`into_writer`] or [`into_reader`] of an
/// [`AnonymousPipeServer`](crate::AnonymousPipeServer) or
/// [`AnonymousPipeClient`](crate::AnonymousPipeClient)).
///
/// * Behind a [`PipeWriter`] (an `Out` end) it writes what the application flushes into the
///   OS pipe, and ends once the writer has completed and every byte is written, or when the
///   other process closed its end (`BrokenPipe`; the application's next flush fails with
///   `BrokenPipe` too; `SIGPIPE` is blocked on this thread, so it never kills the process).
///   Completing the writer with an error ends it without writing what is left.
/// * In front of a [`PipeReader`] (an `In` end) it reads the OS pipe into the pipe's memory,
///   and ends at the end of the stream (every copy of the other end closed: the other process
///   exited or closed it), completing the writer, or at a read error, which the application's
///   reads then return. Once the application's reader has completed, it ends after its next
///   read returns: while the other process neither writes nor closes its end, the thread waits
///   in that read, holding the end open.
///
/// Either way the thread closes the OS end when it ends. Dropping the `Pump` detaches the
/// thread, which goes on until one of the ends above.
///
/// [`into_writer`]: crate::AnonymousPipeServer::into_writer
/// [`into_reader`]: crate::AnonymousPipeServer::into_reader
#[derive(Debug)]
#[must_use = "dropping a Pump detaches its thread; join it for the outcome"]
pub struct Pump {
    thread: JoinHandle<io::Result<u64>>,
}

impl Pump {
    /// Waits for the thread to end; returns the bytes it moved through the OS pipe.
    ///
    /// # Errors
    /// What ended it early: the OS pipe's error (`BrokenPipe` when the other process closed
    /// its read end before every byte was written), or the ringpipe half's as an `io::Error`
    /// (see "I/O traits" in the crate docs).
    ///
    /// # Panics
    /// If the thread panicked (a bug), with its panic.
    pub fn join(self) -> io::Result<u64> {
        match self.thread.join() {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Whether the thread has ended (then [`join`](Self::join) returns at once).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

/// A [`PipeWriter`] whose bytes a thread writes into `end` (a pipe's write end).
pub(crate) fn writer_into(end: OwnedFd, options: PipeOptions) -> io::Result<(PipeWriter, Pump)> {
    fd::set_blocking(&end)?;
    let sink = File::from(end);
    let (writer, reader) = crate::pipe::pipe(options);
    let thread = spawn(move || {
        block_sigpipe();
        drain_to_writer(reader, sink)
    })?;
    Ok((writer, Pump { thread }))
}

/// A [`PipeReader`] fed by a thread from `end` (a pipe's read end).
pub(crate) fn reader_from(end: OwnedFd, options: PipeOptions) -> io::Result<(PipeReader, Pump)> {
    fd::set_blocking(&end)?;
    let source = File::from(end);
    let (writer, reader) = crate::pipe::pipe(options);
    let thread = spawn(move || fill_from_reader(source, writer))?;
    Ok((reader, Pump { thread }))
}

/// Starts a pump thread; failing to start one is an error, not a panic.
fn spawn(
    f: impl FnOnce() -> io::Result<u64> + Send + 'static,
) -> io::Result<JoinHandle<io::Result<u64>>> {
    thread::Builder::new()
        .name("ringpipe-ipc-pump".into())
        .spawn(f)
}

/// Blocks `SIGPIPE` on the calling thread: a write to a pipe whose reader has gone then fails
/// with `EPIPE` (`BrokenPipe`) instead of raising a signal whose default action kills the
/// process (Rust's `main` ignores `SIGPIPE`, but a library cannot count on that). The signal a
/// write raises is directed at the writing thread, and one left pending is discarded when the
/// thread exits. Best effort: if the mask cannot be changed, the process's disposition holds.
fn block_sigpipe() {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset and pthread_sigmask read
    // an initialised set, and a null old-set pointer is allowed.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut());
    }
}

/// The async pumps (feature `tokio`): the same adapters' async forms over tokio's pipe ends.
#[cfg(feature = "tokio")]
pub(crate) mod tokio {
    use crate::io::adapters_tokio::{drain_to_async_write, fill_from_async_read};
    use crate::pipe::options::PipeOptions;
    use crate::pipe::reader::PipeReader;
    use crate::pipe::writer::PipeWriter;
    use core::future::Future;
    use std::io;
    use std::os::fd::OwnedFd;
    use tokio::net::unix::pipe::{Receiver, Sender};

    /// A [`PipeWriter`] and the future that writes its bytes into `end` (a pipe's write end,
    /// made non-blocking and registered with the current runtime's reactor).
    pub(crate) fn writer_into(
        end: OwnedFd,
        options: PipeOptions,
    ) -> io::Result<(
        PipeWriter,
        impl Future<Output = io::Result<u64>> + Send + 'static,
    )> {
        let sink = Sender::from_owned_fd(end)?;
        let (writer, reader) = crate::pipe::pipe(options);
        Ok((writer, drain_to_async_write(reader, sink)))
    }

    /// A [`PipeReader`] and the future that feeds it from `end` (a pipe's read end, made
    /// non-blocking and registered with the current runtime's reactor).
    pub(crate) fn reader_from(
        end: OwnedFd,
        options: PipeOptions,
    ) -> io::Result<(
        PipeReader,
        impl Future<Output = io::Result<u64>> + Send + 'static,
    )> {
        let source = Receiver::from_owned_fd(end)?;
        let (writer, reader) = crate::pipe::pipe(options);
        Ok((reader, fill_from_async_read(source, writer)))
    }
}
