//! futures-io's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for the halves (feature
//! `futures-io`).
//!
//! The same contract as the std and tokio impls (see `std_io.rs`); `poll_close` is tokio's
//! `poll_shutdown`: flush, then complete the writer.

use super::std_io::{
    consume_filled, poll_fill_buf, poll_flush_io, poll_read_slice, poll_shutdown_io,
    poll_write_some,
};
use crate::pipe::home::Home;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use core::pin::Pin;
use core::task::{Context, Poll};
use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use std::io;

/// Copies what `buf` holds of the unconsumed bytes and consumes exactly that; `Ok(0)` at the
/// end of the stream (or for an empty `buf`).
impl<H: Home> AsyncRead for PipeReader<H> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read_slice(self.get_mut(), cx, buf)
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
/// commits it; `poll_flush` is the pipe's flush; `poll_close` flushes, then completes the
/// writer.
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

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_shutdown_io(self.get_mut(), cx)
    }
}
