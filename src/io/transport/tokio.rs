//! [`SocketTransport`]: the transport as one future over a tokio `AsyncRead + AsyncWrite`
//! (feature `tokio`). One poll drives both loops, so a connection costs one task, and the
//! socket needs no split (no lock between a read half and a write half).

use super::{TransportOptions, TransportStats, TRANSPORT_MAX_IO_SLICES};
use crate::error::ReadError;
use crate::io::adapters_std::{with_io_slices, write_zero};
use crate::io::duplex::DuplexEnd;
use crate::io::error::for_peer;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io::{self, ErrorKind};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many steps (reads, flushes, writes) one loop takes in one poll before it lets the task
/// go (see `run_steps`).
const OPS_PER_POLL: usize = 16;

/// The socket transport as a future (feature `tokio`): it moves bytes between `socket` and
/// the [`DuplexEnd`] that [`new`](Self::new) returns, until both loops end (the crate docs'
/// [Socket transports](crate#socket-transports) say when), then closes the socket and resolves to
/// what it moved, or to the first socket error (which the application has also received
/// through its pipes). Spawn it on any tokio runtime flavour: `tokio::spawn(transport)`.
///
/// The receive loop reads into the receive pipe's memory and flushes after each read, and
/// stops reading while that pipe is paused; the send loop writes each read of the send pipe
/// with one `poll_write_vectored` and consumes what the socket accepted. Neither copies
/// through a buffer of its own.
///
/// Dropping it before it resolves completes the application's input and output with
/// `ConnectionAborted` (the application never reads a clean end of stream for a connection
/// that was abandoned) and closes the socket.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use ringpipe::{SocketTransport, TransportOptions};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tokio::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (socket, _) = listener.accept().await?;
///
/// let (end, transport) = SocketTransport::new(socket, TransportOptions::new());
/// let transport = tokio::spawn(transport);
/// let (mut input, mut output) = end.into_parts();
///
/// client.write_all(b"ping").await?;
/// let res = input.read().await.unwrap(); // straight from the socket into pipe memory
/// assert_eq!(res.buffer().to_vec(), b"ping");
/// let end = res.buffer().end();
/// input.advance_to(end, end).unwrap();
///
/// output.write_all(b"pong").await.unwrap();
/// output.complete(); // the socket's write side is shut down after "pong"
/// let mut reply = Vec::new();
/// client.read_to_end(&mut reply).await?;
/// assert_eq!(reply, b"pong");
///
/// drop(client); // the peer's EOF ends the receive loop
/// let stats = transport.await.unwrap()?;
/// assert_eq!((stats.received, stats.sent), (4, 4));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a transport moves nothing until it is polled: spawn it"]
pub struct SocketTransport<S> {
    /// `None` once both loops ended (the socket is closed then).
    socket: Option<S>,
    /// The receive pipe's writer; `None` once the receive loop ended.
    receive: Option<PipeWriter>,
    /// The receive loop advanced a read into the pipe and has yet to flush it.
    receive_flush: bool,
    /// The send pipe's reader; `None` once the send loop ended.
    send: Option<PipeReader>,
    send_state: SendState,
    stats: TransportStats,
    /// The first socket error, for the future's output.
    error: Option<io::Error>,
}

/// Where the send loop is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SendState {
    /// Waiting for data, writing it. `flush_socket`: something was written since the socket's
    /// last flush (a no-op for TCP and Unix sockets; a TLS stream sends its records there).
    Writing { flush_socket: bool },
    /// The application completed its output and everything was written: shutting the socket's
    /// write side down.
    ShuttingDown,
}

impl<S: AsyncRead + AsyncWrite + Unpin> SocketTransport<S> {
    /// A transport over the connected `socket`, and the application's end of it: its
    /// [`input`](DuplexEnd::input) reads what the socket receives, its
    /// [`output`](DuplexEnd::output) writes to the socket. Nothing moves until the transport
    /// is polled.
    pub fn new(socket: S, options: TransportOptions) -> (DuplexEnd, SocketTransport<S>) {
        let (receive, app_input) = crate::pipe::pipe(options.receive);
        let (app_output, send) = crate::pipe::pipe(options.send);
        let transport = SocketTransport {
            socket: Some(socket),
            receive: Some(receive),
            receive_flush: false,
            send: Some(send),
            send_state: SendState::Writing {
                flush_socket: false,
            },
            stats: TransportStats::default(),
            error: None,
        };
        (DuplexEnd::from_parts(app_input, app_output), transport)
    }

    /// What it moved so far.
    pub fn stats(&self) -> TransportStats {
        self.stats
    }
}

