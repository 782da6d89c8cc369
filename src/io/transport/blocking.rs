//! The blocking socket transport (Linux): a receive thread and a send thread between a connected
//! std socket and the application's [`DuplexEnd`], ending as the table in the module above says.
//!
//! The receive thread must end when the application completes its input even while the peer
//! sends nothing, so it never sits in a blocking `recv`: it reads with `MSG_DONTWAIT`, and only
//! when that finds nothing it registers an eventfd-writing waker for the reader's completion
//! and `poll(2)`s the socket and the eventfd together. The socket's own file status stays as
//! it is (the send thread's clone shares it).

use super::{TransportOptions, TransportStats, TRANSPORT_MAX_IO_SLICES};
use crate::error::{ReadError, WriteError};
use crate::io::adapters_std::{complete_writer, flushed, io_advance, with_io_slices, write_zero};
use crate::io::duplex::DuplexEnd;
use crate::io::error::for_peer;
use crate::pipe::canceller::PipeCanceller;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use core::fmt;
use core::task::{Context, Waker};
use std::io::{self, ErrorKind, IoSlice};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::Wake;
use std::thread::{self, JoinHandle};

/// A connected stream socket a [`BlockingTransport`] runs over; implemented for std's
/// [`TcpStream`] and [`UnixStream`].
///
/// The transport moves the bytes through the file descriptor itself: the receive thread with
/// `recv(2)` (`MSG_DONTWAIT`) and `poll(2)`, the send thread with `sendmsg(2)`
/// (`MSG_NOSIGNAL`, so a peer that reset the connection never raises `SIGPIPE`). So an
/// implementation's descriptor must be a connected stream socket, blocking or not (read and
/// write timeouts do not apply); its `Read` and `Write` are not used.
pub trait BlockingSocket:
    std::io::Read + std::io::Write + AsRawFd + Send + Sized + 'static
{
    /// A second handle on the same socket (each transport thread holds one; the socket closes
    /// when the last is dropped).
    ///
    /// # Errors
    /// As `dup(2)`: the process is out of file descriptors.
    fn try_clone(&self) -> io::Result<Self>;

    /// Shuts down one direction of the socket, or both, for every handle on it.
    ///
    /// # Errors
    /// As `shutdown(2)`: `NotConnected` after the connection was reset, ...
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}

impl BlockingSocket for TcpStream {
    fn try_clone(&self) -> io::Result<Self> {
        TcpStream::try_clone(self)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }
}

impl BlockingSocket for UnixStream {
    fn try_clone(&self) -> io::Result<Self> {
        UnixStream::try_clone(self)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        UnixStream::shutdown(self, how)
    }
}

/// Moves the bytes between a connected socket and the application's [`DuplexEnd`] on two
/// threads (named `ringpipe-receive` and `ringpipe-send`), as Kestrel's socket transport
/// does for System.IO.Pipelines; see [`spawn`](Self::spawn).
///
/// The receive thread reads the socket straight into the receive pipe's memory and flushes
/// after every read, so while the application is behind by the pause threshold it stops
/// reading and TCP's flow control holds the peer back. The send thread writes what the
/// application flushed with one vectored write over the read's chunks (up to
/// [`TRANSPORT_MAX_IO_SLICES`]) and consumes what the socket took.
///
/// How the loops end:
///
/// * the peer shuts its write side down: the application's input reads the end of the stream;
/// * a socket error on receive or send (a reset, ...): the connection failed, both threads
///   end (the socket is shut down both ways), and the application's halves complete with
///   (copies of) it: its reads fail with the socket's `ErrorKind`, its writes with
///   `BrokenPipe` and the socket's error as the source;
/// * the application completes its output: what it wrote is sent, then the socket's write
///   side is shut down (the peer reads the end of the stream) while receiving goes on (a half
///   close);
/// * the application completes its output with an error: nothing more is sent, the socket is
///   shut down both ways, and the application's input completes with `ConnectionAborted`;
/// * the application completes (drops) its input: the receive thread ends at once, even while
///   it waits for the peer, and sending goes on.
///
/// The socket is closed when both threads have ended. A peer that never reads keeps the send
/// thread waiting in its write (as a socket's linger does) until the peer reads or resets, or
/// the transport is dropped.
///
/// **Dropping the transport before both threads have ended aborts the connection**: the socket
/// is shut down both ways, the threads end (detached, promptly, whatever they were waiting
/// for), and the application's halves complete with `ConnectionAborted` (reads fail with it,
/// writes fail with `BrokenPipe` and it as the source), so an abandoned connection never looks
/// like a clean end of stream. Keep the transport until [`join`](Self::join) (or
/// [`is_finished`](Self::is_finished)) says it is over.
#[must_use = "dropping a BlockingTransport aborts its connection; join it"]
pub struct BlockingTransport {
    /// `None` once joined.
    receive: Option<JoinHandle<(u64, u64)>>,
    send: Option<JoinHandle<(u64, u64)>>,
    shared: Arc<Shared>,
}

