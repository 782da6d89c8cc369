//! Stream adapters, blocking (.NET `PipeReader.Create(Stream)`, `PipeWriter.Create(Stream)`,
//! `Stream.CopyToAsync(PipeWriter)`, `PipeReader.CopyToAsync`): a pipe fed from any
//! `std::io::Read`, a pipe drained into any `std::io::Write`, and a pipe copied into another.
//!
//! No intermediate buffer: a source reads straight into the writer's memory, and a sink writes
//! straight from the read's chunks (`write_vectored` over up to [`MAX_IO_SLICES`] of them).

use super::error::{flush_canceled, for_peer, read_canceled};
use crate::pipe::options::PipeOptions;
use crate::pipe::reader::PipeReader;
use crate::pipe::sequence::Sequence;
use crate::pipe::wait::block_on;
use crate::pipe::writer::PipeWriter;
use crate::protocol::FlushResult;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::thread::{self, JoinHandle};

/// The most chunks a drain hands to one `write_vectored` call (the sink may take fewer).
pub const MAX_IO_SLICES: usize = 16;

/// Reads `source` into the pipe until the source's end, reading straight into the writer's
/// memory and flushing after every read (so backpressure holds the source back). Returns the
/// bytes copied. Does not complete the writer (.NET `Stream.CopyToAsync(PipeWriter)`); see
/// [`fill_from_reader`] for that.
///
/// Stops early, with `Ok`, when the pipe's reader has completed (nobody reads any more).
/// `Interrupted` from the source is retried, as `std::io::copy` does.
///
/// # Errors
/// The source's errors; the writer's as `io::Error`s (see "I/O traits" in the crate docs):
/// `Interrupted` if a flush or a wait for room was canceled, `BrokenPipe` if the reader
/// completed with an error, ...
pub fn copy_from_reader<R: Read + ?Sized>(
    source: &mut R,
    writer: &mut PipeWriter,
) -> io::Result<u64> {
    let mut total = 0;
    loop {
        if writer.is_reader_completed() {
            return reader_left(writer, total);
        }
        // A hint of 1: the rest of the current chunk first, whole chunks after it (a larger
        // hint would abandon chunk tails, and with them ring slots).
        let mem = writer.get_memory_blocking(1)?;
        let n = loop {
            match source.read(mem) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Ok(total);
        }
        writer.advance(n);
        total += n as u64;
        if !flushed(writer.flush_blocking()?)? {
            return Ok(total);
        }
    }
}

/// Whether a copy goes on after this flush: not once the reader has completed; a canceled
/// flush is `Interrupted`.
pub(crate) fn flushed(f: FlushResult) -> io::Result<bool> {
    if f.is_canceled() {
        return Err(flush_canceled());
    }
    Ok(!f.is_completed())
}

/// A copy into a pipe whose reader has gone: `Ok(total)`, or the reader's error.
pub(crate) fn reader_left(writer: &mut PipeWriter, total: u64) -> io::Result<u64> {
    match writer.try_flush() {
        Err(e) => Err(e.into()),
        Ok(_) => Ok(total),
    }
}

/// [`copy_from_reader`], then completes the writer: without an error at the source's end, or
/// with (a copy of) the source's error, which the pipe's reader gets as
/// [`ReadError::WriterFailed`](crate::ReadError::WriterFailed) and, through the I/O traits,
/// as an `io::Error` of the same kind. This is the feeding loop of .NET's
/// `PipeReader.Create(stream)`; [`pipe_from_reader`] runs it on a thread of its own.
///
/// # Errors
/// As [`copy_from_reader`].
pub fn fill_from_reader<R: Read>(mut source: R, mut writer: PipeWriter) -> io::Result<u64> {
    let r = copy_from_reader(&mut source, &mut writer);
    complete_writer(&mut writer, &r);
    r
}

/// Completes a feeding loop's writer as its outcome says.
pub(crate) fn complete_writer(writer: &mut PipeWriter, outcome: &io::Result<u64>) {
    match outcome {
        Ok(_) => writer.complete(),
        Err(e) => writer.complete_with_error(for_peer(e)),
    }
}

