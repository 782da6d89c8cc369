//! Anonymous pipes from a parent to the child it spawns (.NET `AnonymousPipeServerStream` and
//! `AnonymousPipeClientStream`), Linux.
//!
//! The parent's [`AnonymousPipeServer`] makes a one-way pipe whose two ends are close-on-exec;
//! [`inherit_client_handle`](AnonymousPipeServer::inherit_client_handle) clears the flag on
//! the client end in the child alone (between fork and exec), so that child inherits exactly
//! that end and no other process, this one's other children included, inherits either. The
//! child learns the end's number as a string, and its [`AnonymousPipeClient`] checks that the
//! number names a pipe end of the right direction before taking it. Once the child runs, the
//! parent closes its copy of the client end
//! ([`dispose_local_copy_of_client_handle`](AnonymousPipeServer::dispose_local_copy_of_client_handle)),
//! so that the child's exit is the end of the stream (or a broken pipe) for the parent.

use super::fd::{self, Identity, FIRST_NON_STDIO};
use super::pump::{self, Pump};
use super::PipeDirection;
use crate::pipe::options::PipeOptions;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The parent's side of an anonymous pipe to a child process (.NET
/// `AnonymousPipeServerStream`): a one-way pipe, the server's end, and until it is disposed,
/// the parent's copy of the client end that the child inherits.
///
/// ```no_run
/// use ringpipe::{AnonymousPipeServer, PipeDirection};
/// use std::process::Command;
///
/// # fn main() -> std::io::Result<()> {
/// let mut server = AnonymousPipeServer::new(PipeDirection::Out)?;
/// let mut cmd = Command::new("my-child");
/// cmd.arg("--pipe").arg(server.client_handle_string()?);
/// server.inherit_client_handle(&mut cmd)?;
/// let mut child = cmd.spawn()?;
/// server.dispose_local_copy_of_client_handle();
///
/// let (mut writer, pump) = server.into_writer(Default::default())?;
/// writer.write_all_blocking(b"hello, child").unwrap();
/// writer.complete(); // the child reads the end of the stream after these bytes
/// pump.join()?;
/// child.wait()?;
/// # Ok(())
/// # }
/// ```
///
/// Both ends are close-on-exec from the start (`pipe2(O_CLOEXEC)`), and numbered 3 or above
/// even when this process runs with a standard stream closed (a client end numbered 0, 1 or 2
/// would be replaced by the child's standard streams). Descriptors this process opened
/// without close-on-exec are not this type's to close: std opens everything close-on-exec.
#[derive(Debug)]
pub struct AnonymousPipeServer {
    direction: PipeDirection,
    end: OwnedFd,
    client: Option<OwnedFd>,
}

impl AnonymousPipeServer {
    /// A new pipe; the server's end has `direction` (`Out`: the server writes, the child reads;
    /// `In`: the child writes, the server reads), the client end the other.
    ///
    /// # Errors
    /// `InvalidInput` for `PipeDirection::InOut` (anonymous pipes are one-way); the OS's error
    /// if no pipe can be made (`EMFILE`, ...).
    pub fn new(direction: PipeDirection) -> io::Result<AnonymousPipeServer> {
        one_way(direction)?;
        let (read, write) = fd::pipe()?;
        let (end, client) = match direction {
            PipeDirection::Out => (write, read),
            _ => (read, write),
        };
        Ok(AnonymousPipeServer {
            direction,
            end,
            client: Some(client),
        })
    }

    /// The server end's direction.
    pub fn direction(&self) -> PipeDirection {
        self.direction
    }

    /// The client end's number as a decimal string, for the child to open with
    /// [`AnonymousPipeClient::from_handle_string`] (.NET `GetClientHandleAsString`). Pass it in
    /// an argument or an environment variable; the child has the end under the same number
    /// once [`inherit_client_handle`](Self::inherit_client_handle) was called on its command.
    ///
    /// # Errors
    /// If the local copy of the client handle was disposed.
    pub fn client_handle_string(&self) -> io::Result<String> {
        Ok(self.client()?.as_raw_fd().to_string())
    }