impl BlockingTransport {
    /// Spawns the receive and send threads over `socket`; returns the application's duplex
    /// end (its [`input`](DuplexEnd::input) reads what the peer sends, through a pipe of
    /// `options.receive(..)`; its [`output`](DuplexEnd::output) writes to the peer, through a
    /// pipe of `options.send(..)`) and the transport, to [`join`](Self::join).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::{TcpListener, TcpStream};
    /// use ringpipe::{BlockingTransport, TransportOptions};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let mut peer = TcpStream::connect(listener.local_addr()?)?;
    /// let (socket, _) = listener.accept()?;
    /// let (mut app, transport) = BlockingTransport::spawn(socket, TransportOptions::new())?;
    ///
    /// peer.write_all(b"ping")?;
    /// let mut got = [0; 4];
    /// app.read_exact(&mut got)?;
    /// assert_eq!(&got, b"ping");
    ///
    /// app.write_all(b"pong")?;
    /// drop(app); // completes both halves: the peer reads "pong", then the end of the stream
    /// let mut reply = Vec::new();
    /// peer.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"pong");
    ///
    /// let stats = transport.join()?;
    /// assert_eq!((stats.received, stats.sent), (4, 4));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// Cloning the socket (twice), making the receive thread's eventfd, or spawning a thread
    /// failed (out of file descriptors or threads); nothing is left running then.
    pub fn spawn<S: BlockingSocket>(
        socket: S,
        options: TransportOptions,
    ) -> io::Result<(DuplexEnd, BlockingTransport)> {
        let send_socket = socket.try_clone()?;
        let handle: Box<dyn ShutdownHandle> = Box::new(socket.try_clone()?);
        let wakeup = EventFd::new()?;
        let (receive_writer, app_input) = crate::pipe::pipe(options.receive);
        let (app_output, send_reader) = crate::pipe::pipe(options.send);
        let shared = Arc::new(Shared {
            abort: AtomicU8::new(NOT_ABORTED),
            first_error: Mutex::new(None),
            sending: Mutex::new(()),
            socket: Mutex::new(Some(handle)),
            running: AtomicUsize::new(2),
            receive: receive_writer.canceller(),
            send: send_reader.canceller(),
        });

        let s = shared.clone();
        let receive = thread::Builder::new()
            .name("ringpipe-receive".into())
            .spawn(move || run_receive(socket, receive_writer, wakeup, &s))?;
        let s = shared.clone();
        let send = thread::Builder::new()
            .name("ringpipe-send".into())
            .spawn(move || run_send(send_socket, send_reader, &s));
        let send = match send {
            Ok(send) => send,
            Err(e) => {
                // The receive thread ends at the abort; the send closure, dropped unrun,
                // dropped its reader and socket handle.
                shared.abort(ABORT_DROPPED);
                let _ = receive.join();
                return Err(e);
            }
        };
        let transport = BlockingTransport {
            receive: Some(receive),
            send: Some(send),
            shared,
        };
        Ok((DuplexEnd::from_parts(app_input, app_output), transport))
    }