/// A pipe fed from `source` by a thread of its own ([`fill_from_reader`]); .NET's
/// `PipeReader.Create(stream)`. The thread ends at the source's end or error (completing the
/// writer), or once the reader has completed (after its next read of the source); join it for
/// what [`fill_from_reader`] returned.
///
/// ```
/// use std::io::Read;
///
/// let (mut reader, feeder) = ringpipe::pipe_from_reader(&b"hello, pipe"[..], Default::default());
/// let mut text = String::new();
/// reader.read_to_string(&mut text).unwrap();
/// assert_eq!(text, "hello, pipe");
/// assert_eq!(feeder.join().unwrap().unwrap(), 11);
/// ```
pub fn pipe_from_reader<R: Read + Send + 'static>(
    source: R,
    options: PipeOptions,
) -> (PipeReader, JoinHandle<io::Result<u64>>) {
    let (writer, reader) = crate::pipe::pipe(options);
    let feeder = thread::spawn(move || fill_from_reader(source, writer));
    (reader, feeder)
}

/// Writes what the pipe holds into `sink` until the pipe's writer completes, straight from the
/// read's chunks (`write_vectored`, up to [`MAX_IO_SLICES`] at a time), consuming what was
/// written, and flushing the sink after each read's bytes. Returns the bytes copied (.NET
/// `PipeReader.CopyToAsync(Stream)`). Does not complete the reader; see [`drain_to_writer`].
///
/// What the sink took is consumed even when the sink then fails (as .NET advances before
/// rethrowing), so the reader can go on from there.
///
/// # Errors
/// The sink's errors (`WriteZero` if it takes nothing); the reader's as `io::Error`s:
/// `Interrupted` for a canceled read, the writer's error if it completed with one, ...
pub fn copy_to_writer<W: Write + ?Sized>(reader: &mut PipeReader, sink: &mut W) -> io::Result<u64> {
    let mut total = 0;
    loop {
        let (pos, outcome, end) = {
            let res = reader.read_blocking()?;
            let data = res.buffer();
            if data.is_empty() {
                if res.is_completed() {
                    break;
                }
                return Err(read_canceled());
            }
            let (written, outcome) = write_sequence(sink, data);
            total += written as u64;
            (data.position(written), outcome, res.is_completed())
        };
        reader.advance_to(pos, pos).map_err(io_advance)?;
        outcome?;
        sink.flush()?;
        if end {
            break;
        }
    }
    Ok(total)
}

/// An advance the adapters make from a read's own positions cannot be refused; if it were,
/// it would be a bug, reported rather than hidden.
pub(crate) fn io_advance(e: crate::error::AdvanceError) -> io::Error {
    io::Error::other(e)
}

/// Writes all of `data` with `write_vectored`; returns how much was written, and the error
/// that stopped it if one did.
fn write_sequence<W: Write + ?Sized>(sink: &mut W, data: Sequence<'_>) -> (usize, io::Result<()>) {
    let mut off = 0;
    while off < data.len() {
        match with_io_slices::<MAX_IO_SLICES, _>(data.slice(off..), |s| sink.write_vectored(s)) {
            Ok(0) => return (off, Err(write_zero())),
            Ok(n) => off += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return (off, Err(e)),
        }
    }
    (off, Ok(()))
}

