//! Duplex pipes (.NET `IDuplexPipe` and the connection pair of two pipes): [`DuplexEnd`] holds
//! one pipe's reader and the other pipe's writer, so two ends talk both ways.

use super::std_io::{consume_filled, poll_flush_io, poll_read_slice, poll_write_some};
use crate::pipe::home::{Home, InProcess};
use crate::pipe::options::PipeOptions;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use core::future::poll_fn;
use std::io::{self, BufRead, Read, Write};

/// One end of a two-way connection (.NET `IDuplexPipe`): an [`input`](Self::input) to read
/// what the other end writes, and an [`output`](Self::output) to write what it reads.
///
/// Made by [`duplex`] or [`duplex_pair`], or put together from any reader and writer with
/// [`from_parts`](Self::from_parts). Its type parameter is where the two rings live: in this
/// process (the default), or, on Linux, shared with another process
/// ([`shm::duplex`](crate::shm::duplex), whose end is a
/// [`SharedDuplex`](crate::shm::SharedDuplex)). Dropping it completes both of its halves (each half
/// completes when dropped): the other end reads the end of the stream, and its writes find the
/// reader gone.
///
/// It implements `std::io::{Read, BufRead, Write}` (blocking), and with the `tokio` and
/// `futures-io` features those crates' `AsyncRead`, `AsyncBufRead` and `AsyncWrite`, so it
/// can stand in for tokio's `DuplexStream`; see "I/O traits" in the crate docs.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
///
/// let (mut client, server) = ringpipe::duplex_pair(Default::default());
/// let echo = std::thread::spawn(move || {
///     let (input, mut output) = server.into_parts();
///     for line in BufReader::new(input).lines() {
///         writeln!(output, "echo: {}", line.unwrap()).unwrap();
///     }
/// }); // the server's halves complete when dropped
///
/// writeln!(client, "hello").unwrap();
/// let mut reply = String::new();
/// client.read_line(&mut reply).unwrap();
/// assert_eq!(reply, "echo: hello\n");
/// client.output().complete(); // the server's lines() ends
/// echo.join().unwrap();
/// ```
#[derive(Debug)]
pub struct DuplexEnd<H: Home = InProcess> {
    input: PipeReader<H>,
    output: PipeWriter<H>,
}

/// Two ends connected both ways: what one end writes, the other reads. `a_to_b` configures the
/// pipe from the first end to the second, `b_to_a` the other one (.NET's
/// `DuplexPipe.CreateConnectionPair(inputOptions, outputOptions)`).
///
/// ```
/// let opts = ringpipe::PipeOptions::builder().capacity(1 << 16).build().unwrap();
/// let (mut a, mut b) = ringpipe::duplex(opts, Default::default());
/// a.output().write_all_blocking(b"ping").unwrap();
/// assert_eq!(b.input().try_read().unwrap().unwrap().buffer().to_vec(), b"ping");
/// ```
pub fn duplex(a_to_b: PipeOptions, b_to_a: PipeOptions) -> (DuplexEnd, DuplexEnd) {
    let (a_out, b_in) = crate::pipe::pipe(a_to_b);
    let (b_out, a_in) = crate::pipe::pipe(b_to_a);
    (
        DuplexEnd::from_parts(a_in, a_out),
        DuplexEnd::from_parts(b_in, b_out),
    )
}

/// [`duplex`] with the same options both ways.
pub fn duplex_pair(options: PipeOptions) -> (DuplexEnd, DuplexEnd) {
    duplex(options.clone(), options)
}

impl<H: Home> DuplexEnd<H> {
    /// An end of `input` and `output`, usually halves of two different pipes (nothing checks:
    /// the halves of one pipe make a loop back to itself).
    pub fn from_parts(input: PipeReader<H>, output: PipeWriter<H>) -> Self {
        DuplexEnd { input, output }
    }

    /// The halves back, to move them to different threads or tasks.
    pub fn into_parts(self) -> (PipeReader<H>, PipeWriter<H>) {
        (self.input, self.output)
    }

    /// Both halves borrowed at once, to read and write concurrently in one task
    /// (`tokio::join!` or `futures::join!` over a read and a write).
    pub fn parts_mut(&mut self) -> (&mut PipeReader<H>, &mut PipeWriter<H>) {
        (&mut self.input, &mut self.output)
    }