    /// The client end, for a spawning API other than `std::process::Command` (which must then
    /// clear its close-on-exec flag in the child alone).
    ///
    /// # Errors
    /// If the local copy of the client handle was disposed.
    pub fn client_handle(&self) -> io::Result<BorrowedFd<'_>> {
        Ok(self.client()?.as_fd())
    }

    /// Makes the children `cmd` spawns inherit the client end, and nothing else of this pipe:
    /// between fork and exec, the child clears the end's close-on-exec flag (the parent's copy
    /// keeps it, so children spawned by other commands, on other threads too, inherit
    /// nothing). Spawn before disposing the local copy.
    ///
    /// Before clearing the flag the child checks that the number still names this pipe's
    /// client end; if the parent closed it in between (disposed it, or dropped the server
    /// before spawning), `spawn` fails with `EBADF` ("Bad file descriptor") rather than
    /// passing on whatever now has that number.
    ///
    /// Adds a `pre_exec` step to `cmd`, so std spawns with fork and exec, not posix_spawn.
    ///
    /// # Errors
    /// If the local copy of the client handle was disposed.
    pub fn inherit_client_handle(&self, cmd: &mut Command) -> io::Result<()> {
        let client = self.client()?.as_raw_fd();
        let identity = fd::stat(client)?;
        let direction = opposite(self.direction);
        let step = move || inherit_in_child(client, identity, direction);
        // SAFETY: the step runs in the forked child before exec, where only async-signal-safe
        // calls are allowed: it makes fstat and fcntl calls only, allocates nothing (its
        // errors are raw OS errors), takes no lock, and captures only `Copy` values.
        unsafe { cmd.pre_exec(step) };
        Ok(())
    }

    /// Closes this process's copy of the client end (.NET `DisposeLocalCopyOfClientHandle`);
    /// call it once the child is spawned. Until then the parent holds an end of the child's
    /// side itself, so with an `In` server it never reads the end of the stream (the child's
    /// exit leaves a writer open: its own copy), and with an `Out` server a write to a pipe
    /// the child no longer reads waits for room instead of failing. Idempotent. The `into_*`
    /// conversions dispose it too.
    pub fn dispose_local_copy_of_client_handle(&mut self) {
        self.client = None;
    }

    /// The capacity of the OS pipe in bytes (by default 16 pages: 64 KiB with 4 KiB pages).
    ///
    /// # Errors
    /// The OS's error.
    pub fn buffer_size(&self) -> io::Result<usize> {
        fd::pipe_size(&self.end)
    }

    /// Asks the kernel for an OS pipe of at least `bytes` (.NET's `bufferSize`; `F_SETPIPE_SZ`,
    /// rounded up to a power-of-two number of pages); returns the capacity set. A larger pipe
    /// lets either process run further ahead of the other.
    ///
    /// # Errors
    /// The OS's error: `EPERM` above `/proc/sys/fs/pipe-max-size` (1 MiB by default) for an
    /// unprivileged process, `EBUSY` below the bytes the pipe holds; `InvalidInput` if `bytes`
    /// does not fit in an `int`.
    pub fn set_buffer_size(&self, bytes: usize) -> io::Result<usize> {
        fd::set_pipe_size(&self.end, bytes)
    }

    /// The server end (an `Out` server's) as a [`PipeWriter`], whose bytes the returned
    /// [`Pump`]'s thread writes into the OS pipe. Disposes the local copy of the client handle
    /// (spawn the child first).
    ///
    /// # Errors
    /// `InvalidInput` for an `In` server; the OS's error if the pump thread cannot start.
    pub fn into_writer(self, options: PipeOptions) -> io::Result<(PipeWriter, Pump)> {
        pump::writer_into(self.into_end(PipeDirection::Out, "into_writer")?, options)
    }

    /// The server end (an `In` server's) as a [`PipeReader`], fed from the OS pipe by the
    /// returned [`Pump`]'s thread. Disposes the local copy of the client handle (spawn the
    /// child first).
    ///
    /// # Errors
    /// `InvalidInput` for an `Out` server; the OS's error if the pump thread cannot start.
    pub fn into_reader(self, options: PipeOptions) -> io::Result<(PipeReader, Pump)> {
        pump::reader_from(self.into_end(PipeDirection::In, "into_reader")?, options)
    }

    /// As [`into_writer`](Self::into_writer), with a future in place of the thread (feature
    /// `tokio`): spawn it on the runtime; it resolves to what [`Pump::join`] returns. The end
    /// becomes non-blocking and registered with the current runtime's reactor. `SIGPIPE` is
    /// not blocked on the runtime's threads: Rust's `main` ignores it; a program that restores
    /// it gets the signal when it writes to a pipe the child closed.
    ///
    /// # Errors
    /// As [`into_writer`](Self::into_writer).
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled (as tokio's `from_owned_fd`).
    #[cfg(feature = "tokio")]
    pub fn into_async_writer(
        self,
        options: PipeOptions,
    ) -> io::Result<(
        PipeWriter,
        impl core::future::Future<Output = io::Result<u64>> + Send + 'static,
    )> {
        pump::tokio::writer_into(
            self.into_end(PipeDirection::Out, "into_async_writer")?,
            options,
        )
    }

    /// As [`into_reader`](Self::into_reader), with a future in place of the thread (feature
    /// `tokio`): spawn it on the runtime; it resolves to what [`Pump::join`] returns. Unlike
    /// the thread, it ends as soon as the application's reader completes.
    ///
    /// # Errors
    /// As [`into_reader`](Self::into_reader).
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled (as tokio's `from_owned_fd`).
    #[cfg(feature = "tokio")]
    pub fn into_async_reader(
        self,
        options: PipeOptions,
    ) -> io::Result<(
        PipeReader,
        impl core::future::Future<Output = io::Result<u64>> + Send + 'static,
    )> {
        pump::tokio::reader_from(
            self.into_end(PipeDirection::In, "into_async_reader")?,
            options,
        )
    }

    /// The server end as a [`File`] (blocking, close-on-exec), for `Read` or `Write` without a
    /// ringpipe. Disposes the local copy of the client handle.
    pub fn into_file(self) -> File {
        File::from(self.end)
    }

    /// The server end as an [`OwnedFd`]. Disposes the local copy of the client handle.
    pub fn into_owned_fd(self) -> OwnedFd {
        self.end
    }

    /// The local copy of the client end, or the error of a disposed one.
    fn client(&self) -> io::Result<&OwnedFd> {
        self.client.as_ref().ok_or_else(|| {
            io::Error::other("the local copy of the anonymous pipe's client handle was disposed")
        })
    }

    /// The server end, if it has direction `want` (`what` names the conversion for the error).
    fn into_end(self, want: PipeDirection, what: &str) -> io::Result<OwnedFd> {
        if self.direction != want {
            return Err(fd::invalid(format!(
                "{what} needs a server of PipeDirection::{want:?}; this one is {:?}",
                self.direction
            )));
        }
        Ok(self.end)
    }
}

impl AsFd for AnonymousPipeServer {
    /// The server end.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.end.as_fd()
    }
}