/// Why a loop ended.
enum End {
    /// As the table in the module docs says, without a socket error.
    Done,
    /// A socket error (already passed on to the application).
    Failed(io::Error),
    /// The application completed its output with an error: the connection is aborted.
    Aborted,
}

/// One step of a loop: go on, wait, or end.
enum Step {
    Again,
    Wait,
    End(End),
}

/// Runs a loop's steps until one waits or ends, or the loop has done its share of this poll
/// (then the task is woken again at once, so that one busy connection cannot hold its worker).
fn run_steps(cx: &mut Context<'_>, mut step: impl FnMut(&mut Context<'_>) -> Step) -> Poll<End> {
    for _ in 0..OPS_PER_POLL {
        match step(cx) {
            Step::Again => {}
            Step::Wait => return Poll::Pending,
            Step::End(end) => return Poll::Ready(end),
        }
    }
    cx.waker().wake_by_ref();
    Poll::Pending
}

impl<S: AsyncRead + AsyncWrite + Unpin> SocketTransport<S> {
    /// Runs the receive loop until it waits or ends (or has done its share of this poll).
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let (Some(socket), Some(writer)) = (self.socket.as_mut(), self.receive.as_mut()) else {
            return Poll::Ready(End::Done);
        };
        let (stats, flush) = (&mut self.stats, &mut self.receive_flush);
        run_steps(cx, |cx| {
            if *flush {
                flush_step(writer, cx, flush)
            } else {
                receive_step(socket, writer, cx, stats, flush)
            }
        })
    }

    /// Runs the send loop until it waits or ends (or has done its share of this poll).
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let (Some(socket), Some(reader)) = (self.socket.as_mut(), self.send.as_mut()) else {
            return Poll::Ready(End::Done);
        };
        let (stats, state) = (&mut self.stats, &mut self.send_state);
        run_steps(cx, |cx| send_step(socket, reader, cx, stats, state))
    }

    /// Ends the receive loop. A socket error ends the send loop too: the connection failed.
    fn end_receive(&mut self, end: End) {
        let Some(mut writer) = self.receive.take() else {
            return;
        };
        match end {
            End::Done => writer.complete(),
            End::Failed(e) => {
                writer.complete_with_error(for_peer(&e));
                let copy = for_peer(&e);
                self.error.get_or_insert(e);
                self.end_send(End::Failed(copy));
            }
            End::Aborted => writer.complete_with_error(aborted()),
        }
    }

    /// Ends the send loop. A socket error ends the receive loop too, and so does the
    /// application's abort.
    fn end_send(&mut self, end: End) {
        let Some(mut reader) = self.send.take() else {
            return;
        };
        match end {
            End::Done => reader.complete(),
            End::Failed(e) => {
                reader.complete_with_error(for_peer(&e));
                let copy = for_peer(&e);
                self.error.get_or_insert(e);
                self.end_receive(End::Failed(copy));
            }
            End::Aborted => {
                reader.complete_with_error(aborted());
                self.end_receive(End::Aborted);
            }
        }
    }
}

/// A step of the receive loop with nothing to flush: read the socket into the pipe's memory.
fn receive_step<S: AsyncRead + Unpin>(
    socket: &mut S,
    writer: &mut PipeWriter,
    cx: &mut Context<'_>,
    stats: &mut TransportStats,
    flush: &mut bool,
) -> Step {
    // A hint of 1: the rest of the current chunk, then whole chunks (see copy_from_reader).
    // Pending while the pipe is paused: the socket is not read, and the wait ends at room or
    // at the application's completion of its input.
    match writer.poll_get_memory(cx, 1) {
        Poll::Pending => return Step::Wait,
        // The application completed its input (a WriteError says which way); stop reading.
        Poll::Ready(Err(_)) => return Step::End(End::Done),
        Poll::Ready(Ok(_)) => {}
    }
    let mut buf = ReadBuf::new(writer.granted_memory());
    match Pin::new(socket).poll_read(cx, &mut buf) {
        Poll::Pending => {
            // Nothing to read. Wake also when the application completes its input, so that a
            // connection it dropped ends even if the peer never sends again.
            match writer.poll_reader_completion(cx) {
                Poll::Pending => Step::Wait,
                Poll::Ready(_) => Step::End(End::Done),
            }
        }
        Poll::Ready(Ok(())) => {
            let n = buf.filled().len();
            stats.reads += 1;
            if n == 0 {
                return Step::End(End::Done);
            }
            writer.advance(n);
            stats.received += n as u64;
            *flush = true;
            Step::Again
        }
        Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => Step::Again,
        Poll::Ready(Err(e)) => Step::End(End::Failed(e)),
    }
}

