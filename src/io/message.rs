//! Message mode (.NET `PipeTransmissionMode.Message`, which .NET refuses on Linux): message
//! boundaries kept over any byte stream a pipe carries: a socket, an OS pipe, a duplex end.
//!
//! On the wire each message is a 4-byte little-endian length and the message's bytes
//! ([`message_format`]); any length-prefix codec with those settings (tokio-util's
//! `LengthDelimitedCodec` with `length_field_length(4)` and `little_endian()`) speaks it.
//!
//! [`MessageWriter`] sends one message per [`send`](MessageWriter::send) (and per `write`
//! call of its `Write` impl, as in .NET), refusing a message over the maximum before any of it
//! is written. [`MessageReader`] gives messages back two ways:
//! * whole, as a [`Sequence`](crate::Sequence) in pipe memory
//!   ([`read_message`](MessageReader::read_message)), for a pipe large enough to hold one;
//! * in parts, through `std::io::Read` into a buffer of any size: each `read` returns bytes
//!   of one message only, and [`is_message_complete`](MessageReader::is_message_complete)
//!   says whether the last `read` delivered that message's end (.NET's `IsMessageComplete`).
//!   Nothing is truncated or dropped. An empty message has no bytes to return, so `Read`
//!   skips it (`Ok(0)` stays the end of the stream); `read_message` returns it.
//!
//! From a hostile sender, a length over the maximum is an `InvalidData` error before anything
//! is allocated or waited for, and a stream that ends inside a message is `UnexpectedEof`.

use super::framing::{FrameError, FrameReader, FrameWriter, LengthDelimited};
use crate::pipe::options::PipeOptions;
use crate::pipe::reader::PipeReader;
use crate::pipe::sequence::Sequence;
use crate::pipe::wait::block_on;
use crate::pipe::writer::PipeWriter;
use crate::protocol::FlushResult;
use std::io::{self, ErrorKind, Read, Write};

/// The default largest message: 64 MiB (`SOCK_SEQPACKET` stops near 208 KiB).
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

/// The bytes of a message's length prefix.
const PREFIX: usize = 4;

/// The wire format of message mode: a 4-byte little-endian length before each message, at
/// most `max` bytes (clamped to what 4 bytes can say).
pub fn message_format(max: usize) -> LengthDelimited {
    LengthDelimited::builder()
        .length_field_length(PREFIX)
        .little_endian()
        .max_frame_length(max.min(u32::MAX as usize))
        .build()
        .expect("ringpipe: a 4-byte little-endian length prefix is a valid format")
}

/// Options for a pipe that carries messages of up to `max` bytes to a reader that wants them
/// whole: `base` with its capacity raised, if needed, to hold the largest message and its
/// prefix (chunks are pooled, so an idle large pipe holds no memory).
pub fn message_pipe_options(base: &PipeOptions, max: usize) -> PipeOptions {
    let need = max.saturating_add(PREFIX);
    if base.capacity() >= need {
        return base.clone();
    }
    PipeOptions::builder()
        .capacity(need)
        .chunk_size(base.chunk_size())
        .pause_writer_threshold(base.pause_writer_threshold())
        .resume_writer_threshold(base.resume_writer_threshold())
        .pool(base.pool().clone())
        .spin_before_park(base.spin_before_park())
        .spin_wait(base.spin_wait())
        .wake_fences(base.wake_fences())
        .build()
        .unwrap_or_else(|_| base.clone())
}

/// Sends messages into a pipe (see the crate docs' [Message mode](crate#message-mode)).
#[derive(Debug)]
pub struct MessageWriter {
    frames: FrameWriter,
}

impl MessageWriter {
    /// Messages of up to `max` bytes into `writer`.
    pub fn new(writer: PipeWriter, max: usize) -> MessageWriter {
        MessageWriter {
            frames: FrameWriter::streaming(writer, message_format(max)),
        }
    }

    /// The largest message this writer sends.
    pub fn max_message(&self) -> u64 {
        self.frames.max_frame_length()
    }

    /// Sends `message` whole and flushes (waiting while backpressure holds; a message larger
    /// than the pipe goes through it in pieces).
    ///
    /// # Errors
    /// `InvalidInput` for a message over the maximum (nothing is sent); the pipe's errors as
    /// `io::Error`s (`BrokenPipe` once the other side is gone).
    pub async fn send(&mut self, message: &[u8]) -> io::Result<FlushResult> {
        let r = self.frames.write_frame(message).await;
        sent(r)
    }

    /// As [`send`](Self::send), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_blocking(&mut self, message: &[u8]) -> io::Result<FlushResult> {
        block_on(self.send(message))
    }

    /// The pipe's writer (to complete it, or to look at it).
    pub fn get_mut(&mut self) -> &mut PipeWriter {
        self.frames.get_mut()
    }

    /// The pipe's writer back.
    pub fn into_inner(self) -> PipeWriter {
        self.frames.into_inner()
    }
}

/// A send's outcome as `io::Result`: a reader gone is `BrokenPipe`.
fn sent(r: Result<FlushResult, FrameError>) -> io::Result<FlushResult> {
    match r {
        Ok(f) if f.is_completed() => Err(io::Error::new(
            ErrorKind::BrokenPipe,
            "the reader of the messages has completed",
        )),
        Ok(f) => Ok(f),
        Err(FrameError::FrameTooLarge { length, max }) => Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!("a message of {length} bytes is over the maximum of {max}; nothing was sent"),
        )),
        Err(FrameError::Write(e)) => Err(e.into()),
        Err(e) => Err(io::Error::other(e)),
    }
}