    /// Waits for both threads to end; then returns the error that failed the connection if
    /// one did (the socket's error itself; the application's halves completed with copies),
    /// else what was moved. Errors the transport caused itself (after an abort) are not
    /// reported; an application that completed its output with an error gets the stats.
    ///
    /// # Errors
    /// The first socket error (`ConnectionReset`, `BrokenPipe`, ...), or, from the
    /// application's misuse of its input, the receive pipe's deadlock (`Other`).
    ///
    /// # Panics
    /// If a thread panicked (a bug), with its panic; the application's halves completed with
    /// `ConnectionAborted` then.
    pub fn join(mut self) -> io::Result<TransportStats> {
        let receive = self.receive.take().map(JoinHandle::join);
        let send = self.send.take().map(JoinHandle::join);
        let (received, reads) = receive.unwrap_or(Ok((0, 0))).unwrap_or_else(|p| {
            panic::resume_unwind(p);
        });
        let (sent, writes) = send.unwrap_or(Ok((0, 0))).unwrap_or_else(|p| {
            panic::resume_unwind(p);
        });
        if let Some(e) = lock(&self.shared.first_error).take() {
            return Err(e);
        }
        Ok(TransportStats {
            received,
            sent,
            reads,
            writes,
        })
    }

    /// Whether both threads have ended (then [`join`](Self::join) returns at once, and
    /// dropping the transport aborts nothing).
    pub fn is_finished(&self) -> bool {
        let done = |h: &Option<JoinHandle<_>>| h.as_ref().map_or(true, JoinHandle::is_finished);
        done(&self.receive) && done(&self.send)
    }
}

impl fmt::Debug for BlockingTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingTransport")
            .field("finished", &self.is_finished())
            .field("aborted", &self.shared.aborted().is_some())
            .finish_non_exhaustive()
    }
}

/// Aborts the connection unless both threads have ended (see the type's docs).
impl Drop for BlockingTransport {
    fn drop(&mut self) {
        if !self.is_finished() {
            self.shared.abort(ABORT_DROPPED);
        }
    }
}

/// Not aborted (the value of [`Shared::abort`]).
const NOT_ABORTED: u8 = 0;
/// The application completed its output with an error.
const ABORT_APP_FAILED: u8 = 1;
/// The transport was dropped before its threads ended (or could not start both).
const ABORT_DROPPED: u8 = 2;
/// A thread panicked.
const ABORT_PANICKED: u8 = 3;
/// A loop failed (the first error is in [`Shared::first_error`]): the connection failed.
const ABORT_FAILED: u8 = 4;

/// What the transport's handle and both threads share.
struct Shared {
    /// Why the connection was aborted (`ABORT_*`), or [`NOT_ABORTED`]. Set once, before the
    /// abort's shutdown and cancels, so a thread that sees their effects sees the reason.
    abort: AtomicU8,
    /// The first error a loop failed with, for `join`; set before [`ABORT_FAILED`], never
    /// after another abort (an error then is the abort's doing).
    first_error: Mutex<Option<io::Error>>,
    /// Held by the send thread from each socket write until it has dealt with the write's
    /// outcome (see [`receive_loop`] for why).
    sending: Mutex<()>,
    /// A third handle on the socket, to shut it down with at an abort; dropped (so the socket
    /// closes) by the thread that ends last, under the lock, so an abort never touches a
    /// closed descriptor.
    socket: Mutex<Option<Box<dyn ShutdownHandle>>>,
    /// Threads still running.
    running: AtomicUsize,
    /// The receive pipe's writer side: an abort cancels its flush or wait for room.
    receive: PipeCanceller,
    /// The send pipe's reader side: an abort cancels its read.
    send: PipeCanceller,
}

impl Shared {
    /// The abort reason, if the connection was aborted.
    fn aborted(&self) -> Option<u8> {
        // Ordering: SeqCst, as the store in `abort`. Acquire would do for the pipe half: a
        // thread that woke from a canceled wait has synchronised with the cancel's RMW on the
        // pipe's state, which `abort` makes after storing the reason. The shutdown's effect
        // reaches the other thread through the kernel, which Rust's model does not order; one
        // total order over the reason is the cheap belt for that (aborts happen once).
        match self.abort.load(Ordering::SeqCst) {
            NOT_ABORTED => None,
            reason => Some(reason),
        }
    }