    /// The reader of what the other end writes (.NET `IDuplexPipe.Input`).
    pub fn input(&mut self) -> &mut PipeReader<H> {
        &mut self.input
    }

    /// The writer of what the other end reads (.NET `IDuplexPipe.Output`).
    pub fn output(&mut self) -> &mut PipeWriter<H> {
        &mut self.output
    }

    /// The reader, shared (its racy queries: [`PipeReader::is_writer_completed`], ...).
    pub fn input_ref(&self) -> &PipeReader<H> {
        &self.input
    }

    /// The writer, shared.
    pub fn output_ref(&self) -> &PipeWriter<H> {
        &self.output
    }

    /// Completes both halves: the other end reads the end of the stream after what was
    /// written, and its writes find the reader gone. Dropping the end does the same.
    pub fn complete(&mut self) {
        self.output.complete();
        self.input.complete();
    }
}

/// As [`PipeReader`]'s (blocking).
impl<H: Home> Read for DuplexEnd<H> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input
            .blocker()
            .block_on(poll_fn(|cx| poll_read_slice(&mut self.input, cx, buf)))
    }
}

/// As [`PipeReader`]'s (blocking; `consume` panics past the data read).
impl<H: Home> BufRead for DuplexEnd<H> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.input.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        consume_filled(&mut self.input, amt);
    }
}

/// As [`PipeWriter`]'s (blocking).
impl<H: Home> Write for DuplexEnd<H> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output
            .blocker()
            .block_on(poll_fn(|cx| poll_write_some(&mut self.output, cx, buf)))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.output
            .blocker()
            .block_on(poll_fn(|cx| poll_flush_io(&mut self.output, cx)))
    }
}

#[cfg(feature = "tokio")]
mod tokio_impls {
    use super::DuplexEnd;
    use crate::io::std_io::{
        consume_filled, poll_fill_buf, poll_flush_io, poll_read_with, poll_shutdown_io,
        poll_write_some,
    };
    use crate::pipe::home::Home;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::io;
    use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

    /// As [`PipeReader`](crate::PipeReader)'s.
    impl<H: Home> AsyncRead for DuplexEnd<H> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let input = &mut self.get_mut().input;
            poll_read_with(input, cx, buf.remaining(), |chunk| buf.put_slice(chunk)).map_ok(drop)
        }
    }

    /// As [`PipeReader`](crate::PipeReader)'s.
    impl<H: Home> AsyncBufRead for DuplexEnd<H> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            poll_fill_buf(&mut self.get_mut().input, cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            consume_filled(&mut self.get_mut().input, amt);
        }
    }

    /// As [`PipeWriter`](crate::PipeWriter)'s; `poll_shutdown` completes the output only.
    impl<H: Home> AsyncWrite for DuplexEnd<H> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            poll_write_some(&mut self.get_mut().output, cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            poll_flush_io(&mut self.get_mut().output, cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            poll_shutdown_io(&mut self.get_mut().output, cx)
        }
    }
}

#[cfg(feature = "futures-io")]
mod futures_impls {
    use super::DuplexEnd;
    use crate::io::std_io::{
        consume_filled, poll_fill_buf, poll_flush_io, poll_read_slice, poll_shutdown_io,
        poll_write_some,
    };
    use crate::pipe::home::Home;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
    use std::io;

    /// As [`PipeReader`](crate::PipeReader)'s.
    impl<H: Home> AsyncRead for DuplexEnd<H> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            poll_read_slice(&mut self.get_mut().input, cx, buf)
        }
    }

    /// As [`PipeReader`](crate::PipeReader)'s.
    impl<H: Home> AsyncBufRead for DuplexEnd<H> {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            poll_fill_buf(&mut self.get_mut().input, cx)
        }

        fn consume(self: Pin<&mut Self>, amt: usize) {
            consume_filled(&mut self.get_mut().input, amt);
        }
    }

    /// As [`PipeWriter`](crate::PipeWriter)'s; `poll_close` completes the output only.
    impl<H: Home> AsyncWrite for DuplexEnd<H> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            poll_write_some(&mut self.get_mut().output, cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            poll_flush_io(&mut self.get_mut().output, cx)
        }

        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            poll_shutdown_io(&mut self.get_mut().output, cx)
        }
    }
}