/// The child's side of an anonymous pipe (.NET `AnonymousPipeClientStream`): the end it
/// inherited from the parent's [`AnonymousPipeServer`], checked and owned.
///
/// ```no_run
/// use ringpipe::{AnonymousPipeClient, PipeDirection};
/// use std::io::Read;
///
/// # fn main() -> std::io::Result<()> {
/// let handle = std::env::args().nth(2).expect("--pipe HANDLE");
/// // SAFETY: the parent passed this end to this process alone, and it is taken once, here.
/// let client = unsafe { AnonymousPipeClient::from_handle_string(&handle, PipeDirection::In)? };
/// let (mut reader, pump) = client.into_reader(Default::default())?;
/// let mut text = String::new();
/// reader.read_to_string(&mut text)?; // up to the parent's end of the stream
/// pump.join()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AnonymousPipeClient {
    direction: PipeDirection,
    end: OwnedFd,
}

impl AnonymousPipeClient {
    /// Takes the pipe end that `handle` names (what the parent's
    /// [`client_handle_string`](AnonymousPipeServer::client_handle_string) returned); this
    /// end's direction is `direction`, the opposite of the server's.
    ///
    /// `handle` comes from another process and is checked before anything trusts it: it must
    /// be a decimal number without sign, spaces or leading zeros, within a descriptor's range,
    /// and not 0, 1 or 2 (the standard streams are never client handles); the descriptor must
    /// be open, a pipe (or a FIFO), and open for reading alone (`In`) or writing alone (`Out`).
    /// On success it becomes close-on-exec (this process's own children do not inherit it)
    /// and is owned by the client, which closes it when dropped; on error nothing is changed.
    ///
    /// # Safety
    /// If `handle` names an open pipe end of `direction`, nothing else in this process may own
    /// or use that descriptor: it was inherited for this client, and this is the one call
    /// that takes it (a second call, or a `File` made from the same number, would close or use
    /// a descriptor another owner closes, which std's I/O safety forbids). A handle that
    /// fails the checks is left alone, whoever owns it.
    ///
    /// # Errors
    /// `InvalidInput`, the message naming the problem: `InOut`; an empty, non-numeric, signed
    /// or out-of-range string; a standard stream; a descriptor that is not open (the parent
    /// did not call [`inherit_client_handle`](AnonymousPipeServer::inherit_client_handle) on
    /// this child's command?), not a pipe, or the wrong end. Any other OS error as it is.
    pub unsafe fn from_handle_string(
        handle: &str,
        direction: PipeDirection,
    ) -> io::Result<AnonymousPipeClient> {
        one_way(direction)?;
        let fd = parse_handle(handle)?;
        fd::check_pipe_end(fd, direction)?;
        fd::set_cloexec(fd, true)?;
        // SAFETY: `fd` is open (the checks above found it so), and the caller guarantees that
        // nothing else in this process owns an open pipe end of `direction` with this number.
        let end = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(AnonymousPipeClient { direction, end })
    }