    /// Aborts the connection (the first reason wins): shuts the socket down both ways (a
    /// receive thread waiting for the peer reads the end of the stream, a send thread in its
    /// write fails) and cancels the pipe waits of both threads; each then sees the reason and
    /// ends, completing its half with [`abort_error`](Self::abort_error).
    fn abort(&self, reason: u8) {
        // Ordering: SeqCst, paired with the load in `aborted` (see there); the first reason wins.
        if self
            .abort
            .compare_exchange(NOT_ABORTED, reason, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        if let Some(socket) = lock(&self.socket).as_ref() {
            // Fails only if the connection is gone already (reset): nothing left to stop.
            let _ = socket.shutdown_both();
        }
        self.receive.cancel_pending_flush();
        self.send.cancel_pending_read();
    }

    /// A loop failed with `e`: unless the connection was aborted already (then `e` is the
    /// abort's doing), keeps it for `join` and aborts, so that both loops end and both halves
    /// complete with copies of it: the connection failed, both ways.
    fn fail(&self, e: io::Error) {
        {
            let mut first = lock(&self.first_error);
            if self.aborted().is_some() {
                return;
            }
            first.get_or_insert(e);
        }
        self.abort(ABORT_FAILED);
    }

    /// The error a half completes with after an abort: a copy of the socket's error after a
    /// failure, else `ConnectionAborted`.
    fn abort_error(&self) -> io::Error {
        let reason = self.aborted().unwrap_or(ABORT_FAILED);
        match lock(&self.first_error).as_ref() {
            Some(e) if reason == ABORT_FAILED => for_peer(e),
            _ => aborted_error(reason),
        }
    }

    /// A thread has ended: the last one closes the shared socket handle.
    fn thread_ended(&self) {
        // Ordering: AcqRel, so the last thread's drop comes after everything the other thread
        // did with the socket (its Release half); the handle itself is under the mutex.
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            drop(lock(&self.socket).take());
        }
    }
}

/// A lock that a panicking thread cannot spoil (what is under these locks is always whole).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The error an aborted connection's halves complete with.
fn aborted_error(reason: u8) -> io::Error {
    let why = match reason {
        ABORT_APP_FAILED => "the application completed its output with an error",
        ABORT_PANICKED => "a transport thread panicked",
        _ => "the transport was dropped before its threads ended",
    };
    io::Error::new(
        ErrorKind::ConnectionAborted,
        format!("connection aborted: {why}"),
    )
}

/// The socket's shutdown, without its type.
trait ShutdownHandle: Send {
    fn shutdown_both(&self) -> io::Result<()>;
}

impl<S: BlockingSocket> ShutdownHandle for S {
    fn shutdown_both(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Both)
    }
}

/// Runs one thread's loop; if it panics, completes the thread's half with `ConnectionAborted`
/// (never a clean end for the application), aborts the connection (so the other thread ends
/// too), and goes on panicking.
fn run_loop<H, E>(
    half: &mut H,
    shared: &Shared,
    run: impl FnOnce(&mut H) -> E,
    fail_half: impl FnOnce(&mut H, io::Error),
) -> E {
    match panic::catch_unwind(AssertUnwindSafe(|| run(half))) {
        Ok(end) => end,
        Err(payload) => {
            fail_half(half, aborted_error(ABORT_PANICKED));
            shared.abort(ABORT_PANICKED);
            shared.thread_ended();
            panic::resume_unwind(payload);
        }
    }
}

