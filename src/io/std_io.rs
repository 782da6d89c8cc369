//! `std::io::Read`, `BufRead` and `Write` for the halves, and the poll forms that every I/O
//! trait impl shares (std's blocking ones run them in the pipe's `block_on`; tokio's and
//! futures-io's call them with their context).
//!
//! What the impls do with the pipe's contract:
//! * a read copies what the caller's buffer holds of the unconsumed bytes (across chunks) and
//!   consumes exactly that, examining no further, so the next read returns the rest at once;
//! * `fill_buf` hands out the first chunk of the unconsumed bytes without consuming or
//!   examining anything; `consume(n)` consumes `n` bytes (and examines no further). So after a
//!   partial `consume`, the next `fill_buf` returns the rest without waiting;
//! * a write copies into the writer's memory (waiting for room, as a socket's send buffer
//!   does) and commits, so the reader sees it without a flush (as with tokio's
//!   `DuplexStream`); `flush` is the pipe's flush: it waits while backpressure holds;
//! * a read that ends on a cancel returns the data there is, if any (the cancel is spent), else
//!   `Interrupted`;
//! * an empty buffer reads or writes `Ok(0)` at once. For a read that is not the end of the
//!   stream: only a read into a non-empty buffer returning `Ok(0)` is.

use super::error::{flush_canceled, read_canceled, reader_gone};
use crate::error::WriteError;
use crate::pipe::home::Home;
use crate::pipe::reader::{PipeReader, ReadResult};
use crate::pipe::writer::PipeWriter;
use core::future::poll_fn;
use core::task::{Context, Poll};
use std::io::{self, BufRead, Read, Write};

/// Copies up to `dst.len()` unconsumed bytes into `dst` through `put` (called once per
/// contiguous piece) and consumes them; `Ok(0)` at the end of the stream or for an empty
/// `dst_len`.
pub(crate) fn poll_read_with<H: Home>(
    r: &mut PipeReader<H>,
    cx: &mut Context<'_>,
    dst_len: usize,
    mut put: impl FnMut(&[u8]),
) -> Poll<io::Result<usize>> {
    if dst_len == 0 {
        return Poll::Ready(Ok(0));
    }
    let n = match r.poll_read(cx) {
        Poll::Pending => return Poll::Pending,
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
        Poll::Ready(Ok(res)) => {
            let data = res.buffer();
            if data.is_empty() {
                // A read that returns no data ended on completion (the end of the stream) or a
                // cancel; it never returns for nothing.
                return Poll::Ready(if res.is_completed() {
                    Ok(0)
                } else {
                    Err(read_canceled())
                });
            }
            let n = data.len().min(dst_len);
            for chunk in data.slice(..n).chunks() {
                put(chunk);
            }
            n
        }
    };
    Poll::Ready(consume(r, n).map(|()| n))
}

/// `poll_read_with` into a slice.
pub(crate) fn poll_read_slice<H: Home>(
    r: &mut PipeReader<H>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut at = 0;
    poll_read_with(r, cx, buf.len(), |chunk| {
        buf[at..at + chunk.len()].copy_from_slice(chunk);
        at += chunk.len();
    })
}

/// The first contiguous piece of the unconsumed bytes, waiting for some; empty at the end of
/// the stream. Consumes and examines nothing.
#[cfg(any(feature = "tokio", feature = "futures-io"))]
pub(crate) fn poll_fill_buf<'a, H: Home>(
    r: &'a mut PipeReader<H>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<&'a [u8]>> {
    r.poll_read(cx).map(|res| filled(&res?))
}

/// What `fill_buf` returns for a read: its first contiguous piece, empty at the end of the
/// stream; a read that ended on a cancel with no data is `Interrupted`.
fn filled<'a>(res: &ReadResult<'a>) -> io::Result<&'a [u8]> {
    let data = res.buffer();
    if data.is_empty() && !res.is_completed() {
        return Err(read_canceled());
    }
    Ok(data.first_chunk())
}