/// A step of the receive loop after a read: flush it to the application (waiting while the
/// pipe is paused).
fn flush_step(writer: &mut PipeWriter, cx: &mut Context<'_>, flush: &mut bool) -> Step {
    match writer.poll_flush(cx) {
        Poll::Pending => Step::Wait,
        Poll::Ready(Ok(f)) => {
            *flush = false;
            // A canceled flush (the application's canceller) committed the data all the same.
            if f.is_completed() {
                Step::End(End::Done)
            } else {
                Step::Again
            }
        }
        // The application completed its input with an error: nobody reads any more.
        Poll::Ready(Err(_)) => Step::End(End::Done),
    }
}

/// A step of the send loop: write what the application flushed, or shut the socket's write
/// side down after the last of it.
fn send_step<S: AsyncWrite + Unpin>(
    socket: &mut S,
    reader: &mut PipeReader,
    cx: &mut Context<'_>,
    stats: &mut TransportStats,
    state: &mut SendState,
) -> Step {
    let SendState::Writing { flush_socket } = *state else {
        return match Pin::new(socket).poll_shutdown(cx) {
            Poll::Pending => Step::Wait,
            // The peer was told the end as far as the socket could: a failed shutdown (the peer
            // already gone) changes nothing the application could act on.
            Poll::Ready(_) => Step::End(End::Done),
        };
    };
    let res = match reader.poll_read(cx) {
        Poll::Pending => {
            // Nothing more to write for now: flush what was written before waiting.
            if flush_socket {
                match Pin::new(socket).poll_flush(cx) {
                    Poll::Pending => {}
                    Poll::Ready(Ok(())) => {
                        *state = SendState::Writing {
                            flush_socket: false,
                        }
                    }
                    Poll::Ready(Err(e)) => return Step::End(End::Failed(e)),
                }
            }
            return Step::Wait;
        }
        Poll::Ready(Err(ReadError::WriterFailed(_))) => return Step::End(End::Aborted),
        Poll::Ready(Err(e)) => return Step::End(End::Failed(e.into())),
        Poll::Ready(Ok(res)) => res,
    };
    let data = res.buffer();
    if data.is_empty() {
        // Empty: the application completed its output (everything before it was written;
        // shutting down flushes the socket), or it canceled this read (nothing to do).
        if res.is_completed() {
            *state = SendState::ShuttingDown;
        }
        return Step::Again;
    }
    let written = with_io_slices::<TRANSPORT_MAX_IO_SLICES, _>(data, |slices| {
        Pin::new(socket).poll_write_vectored(cx, slices)
    });
    match written {
        // Nothing consumed nor examined: the next poll's read returns the same bytes at once.
        Poll::Pending => Step::Wait,
        Poll::Ready(Ok(0)) => Step::End(End::Failed(write_zero())),
        Poll::Ready(Ok(n)) => {
            let to = data.position(n);
            reader
                .advance_to(to, to)
                .expect("ringpipe: a position of the read just made is valid");
            stats.writes += 1;
            stats.sent += n as u64;
            *state = SendState::Writing { flush_socket: true };
            Step::Again
        }
        Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => Step::Again,
        Poll::Ready(Err(e)) => Step::End(End::Failed(e)),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Future for SocketTransport<S> {
    type Output = io::Result<TransportStats>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.receive.is_some() {
            if let Poll::Ready(end) = this.poll_receive(cx) {
                this.end_receive(end);
            }
        }
        if this.send.is_some() {
            if let Poll::Ready(end) = this.poll_send(cx) {
                this.end_send(end);
            }
        }
        if this.receive.is_some() || this.send.is_some() {
            return Poll::Pending;
        }
        // Both loops ended: close the socket now, not when the future is dropped.
        this.socket = None;
        Poll::Ready(match this.error.take() {
            Some(e) => Err(e),
            None => Ok(this.stats),
        })
    }
}

impl<S> Drop for SocketTransport<S> {
    fn drop(&mut self) {
        if let Some(mut writer) = self.receive.take() {
            writer.complete_with_error(aborted());
        }
        if let Some(mut reader) = self.send.take() {
            reader.complete_with_error(aborted());
        }
    }
}

/// What the application's halves get when the connection is aborted.
fn aborted() -> io::Error {
    io::Error::new(
        ErrorKind::ConnectionAborted,
        "the socket transport was dropped or the application aborted the connection",
    )
}