/// The receive thread: the loop, then the completion its end calls for. Returns the bytes
/// received and the socket reads.
fn run_receive<S: BlockingSocket>(
    socket: S,
    mut writer: PipeWriter,
    wakeup: EventFd,
    shared: &Shared,
) -> (u64, u64) {
    let mut counts = (0, 0);
    let fd = socket.as_raw_fd();
    let end = run_loop(
        &mut writer,
        shared,
        |w| receive_loop(fd, w, &wakeup, shared, &mut counts),
        |w, e| w.complete_with_error(e),
    );
    drop(socket);
    let outcome = match (end, shared.aborted()) {
        // The reader has gone: nobody to tell anything.
        (ReceiveEnd::ReaderGone, _) => Ok(0),
        // After an abort, the end of the stream is the abort's shutdown.
        (_, Some(_)) | (ReceiveEnd::Failed, None) => Err(shared.abort_error()),
        (ReceiveEnd::Eof, None) => Ok(0),
    };
    complete_writer(&mut writer, &outcome);
    drop(writer);
    shared.thread_ended();
    counts
}

/// Why the receive loop ended.
enum ReceiveEnd {
    /// The socket read the end of the stream.
    Eof,
    /// The application's input completed.
    ReaderGone,
    /// A socket error (or the pipe's deadlock), handed to [`Shared::fail`].
    Failed,
}