/// Calls `write` once with the first `N` (at most) chunks of `data` as `IoSlice`s, built on
/// the stack, and returns what it returned: one vectored write over a read's chunks, for the
/// drains here (`N` = [`MAX_IO_SLICES`]) and the socket transports' send loops.
pub(crate) fn with_io_slices<const N: usize, R>(
    data: Sequence<'_>,
    write: impl FnOnce(&[IoSlice<'_>]) -> R,
) -> R {
    let mut slices = [IoSlice::new(&[]); N];
    let mut count = 0;
    for (slot, chunk) in slices.iter_mut().zip(data.chunks()) {
        *slot = IoSlice::new(chunk);
        count += 1;
    }
    write(&slices[..count])
}

/// A sink that took nothing of a non-empty write.
pub(crate) fn write_zero() -> io::Error {
    io::Error::new(
        ErrorKind::WriteZero,
        "the sink took none of the pipe's bytes",
    )
}

/// [`copy_to_writer`], then completes the reader: without an error at the pipe's end, or with
/// (a copy of) the sink's error, which the pipe's writer gets as
/// [`WriteError::ReaderFailed`](crate::WriteError::ReaderFailed) (`BrokenPipe` through the
/// I/O traits). The draining loop of .NET's `PipeWriter.Create(stream)`;
/// [`pipe_to_writer`] runs it on a thread of its own.
///
/// # Errors
/// As [`copy_to_writer`].
pub fn drain_to_writer<W: Write>(mut reader: PipeReader, mut sink: W) -> io::Result<u64> {
    let r = copy_to_writer(&mut reader, &mut sink);
    match &r {
        Ok(_) => reader.complete(),
        Err(e) => reader.complete_with_error(for_peer(e)),
    }
    r
}

/// A pipe drained into `sink` by a thread of its own ([`drain_to_writer`]); .NET's
/// `PipeWriter.Create(stream)`. The thread ends once the writer has completed and everything
/// was written (or at the sink's error); join it for what [`drain_to_writer`] returned.
///
/// ```
/// let (mut writer, drain) = ringpipe::pipe_to_writer(std::io::sink(), Default::default());
/// writer.write_all_blocking(b"to a sink").unwrap();
/// drop(writer); // completes it: the drain ends
/// assert_eq!(drain.join().unwrap().unwrap(), 9);
/// ```
pub fn pipe_to_writer<W: Write + Send + 'static>(
    sink: W,
    options: PipeOptions,
) -> (PipeWriter, JoinHandle<io::Result<u64>>) {
    let (writer, reader) = crate::pipe::pipe(options);
    let drain = thread::spawn(move || drain_to_writer(reader, sink));
    (writer, drain)
}

/// Copies what `reader` holds into `writer` until `reader`'s writer completes, chunk by chunk
/// (one copy, as it must: two pipes do not share memory), flushing `writer` after each read
/// (so its backpressure holds the copy back). Returns the bytes copied (.NET
/// `PipeReader.CopyToAsync(PipeWriter)`). Completes neither; stops early, with `Ok`, when
/// `writer`'s reader has completed. Cancel-safe in the sense of the pipe's futures: dropping it
/// loses no byte that was not consumed, but the bytes copied by the read in progress are in
/// `writer` and not yet consumed from `reader`.
///
/// # Errors
/// Either pipe's errors as `io::Error`s; a canceled read or flush is `Interrupted`.
pub async fn copy_to(reader: &mut PipeReader, writer: &mut PipeWriter) -> io::Result<u64> {
    let mut total = 0;
    loop {
        if writer.is_reader_completed() {
            return reader_left(writer, total);
        }
        let (pos, outcome, end) = {
            let res = reader.read().await?;
            let data = res.buffer();
            if data.is_empty() {
                if res.is_completed() {
                    return Ok(total);
                }
                return Err(read_canceled());
            }
            let mut written = 0;
            let mut outcome = Ok(true);
            for chunk in data.chunks() {
                match writer.write_all(chunk).await {
                    Ok(f) => {
                        written += f.written();
                        outcome = flushed(f);
                    }
                    Err(e) => outcome = Err(e.into()),
                }
                if !matches!(outcome, Ok(true)) {
                    break;
                }
            }
            total += written as u64;
            (data.position(written), outcome, res.is_completed())
        };
        reader.advance_to(pos, pos).map_err(io_advance)?;
        if !outcome? {
            return reader_left(writer, total);
        }
        if end {
            return Ok(total);
        }
    }
}

/// As [`copy_to`], parking the thread while it waits.
///
/// # Errors
/// As [`copy_to`].
pub fn copy_to_blocking(reader: &mut PipeReader, writer: &mut PipeWriter) -> io::Result<u64> {
    block_on(copy_to(reader, writer))
}