/// Consumes `n` bytes handed out by `fill_buf` (or copied by a read).
fn consume<H: Home>(r: &mut PipeReader<H>, n: usize) -> io::Result<()> {
    r.consume_bytes(n)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// `BufRead::consume` and its async forms: consumes `n` bytes of what `fill_buf` returned.
///
/// # Panics
/// If `n` is more than the unconsumed bytes the last read saw (a caller that consumes what it
/// was not given), or after the reader completed.
pub(crate) fn consume_filled<H: Home>(r: &mut PipeReader<H>, n: usize) {
    if let Err(e) = consume(r, n) {
        panic!("ringpipe: consume({n}) refused: {e}");
    }
}

/// Copies as much of `buf` as fits in the writer's memory (waiting for room when there is
/// none, after committing what was advanced before), then commits it. `BrokenPipe` once the
/// reader has completed.
pub(crate) fn poll_write_some<H: Home>(
    w: &mut PipeWriter<H>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    if w.is_completed() {
        return Poll::Ready(Err(WriteError::WriterCompleted.into()));
    }
    if w.is_reader_completed() {
        return Poll::Ready(Err(reader_error(w)));
    }
    let room = match w.try_get_memory(1) {
        Ok(mem) => mem.len(),
        Err(WriteError::Full { .. }) => {
            // Let the reader see what we have before waiting for it to make room.
            w.commit();
            match w.poll_get_memory(cx, 1) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            }
        }
        Err(e) => return Poll::Ready(Err(e.into())),
    };
    if w.is_reader_completed() {
        // It completed while we waited: the memory is scratch, the bytes would be dropped.
        return Poll::Ready(Err(reader_error(w)));
    }
    let n = room.min(buf.len());
    w.granted_memory()[..n].copy_from_slice(&buf[..n]);
    w.advance(n);
    w.commit();
    Poll::Ready(Ok(n))
}

/// Why a write finds the reader gone: its error if it completed with one, else `BrokenPipe`.
fn reader_error<H: Home>(w: &mut PipeWriter<H>) -> io::Error {
    match w.try_flush() {
        Err(e) => e.into(),
        Ok(_) => reader_gone(),
    }
}

/// The pipe's flush as `io::Result<()>`: `Interrupted` if canceled, `BrokenPipe` if the reader
/// has completed.
pub(crate) fn poll_flush_io<H: Home>(
    w: &mut PipeWriter<H>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    w.poll_flush(cx).map(|r| match r {
        Ok(f) if f.is_canceled() => Err(flush_canceled()),
        Ok(f) if f.is_completed() => Err(reader_gone()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.into()),
    })
}

/// Flushes, then completes the writer (tokio's `poll_shutdown`, futures-io's `poll_close`).
/// Idempotent: a completed writer shuts down with `Ok(())`, and so does a writer whose reader
/// has completed without an error (there is nobody left to flush to). A canceled flush is
/// `Interrupted` and completes nothing (call again to shut down); a reader's error is returned
/// after completing.
#[cfg(any(feature = "tokio", feature = "futures-io"))]
pub(crate) fn poll_shutdown_io<H: Home>(
    w: &mut PipeWriter<H>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    if w.is_completed() {
        return Poll::Ready(Ok(()));
    }
    let r = match w.poll_flush(cx) {
        Poll::Pending => return Poll::Pending,
        Poll::Ready(Ok(f)) if f.is_canceled() => return Poll::Ready(Err(flush_canceled())),
        Poll::Ready(Ok(_)) => Ok(()),
        Poll::Ready(Err(e)) => Err(e.into()),
    };
    w.complete();
    Poll::Ready(r)
}

/// Blocking: reads into `buf`, parking the thread until there is data, the end of the stream,
/// an error or a cancel (`Interrupted`, which std's `read_exact` and `read_to_end` retry).
impl<H: Home> Read for PipeReader<H> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.blocker()
            .block_on(poll_fn(|cx| poll_read_slice(self, cx, buf)))
    }
}

/// Blocking: `fill_buf` returns the first contiguous piece of the unconsumed bytes (parking
/// until there are some; empty at the end of the stream); `consume` consumes.
///
/// `consume(n)` panics if `n` is more than the unconsumed bytes the last `fill_buf` (or read)
/// saw: std's `BufReader` clamps instead, but here it is a caller's bug that would lose bytes.
impl<H: Home> BufRead for PipeReader<H> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let res = self.read_blocking()?;
        filled(&res)
    }

    fn consume(&mut self, amt: usize) {
        consume_filled(self, amt);
    }
}

/// Blocking: `write` copies what fits in the writer's memory and commits it (visible to the
/// reader at once; it waits only when the pipe is full); `flush` is the pipe's
/// [`flush_blocking`](PipeWriter::flush_blocking) (it waits while backpressure holds).
impl<H: Home> Write for PipeWriter<H> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.blocker()
            .block_on(poll_fn(|cx| poll_write_some(self, cx, buf)))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.blocker()
            .block_on(poll_fn(|cx| poll_flush_io(self, cx)))
    }
}