/// Reads the socket into the writer's memory and flushes, until the end of the stream, an
/// error (handed to [`Shared::fail`]), the reader's completion or an abort. `counts`: bytes
/// received, socket reads.
///
/// A TCP reset reaches one socket call as an error (`ECONNRESET`) and every later one as the
/// end of the stream. So when the send thread's write took the reset, this loop's read
/// returns 0 with the socket shut down both ways (`POLLHUP`), maybe before the send thread
/// has failed the connection; it then waits for the send thread to be done with its write (a
/// write returns at once on a socket shut down both ways), and the abort check in
/// `run_receive` sees the failure. A peer's orderly end does not shut the socket's write side
/// down, so it never waits for a write then. Unix sockets keep a reset's error for the read
/// (a write fails with `EPIPE` without taking it), so it never waits there: a Unix peer's
/// close (`POLLHUP`) during a write stays the end of the stream it is.
fn receive_loop(
    fd: RawFd,
    writer: &mut PipeWriter,
    wakeup: &EventFd,
    shared: &Shared,
    counts: &mut (u64, u64),
) -> ReceiveEnd {
    let waker = wakeup.waker();
    let writes_take_resets = !is_unix(fd);
    loop {
        if shared.aborted().is_some() {
            // The abort shut the socket down: what it says is the end of the stream.
            return ReceiveEnd::Eof;
        }
        if writer.is_reader_completed() {
            return ReceiveEnd::ReaderGone;
        }
        // A hint of 1: the rest of the current chunk, as `copy_from_reader` asks.
        let mem = match writer.get_memory_blocking(1) {
            Ok(mem) => mem,
            // An abort's cancel (seen above), or the application's own `cancel_pending_flush`
            // through its reader's canceller (ignored: the wait was ours).
            Err(WriteError::Canceled) => continue,
            Err(e) => {
                shared.fail(e.into());
                return ReceiveEnd::Failed;
            }
        };
        match recv_now(fd, mem) {
            Ok(0) => {
                counts.1 += 1;
                if writes_take_resets && hung_up(fd) {
                    drop(lock(&shared.sending));
                }
                return ReceiveEnd::Eof;
            }
            Ok(n) => {
                counts.0 += n as u64;
                counts.1 += 1;
                writer.advance(n);
                match writer.flush_blocking() {
                    Ok(f) => match flushed(f) {
                        Ok(true) => {}
                        Ok(false) => return ReceiveEnd::ReaderGone,
                        // Canceled: as for `get_memory` above.
                        Err(_) => {}
                    },
                    Err(WriteError::ReaderFailed(_)) => return ReceiveEnd::ReaderGone,
                    Err(e) => {
                        shared.fail(e.into());
                        return ReceiveEnd::Failed;
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                match wait_readable(fd, writer, wakeup, &waker) {
                    Ok(true) => {}
                    Ok(false) => return ReceiveEnd::ReaderGone,
                    Err(e) => {
                        shared.fail(e);
                        return ReceiveEnd::Failed;
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                shared.fail(e);
                return ReceiveEnd::Failed;
            }
        }
    }
}

/// Reads what the socket holds now into `buf`, without waiting.
fn recv_now(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call's duration; `fd` is
    // open (the caller's socket handle is alive).
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Whether `fd` is a Unix domain socket.
fn is_unix(fd: RawFd) -> bool {
    let mut domain: libc::c_int = 0;
    let mut len = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `domain` and `len` are valid for writes for the call, `len` is the size of
    // `domain`; `fd` is open.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut domain as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    r == 0 && domain == libc::AF_UNIX
}

/// Whether the socket is shut down both ways (`POLLHUP`: reset, closed by a Unix peer, or
/// shut down here).
fn hung_up(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: `pfd` is one initialised `pollfd`, valid for the call; `fd` is open. A timeout
    // of 0: it only looks.
    let r = unsafe { libc::poll(&mut pfd, 1, 0) };
    r > 0 && pfd.revents & libc::POLLHUP != 0
}

/// Waits until the socket is readable (`Ok(true)`: data, the end of the stream or an error to
/// read) or the writer's reader has completed (`Ok(false)`).
///
/// The reader's completion wakes the writer's waker slot, which this registers `waker` (it
/// writes the eventfd) in before every `poll(2)`: the slot is shared with the writer's flush
/// and room waits, which register their own, and the eventfd may also be written for their
/// events (a resume, a cancel), so a wake is a reason to look again, no more.
fn wait_readable(
    fd: RawFd,
    writer: &mut PipeWriter,
    wakeup: &EventFd,
    waker: &Waker,
) -> io::Result<bool> {
    loop {
        if writer
            .poll_reader_completion(&mut Context::from_waker(waker))
            .is_ready()
        {
            return Ok(false);
        }
        let mut fds = [
            libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wakeup.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is an array of two initialised `pollfd`s, valid for the call; both
        // descriptors are open (the socket handle and the eventfd are alive).
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            wakeup.drain();
        }
        if fds[0].revents != 0 {
            return Ok(true);
        }
    }
}

/// The receive thread's eventfd, which its waker writes.
struct EventFd {
    /// Strong here only: a waker left in the pipe's waker slot after the thread ended writes
    /// nothing and keeps nothing open.
    fd: Arc<OwnedFd>,
}

impl EventFd {
    /// A fresh non-blocking, close-on-exec eventfd.
    fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd(2) takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a descriptor eventfd(2) just opened, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventFd { fd: Arc::new(fd) })
    }

    /// A waker that writes this eventfd while it is open.
    fn waker(&self) -> Waker {
        Waker::from(Arc::new(EventWaker {
            fd: Arc::downgrade(&self.fd),
        }))
    }

    /// Resets the eventfd's counter (nothing to do if it is zero already).
    fn drain(&self) {
        let mut count = 0u64;
        // SAFETY: `count` is valid for writes of 8 bytes for the call; the descriptor is open.
        // EAGAIN (zero already) and EINTR leave a counter the next poll reports again, which
        // only costs a look.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut count as *mut u64).cast(),
                core::mem::size_of::<u64>(),
            )
        };
    }
}

/// Wakes the receive thread's `poll(2)` by adding 1 to its eventfd.
struct EventWaker {
    fd: Weak<OwnedFd>,
}

impl Wake for EventWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(fd) = self.fd.upgrade() {
            let one = 1u64;
            // SAFETY: `one` is valid for reads of 8 bytes for the call; the descriptor is open
            // (`fd` holds it). It fails only if the counter would overflow (it is readable
            // then anyway).
            unsafe {
                libc::write(
                    fd.as_raw_fd(),
                    (&one as *const u64).cast(),
                    core::mem::size_of::<u64>(),
                )
            };
        }
    }
}

