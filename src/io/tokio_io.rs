//! tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for the halves (feature `tokio`).
//!
//! The same contract as the std impls (see `std_io.rs`), non-blocking: a pending call leaves
//! the half registered as waiting (woken when the other side moves) until its next call, and
//! dropping the future that polled it (cancelling) leaves the pipe usable.

use super::std_io::{
    consume_filled, poll_fill_buf, poll_flush_io, poll_read_with, poll_shutdown_io, poll_write_some,
};
use crate::pipe::home::Home;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// Copies what `buf` has room for of the unconsumed bytes and consumes exactly that;
/// `Ok(())` with nothing filled at the end of the stream (or when `buf` has no room).
impl<H: Home> AsyncRead for PipeReader<H> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_with(self.get_mut(), cx, buf.remaining(), |chunk| {
            buf.put_slice(chunk)
        })
        .map_ok(drop)
    }
}

/// `poll_fill_buf`: the first contiguous piece of the unconsumed bytes (consuming and examining
/// nothing); `consume` consumes, and panics past the data read.
impl<H: Home> AsyncBufRead for PipeReader<H> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        poll_fill_buf(self.get_mut(), cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        consume_filled(self.get_mut(), amt);
    }
}

/// `poll_write` copies what fits in the writer's memory (pending while the pipe is full) and
/// commits it; `poll_flush` is the pipe's [`poll_flush`](PipeWriter::poll_flush) (pending while
/// backpressure holds); `poll_shutdown` flushes, then completes the writer.
impl<H: Home> AsyncWrite for PipeWriter<H> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write_some(self.get_mut(), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush_io(self.get_mut(), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_shutdown_io(self.get_mut(), cx)
    }
}