    /// A client over a pipe end already owned (a descriptor received some other way); checked
    /// as [`from_handle_string`](Self::from_handle_string) checks one, and made close-on-exec.
    ///
    /// # Errors
    /// As [`from_handle_string`](Self::from_handle_string) (there is no string to parse);
    /// `end` is closed.
    pub fn from_owned_fd(
        end: OwnedFd,
        direction: PipeDirection,
    ) -> io::Result<AnonymousPipeClient> {
        one_way(direction)?;
        fd::check_pipe_end(end.as_raw_fd(), direction)?;
        fd::set_cloexec(end.as_raw_fd(), true)?;
        Ok(AnonymousPipeClient { direction, end })
    }

    /// The client end's direction.
    pub fn direction(&self) -> PipeDirection {
        self.direction
    }

    /// The client end (an `Out` client's) as a [`PipeWriter`], whose bytes the returned
    /// [`Pump`]'s thread writes into the OS pipe for the parent.
    ///
    /// # Errors
    /// `InvalidInput` for an `In` client; the OS's error if the pump thread cannot start.
    pub fn into_writer(self, options: PipeOptions) -> io::Result<(PipeWriter, Pump)> {
        pump::writer_into(self.into_end(PipeDirection::Out, "into_writer")?, options)
    }

    /// The client end (an `In` client's) as a [`PipeReader`], fed from the OS pipe by the
    /// returned [`Pump`]'s thread; it reads the end of the stream once the parent has closed
    /// its end.
    ///
    /// # Errors
    /// `InvalidInput` for an `Out` client; the OS's error if the pump thread cannot start.
    pub fn into_reader(self, options: PipeOptions) -> io::Result<(PipeReader, Pump)> {
        pump::reader_from(self.into_end(PipeDirection::In, "into_reader")?, options)
    }