/// The send thread: the loop, then the completion its end calls for. Returns the bytes sent
/// and the socket writes.
fn run_send<S: BlockingSocket>(socket: S, mut reader: PipeReader, shared: &Shared) -> (u64, u64) {
    let mut counts = (0, 0);
    let fd = socket.as_raw_fd();
    let end = run_loop(
        &mut reader,
        shared,
        |r| send_loop(fd, r, shared, &mut counts),
        |r, e| r.complete_with_error(e),
    );
    match (end, shared.aborted()) {
        // The application's writer has completed (with its error): nobody to tell anything.
        (SendEnd::AppFailed, _) => {
            shared.abort(ABORT_APP_FAILED);
            reader.complete();
        }
        // After an abort, a write's failure is the abort's shutdown.
        (_, Some(_)) | (SendEnd::Failed, None) => reader.complete_with_error(shared.abort_error()),
        (SendEnd::Completed, None) => {
            // The peer was told the end as far as the socket could: a failed shutdown (the
            // peer gone already) changes nothing the application could act on.
            let _ = socket.shutdown(Shutdown::Write);
            reader.complete();
        }
    }
    drop(reader);
    drop(socket);
    shared.thread_ended();
    counts
}

/// Why the send loop ended.
enum SendEnd {
    /// The application completed its output and all of it was sent.
    Completed,
    /// The application completed its output with an error.
    AppFailed,
    /// A socket error (handed to [`Shared::fail`]), or an abort.
    Failed,
}

/// Writes what the application flushed to the socket, one vectored write per read, consuming
/// what the socket took, until the application's output completes, an error (handed to
/// [`Shared::fail`]) or an abort. `counts`: bytes sent, socket writes.
fn send_loop(
    fd: RawFd,
    reader: &mut PipeReader,
    shared: &Shared,
    counts: &mut (u64, u64),
) -> SendEnd {
    loop {
        if shared.aborted().is_some() {
            return SendEnd::Failed;
        }
        let (pos, n) = {
            let res = match reader.read_blocking() {
                Ok(res) => res,
                Err(ReadError::WriterFailed(_)) => return SendEnd::AppFailed,
                // This loop consumes everything it reads, and completes the reader only when
                // it ends: no other read error can happen; if one did, it ends the loop.
                Err(e) => {
                    shared.fail(e.into());
                    return SendEnd::Failed;
                }
            };
            let data = res.buffer();
            if res.is_canceled() && shared.aborted().is_some() {
                return SendEnd::Failed;
            }
            if data.is_empty() {
                if res.is_completed() {
                    return SendEnd::Completed;
                }
                // Canceled by the application's own `cancel_pending_read` through its
                // writer's canceller (ignored).
                continue;
            }
            // Held until a failure is known to the receive thread (see `receive_loop`).
            let _sending = lock(&shared.sending);
            match with_io_slices::<TRANSPORT_MAX_IO_SLICES, _>(data, |s| send_some(fd, s)) {
                Ok(n) => (data.position(n), n),
                Err(e) => {
                    shared.fail(e);
                    return SendEnd::Failed;
                }
            }
        };
        counts.0 += n as u64;
        counts.1 += 1;
        if let Err(e) = reader.advance_to(pos, pos) {
            shared.fail(io_advance(e));
            return SendEnd::Failed;
        }
    }
}

/// Writes some of `slices` to the socket with one `sendmsg(2)` (`MSG_NOSIGNAL`), waiting for
/// room if the socket is non-blocking or has a send timeout. `slices` holds at least one
/// non-empty slice.
fn send_some(fd: RawFd, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    loop {
        // SAFETY: msghdr is plain C data; all zeroes is no name, no control data, no flags.
        let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
        // `IoSlice` is ABI-compatible with `iovec` on Unix (its documented guarantee);
        // sendmsg only reads through the pointer.
        msg.msg_iov = slices.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = slices.len() as _;
        // SAFETY: `msg` points at `slices.len()` iovecs, each valid for reads of its length
        // for the call (the slices borrow the pipe's committed chunks); `fd` is open.
        let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) };
        if n > 0 {
            return Ok(n as usize);
        }
        if n == 0 {
            return Err(write_zero());
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            ErrorKind::Interrupted => {}
            ErrorKind::WouldBlock => wait_writable(fd)?,
            _ => return Err(e),
        }
    }
}

/// Waits until the socket has room to write (or an error or shutdown to report).
fn wait_writable(fd: RawFd) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is one initialised `pollfd`, valid for the call; `fd` is open.
        if unsafe { libc::poll(&mut pfd, 1, -1) } >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