/// Each `write` is one message (.NET's message mode): it sends all of `buf` or fails.
impl Write for MessageWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_blocking(buf).map(|_| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match block_on(self.frames.flush()) {
            Ok(_) => Ok(()),
            Err(FrameError::Write(e)) => Err(e.into()),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

/// Receives messages from a pipe, whole or in parts (see the crate docs'
/// [Message mode](crate#message-mode)).
#[derive(Debug)]
pub struct MessageReader {
    frames: FrameReader<LengthDelimited>,
    max: usize,
    /// Bytes of the current message not yet returned by `Read` (`None`: between messages).
    left: Option<u64>,
    /// Whether the last `read` returned the end of a message.
    complete: bool,
}

impl MessageReader {
    /// Messages of up to `max` bytes from `reader`. Whole messages
    /// ([`read_message`](Self::read_message)) must fit in the pipe: make it with
    /// [`message_pipe_options`]; reading in parts works with any pipe.
    pub fn new(reader: PipeReader, max: usize) -> MessageReader {
        let max = max.min(u32::MAX as usize);
        // The frame reader lowers its maximum to what the pipe holds; the parts reader checks
        // against `max` itself, so a message larger than the pipe can still be read in parts.
        MessageReader {
            frames: FrameReader::new(reader, message_format(max)),
            max,
            left: None,
            complete: false,
        }
    }

    /// Whether the last [`read`](Read::read) returned the last bytes of a message (.NET's
    /// `IsMessageComplete`); `false` while a message is partly read.
    pub fn is_message_complete(&self) -> bool {
        self.complete
    }

    /// Waits for the next whole message and returns `f(message)`, the message a
    /// [`Sequence`] in pipe memory; `Ok(None)` at the end of the stream (between messages).
    ///
    /// # Errors
    /// `InvalidData` for a length over the maximum (or over what the pipe holds whole);
    /// `UnexpectedEof` if the stream ends inside a message; `InvalidInput` if a message is
    /// partly read through `Read`; the pipe's errors.
    pub async fn read_message<R, F>(&mut self, f: F) -> io::Result<Option<R>>
    where
        F: FnOnce(Sequence<'_>) -> R,
    {
        if self.left.is_some() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "a message is partly read through Read; read the rest of it first",
            ));
        }
        self.frames.read_frame(f).await.map_err(received)
    }

    /// As [`read_message`](Self::read_message), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`read_message`](Self::read_message).
    pub fn read_message_blocking<R, F>(&mut self, f: F) -> io::Result<Option<R>>
    where
        F: FnOnce(Sequence<'_>) -> R,
    {
        block_on(self.read_message(f))
    }

    /// The pipe's reader.
    pub fn get_mut(&mut self) -> &mut PipeReader {
        self.frames.get_mut()
    }

    /// The length of the next message, waiting for its prefix; `None` at the end of the
    /// stream.
    fn next_length(&mut self) -> io::Result<Option<u64>> {
        let max = self.max;
        let reader = self.frames.get_mut();
        loop {
            let res = reader.read_blocking()?;
            let data = res.buffer();
            if data.len() >= PREFIX {
                let mut prefix = [0u8; PREFIX];
                data.slice(..PREFIX).copy_to_slice(&mut prefix);
                let len = u64::from(u32::from_le_bytes(prefix));
                if len > max as u64 {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("the sender announced a message of {len} bytes, over the maximum of {max}"),
                    ));
                }
                let after = data.position(PREFIX);
                reader.advance_to(after, after).map_err(io::Error::other)?;
                return Ok(Some(len));
            }
            let (start, end, done) = (data.start(), data.end(), res.is_completed());
            if done {
                if data.is_empty() {
                    return Ok(None);
                }
                return Err(eof_inside(data.len()));
            }
            // Part of a prefix: wait for more.
            reader.advance_to(start, end).map_err(io::Error::other)?;
        }
    }
}

/// A stream that ended inside a message.
fn eof_inside(pending: usize) -> io::Error {
    io::Error::new(
        ErrorKind::UnexpectedEof,
        format!("the stream ended inside a message ({pending} bytes of it arrived)"),
    )
}

/// A receive's error as an `io::Error` of the kind the module docs give.
fn received(e: FrameError) -> io::Error {
    match e {
        FrameError::FrameTooLarge { length, max } => io::Error::new(
            ErrorKind::InvalidData,
            format!("the sender announced a message of {length} bytes, over the maximum of {max}"),
        ),
        FrameError::UnexpectedEof { pending } => eof_inside(pending),
        FrameError::Canceled => io::Error::new(ErrorKind::Interrupted, "the read was canceled"),
        FrameError::Read(e) => e.into(),
        e => io::Error::other(e),
    }
}

/// Reads messages in parts: each call returns bytes of one message only (see the module docs).
impl Read for MessageReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let left = loop {
            match self.left {
                Some(n) => break n,
                None => match self.next_length()? {
                    None => return Ok(0),
                    // An empty message: nothing to return; on to the next.
                    Some(0) => self.complete = true,
                    Some(n) => self.left = Some(n),
                },
            }
        };
        let reader = self.frames.get_mut();
        let res = reader.read_blocking()?;
        let data = res.buffer();
        if data.is_empty() {
            let done = res.is_completed();
            return Err(if done {
                eof_inside(0)
            } else {
                io::Error::new(ErrorKind::Interrupted, "the read was canceled")
            });
        }
        let n = (data.len() as u64).min(left).min(buf.len() as u64) as usize;
        let mut at = 0;
        for chunk in data.slice(..n).chunks() {
            buf[at..at + chunk.len()].copy_from_slice(chunk);
            at += chunk.len();
        }
        let to = data.position(n);
        reader.advance_to(to, to).map_err(io::Error::other)?;
        let left = left - n as u64;
        self.left = (left > 0).then_some(left);
        self.complete = left == 0;
        Ok(n)
    }
}