    /// As [`into_writer`](Self::into_writer), with a future in place of the thread (feature
    /// `tokio`); see [`AnonymousPipeServer::into_async_writer`].
    ///
    /// # Errors
    /// As [`into_writer`](Self::into_writer).
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled (as tokio's `from_owned_fd`).
    #[cfg(feature = "tokio")]
    pub fn into_async_writer(
        self,
        options: PipeOptions,
    ) -> io::Result<(
        PipeWriter,
        impl core::future::Future<Output = io::Result<u64>> + Send + 'static,
    )> {
        pump::tokio::writer_into(
            self.into_end(PipeDirection::Out, "into_async_writer")?,
            options,
        )
    }

    /// As [`into_reader`](Self::into_reader), with a future in place of the thread (feature
    /// `tokio`); see [`AnonymousPipeServer::into_async_reader`].
    ///
    /// # Errors
    /// As [`into_reader`](Self::into_reader).
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled (as tokio's `from_owned_fd`).
    #[cfg(feature = "tokio")]
    pub fn into_async_reader(
        self,
        options: PipeOptions,
    ) -> io::Result<(
        PipeReader,
        impl core::future::Future<Output = io::Result<u64>> + Send + 'static,
    )> {
        pump::tokio::reader_from(
            self.into_end(PipeDirection::In, "into_async_reader")?,
            options,
        )
    }

    /// The client end as a [`File`] (close-on-exec), for `Read` or `Write` without a ringpipe.
    pub fn into_file(self) -> File {
        File::from(self.end)
    }

    /// The client end as an [`OwnedFd`].
    pub fn into_owned_fd(self) -> OwnedFd {
        self.end
    }

    /// The client end, if it has direction `want` (`what` names the conversion for the error).
    fn into_end(self, want: PipeDirection, what: &str) -> io::Result<OwnedFd> {
        if self.direction != want {
            return Err(fd::invalid(format!(
                "{what} needs a client of PipeDirection::{want:?}; this one is {:?}",
                self.direction
            )));
        }
        Ok(self.end)
    }
}

impl AsFd for AnonymousPipeClient {
    /// The client end.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.end.as_fd()
    }
}

/// `InvalidInput` for `InOut`: anonymous pipes are one-way.
fn one_way(direction: PipeDirection) -> io::Result<()> {
    if direction == PipeDirection::InOut {
        return Err(fd::invalid(
            "anonymous pipes are one-way: PipeDirection::InOut is not supported (use In or Out)",
        ));
    }
    Ok(())
}

/// The direction of the other end of a one-way pipe.
fn opposite(direction: PipeDirection) -> PipeDirection {
    match direction {
        PipeDirection::In => PipeDirection::Out,
        PipeDirection::Out => PipeDirection::In,
        PipeDirection::InOut => PipeDirection::InOut,
    }
}

/// The longest handle string looked at: `i32::MAX` has 10 digits. A longer one is refused
/// without being read further (or quoted whole in the error).
const MAX_HANDLE_LEN: usize = 10;

/// Parses a handle string strictly: the decimal form of a descriptor number of 3 or more, as
/// [`AnonymousPipeServer::client_handle_string`] writes it, and nothing else.
pub(crate) fn parse_handle(handle: &str) -> io::Result<RawFd> {
    let shown: String = handle.chars().take(MAX_HANDLE_LEN + 2).collect();
    let shown = if shown.len() < handle.len() {
        format!("{shown:?}...")
    } else {
        format!("{shown:?}")
    };
    let refuse = |why: &str| fd::invalid(format!("invalid pipe handle {shown}: {why}"));
    if handle.is_empty() {
        return Err(refuse("empty"));
    }
    if !handle.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse(
            "not a descriptor number (decimal digits only, no sign or spaces)",
        ));
    }
    if handle.len() > 1 && handle.starts_with('0') {
        return Err(refuse("leading zeros"));
    }
    let fd = if handle.len() > MAX_HANDLE_LEN {
        None
    } else {
        handle.parse::<RawFd>().ok()
    };
    let fd = fd.ok_or_else(|| refuse("out of a descriptor's range"))?;
    if fd < FIRST_NON_STDIO {
        return Err(refuse(
            "a standard stream (0, 1, 2), which is never an anonymous pipe's client handle",
        ));
    }
    Ok(fd)
}

/// The child's step between fork and exec: if `fd` is still the client end it was when the
/// parent asked (the same pipe and access mode), clear its close-on-exec flag; else fail with
/// `EBADF`. Async-signal-safe: fstat and fcntl, and raw OS errors (no allocation).
fn inherit_in_child(fd: RawFd, identity: Identity, direction: PipeDirection) -> io::Result<()> {
    if !fd::is_same_end(fd, identity, direction)? {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    fd::set_cloexec(fd, false)
}
