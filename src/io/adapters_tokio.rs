//! Stream adapters over tokio's `AsyncRead` and `AsyncWrite` (feature `tokio`): the async
//! forms of `adapters_std.rs`, with the same contracts.

use super::adapters_std::{
    complete_writer, flushed, io_advance, reader_left, with_io_slices, write_zero, MAX_IO_SLICES,
};
use super::error::{for_peer, read_canceled};
use crate::pipe::reader::PipeReader;
use crate::pipe::sequence::Sequence;
use crate::pipe::writer::PipeWriter;
use core::future::poll_fn;
use core::pin::Pin;
use std::io::{self, ErrorKind};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Reads `source` into the pipe until the source's end, reading straight into the writer's
/// memory and flushing after every read. The async form of
/// [`copy_from_reader`](crate::copy_from_reader), with its contract (it does not complete the
/// writer; it stops early, with `Ok`, once the reader has completed).
///
/// Cancel-safe: dropping the future loses nothing the source delivered (what a read put in the
/// writer's memory is advanced before the next wait), and leaves the pipe usable.
///
/// # Errors
/// As [`copy_from_reader`](crate::copy_from_reader).
pub async fn copy_from_async_read<R: AsyncRead + Unpin + ?Sized>(
    source: &mut R,
    writer: &mut PipeWriter,
) -> io::Result<u64> {
    let mut total = 0;
    loop {
        if writer.is_reader_completed() {
            return reader_left(writer, total);
        }
        let mem = writer.get_memory(1).await?;
        let mut buf = ReadBuf::new(mem);
        poll_fn(|cx| Pin::new(&mut *source).poll_read(cx, &mut buf)).await?;
        let n = buf.filled().len();
        if n == 0 {
            return Ok(total);
        }
        writer.advance(n);
        total += n as u64;
        if !flushed(writer.flush().await?)? {
            return Ok(total);
        }
    }
}

/// [`copy_from_async_read`], then completes the writer: without an error at the source's end,
/// or with (a copy of) the source's error, as [`fill_from_reader`](crate::fill_from_reader).
/// Spawn it to get .NET's `PipeReader.Create(stream)`.
///
/// # Errors
/// As [`copy_from_async_read`].
pub async fn fill_from_async_read<R: AsyncRead + Unpin>(
    mut source: R,
    mut writer: PipeWriter,
) -> io::Result<u64> {
    let r = copy_from_async_read(&mut source, &mut writer).await;
    complete_writer(&mut writer, &r);
    r
}

/// Writes what the pipe holds into `sink` until the pipe's writer completes, straight from the
/// read's chunks (`poll_write_vectored`, up to [`MAX_IO_SLICES`](crate::MAX_IO_SLICES) at a
/// time), consuming what was written and flushing the sink after each read's bytes. The async
/// form of [`copy_to_writer`](crate::copy_to_writer), with its contract (it does not complete
/// the reader).
///
/// # Errors
/// As [`copy_to_writer`](crate::copy_to_writer).
pub async fn copy_to_async_write<W: AsyncWrite + Unpin + ?Sized>(
    reader: &mut PipeReader,
    sink: &mut W,
) -> io::Result<u64> {
    let mut total = 0;
    loop {
        let (pos, outcome, end) = {
            let res = reader.read().await?;
            let data = res.buffer();
            if data.is_empty() {
                if res.is_completed() {
                    break;
                }
                return Err(read_canceled());
            }
            let (written, outcome) = write_sequence(sink, data).await;
            total += written as u64;
            (data.position(written), outcome, res.is_completed())
        };
        reader.advance_to(pos, pos).map_err(io_advance)?;
        outcome?;
        poll_fn(|cx| Pin::new(&mut *sink).poll_flush(cx)).await?;
        if end {
            break;
        }
    }
    Ok(total)
}

/// Writes all of `data` with `poll_write_vectored`; returns how much was written, and the error
/// that stopped it if one did.
async fn write_sequence<W: AsyncWrite + Unpin + ?Sized>(
    sink: &mut W,
    data: Sequence<'_>,
) -> (usize, io::Result<()>) {
    let mut off = 0;
    while off < data.len() {
        let rest = data.slice(off..);
        let written = poll_fn(|cx| {
            with_io_slices::<MAX_IO_SLICES, _>(rest, |s| {
                Pin::new(&mut *sink).poll_write_vectored(cx, s)
            })
        });
        match written.await {
            Ok(0) => return (off, Err(write_zero())),
            Ok(n) => off += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return (off, Err(e)),
        }
    }
    (off, Ok(()))
}

/// [`copy_to_async_write`], then completes the reader: without an error at the pipe's end, or
/// with (a copy of) the sink's error, as [`drain_to_writer`](crate::drain_to_writer). Spawn it
/// to get .NET's `PipeWriter.Create(stream)`.
///
/// # Errors
/// As [`copy_to_async_write`].
pub async fn drain_to_async_write<W: AsyncWrite + Unpin>(
    mut reader: PipeReader,
    mut sink: W,
) -> io::Result<u64> {
    let r = copy_to_async_write(&mut reader, &mut sink).await;
    match &r {
        Ok(_) => reader.complete(),
        Err(e) => reader.complete_with_error(for_peer(e)),
    }
    r
}
