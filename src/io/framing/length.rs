//! Length-prefixed frames: the format ([`LengthDelimited`]), its decoder, and the writing side
//! ([`FrameWriter`], [`FrameGuard`]).
//!
//! The options are tokio-util's `LengthDelimitedCodec` concepts under the same names:
//! `length_field_length` (1 to 8 bytes), big or little endian, `length_adjustment` (added to
//! the length field to get the body length: `-(prefix width)` for a length that counts its own
//! prefix, which [`length_includes_prefix`](LengthDelimitedBuilder::length_includes_prefix)
//! sets for you) and `max_frame_length`. With tokio-util's `length_field_offset` 0 and
//! `num_skip` equal to the prefix width (its defaults), the same settings read and write the
//! same bytes, so interop with it is a matter of configuration. Two differences: our
//! `max_frame_length` bounds the body (the length after the adjustment) on both sides, where
//! tokio-util's decoder compares it with the length field before the adjustment; and the
//! default maximum here is 8 MiB, as tokio-util's.

use super::{Frame, FrameDecoder, FrameError};
use crate::error::WriteError;
use crate::io::sequence_reader::SequenceReader;
use crate::pipe::sequence::Sequence;
use crate::pipe::wait::block_on;
use crate::pipe::writer::PipeWriter;
use crate::protocol::FlushResult;
use core::fmt;

/// The default [`max_frame_length`](LengthDelimitedBuilder::max_frame_length): 8 MiB, as
/// tokio-util's `LengthDelimitedCodec`.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 8 << 20;

/// Frames whose whole (prefix and body) is at most this many bytes are written with one grant
/// of pipe memory even when that means starting a fresh chunk (wasting at most this much of
/// the old one); larger ones are copied into whatever memory comes, prefix first.
const ONE_GRANT_MAX: usize = 1024;

/// A length-prefixed frame format: a length field of 1 to 8 bytes, big or little endian,
/// then the body. Build one with [`LengthDelimited::builder`]; [`LengthDelimited::new`] (and
/// `Default`) is a 4-byte big-endian length that does not count itself, with bodies of at most
/// [`DEFAULT_MAX_FRAME_LENGTH`] bytes.
///
/// It decodes ([`decode`](Self::decode), [`decode_from`](Self::decode_from), or as the
/// [`FrameDecoder`] of a [`FrameReader`](crate::FrameReader)) and encodes (through a
/// [`FrameWriter`]). Decoding never allocates and never copies the body: a prefix claiming
/// `u64::MAX` bytes is an error after one comparison.
///
/// ```
/// use ringpipe::{FrameError, LengthDelimited};
///
/// // A 2-byte little-endian length that counts its own two bytes.
/// let format = LengthDelimited::builder()
///     .length_field_length(2)
///     .little_endian()
///     .length_includes_prefix(true)
///     .build()
///     .unwrap();
/// let (mut writer, mut reader) = ringpipe::pipe(Default::default());
/// writer.write_all_blocking(b"\x05\x00abc\x09\x00").unwrap();
/// let result = reader.try_read().unwrap().unwrap();
/// let buf = result.buffer();
/// let (frame, next) = format.decode(buf).unwrap().unwrap();
/// assert_eq!(frame.to_vec(), b"abc");
/// // The second frame is incomplete: consume the first, examine all, read again later.
/// assert!(format.decode(buf.slice_from(next)).unwrap().is_none());
/// let examined = buf.end();
/// reader.advance_to(next, examined).unwrap();
///
/// // A prefix claiming more than the maximum is an error, not an allocation.
/// let (mut writer, mut reader) = ringpipe::pipe(Default::default());
/// writer.write_all_blocking(&[0xff; 8]).unwrap();
/// let result = reader.try_read().unwrap().unwrap();
/// let format = LengthDelimited::builder().length_field_length(8).build().unwrap();
/// assert!(matches!(
///     format.decode(result.buffer()),
///     Err(FrameError::FrameTooLarge { length: u64::MAX, .. })
/// ));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthDelimited {
    field_len: usize,
    big_endian: bool,
    /// Added to the length field to get the body length (the prefix's width already
    /// subtracted when the length includes the prefix).
    adjustment: i64,
    max_frame_length: usize,
}

impl Default for LengthDelimited {
    fn default() -> LengthDelimited {
        LengthDelimited::new()
    }
}

/// Builds a [`LengthDelimited`] format; see its docs for the defaults.
#[derive(Clone, Copy, Debug)]
pub struct LengthDelimitedBuilder {
    field_len: usize,
    big_endian: bool,
    adjustment: i64,
    includes_prefix: bool,
    max_frame_length: usize,
}

/// A [`LengthDelimitedBuilder`] setting that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameFormatError {
    /// The length field must be 1 to 8 bytes wide.
    LengthFieldLength(usize),
}

impl fmt::Display for FrameFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameFormatError::LengthFieldLength(n) => {
                write!(f, "length_field_length must be 1 to 8 bytes, not {n}")
            }
        }
    }
}

impl std::error::Error for FrameFormatError {}

impl LengthDelimitedBuilder {
    /// The length field's width in bytes, 1 to 8 (default 4; tokio-util's
    /// `length_field_length`).
    pub fn length_field_length(mut self, bytes: usize) -> Self {
        self.field_len = bytes;
        self
    }

    /// The length field is big-endian, network byte order (the default).
    pub fn big_endian(mut self) -> Self {
        self.big_endian = true;
        self
    }

    /// The length field is little-endian.
    pub fn little_endian(mut self) -> Self {
        self.big_endian = false;
        self
    }

    /// Added to the length field to get the body length (default 0; tokio-util's
    /// `length_adjustment`). Negative when the field counts more than the body (its own
    /// prefix, a trailer); positive when it counts less.
    pub fn length_adjustment(mut self, adjustment: i64) -> Self {
        self.adjustment = adjustment;
        self
    }

    /// Whether the length counts its own prefix (default `false`). `true` is tokio-util's
    /// `length_adjustment(-(length_field_length))`, and adds to any adjustment set with
    /// [`length_adjustment`](Self::length_adjustment).
    pub fn length_includes_prefix(mut self, yes: bool) -> Self {
        self.includes_prefix = yes;
        self
    }

    /// The largest body, in bytes (default [`DEFAULT_MAX_FRAME_LENGTH`]). Longer frames are
    /// [`FrameError::FrameTooLarge`] on both sides.
    pub fn max_frame_length(mut self, bytes: usize) -> Self {
        self.max_frame_length = bytes;
        self
    }

    /// The format.
    ///
    /// # Errors
    /// [`FrameFormatError::LengthFieldLength`] unless the length field is 1 to 8 bytes.
    pub fn build(self) -> Result<LengthDelimited, FrameFormatError> {
        if !(1..=8).contains(&self.field_len) {
            return Err(FrameFormatError::LengthFieldLength(self.field_len));
        }
        let prefix = if self.includes_prefix {
            self.field_len as i64
        } else {
            0
        };
        Ok(LengthDelimited {
            field_len: self.field_len,
            big_endian: self.big_endian,
            adjustment: self.adjustment.saturating_sub(prefix),
            max_frame_length: self.max_frame_length,
        })
    }
}

impl LengthDelimited {
    /// A 4-byte big-endian length that does not count itself, bodies of at most
    /// [`DEFAULT_MAX_FRAME_LENGTH`] bytes.
    pub const fn new() -> LengthDelimited {
        LengthDelimited {
            field_len: 4,
            big_endian: true,
            adjustment: 0,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
        }
    }

    /// A builder starting from [`new`](Self::new)'s settings.
    pub fn builder() -> LengthDelimitedBuilder {
        LengthDelimitedBuilder {
            field_len: 4,
            big_endian: true,
            adjustment: 0,
            includes_prefix: false,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
        }
    }

    /// The prefix's width in bytes.
    pub fn prefix_len(&self) -> usize {
        self.field_len
    }

    /// Whether the length field is big-endian.
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// What is added to the length field to get the body length, in tokio-util's terms
    /// (`-(prefix width)` included when the length counts its prefix).
    pub fn length_adjustment(&self) -> i64 {
        self.adjustment
    }

    /// The largest body length this format accepts: the configured maximum, or what the
    /// length field can say, whichever is less.
    pub fn max_frame_length(&self) -> u64 {
        let field_max = u64::MAX >> (64 - 8 * self.field_len as u32);
        let by_field = (i128::from(field_max) + i128::from(self.adjustment)).max(0);
        (self.max_frame_length as u64).min(u64::try_from(by_field).unwrap_or(u64::MAX))
    }

    /// The first whole frame in `buf` and the position after it; `Ok(None)` if `buf` does not
    /// hold a whole frame yet. The frame is borrowed from `buf`.
    ///
    /// # Errors
    /// [`FrameError::FrameTooLarge`] or [`FrameError::LengthTooSmall`] as soon as the prefix
    /// is there and says so.
    pub fn decode<'a>(&self, buf: Sequence<'a>) -> Result<Option<Frame<'a>>, FrameError> {
        let mut r = SequenceReader::new(buf);
        Ok(self.decode_from(&mut r)?.map(|frame| (frame, r.position())))
    }

    /// The frame at `reader`'s position, advancing the reader past it; on `Ok(None)` (no whole
    /// frame yet) and on errors the reader does not move. For a buffer of several frames:
    ///
    /// ```
    /// # let (mut writer, mut reader) = ringpipe::pipe(Default::default());
    /// # writer.write_all_blocking(b"\0\0\0\x01a\0\0\0\x02bc\0\0").unwrap();
    /// # let result = reader.try_read().unwrap().unwrap();
    /// let format = ringpipe::LengthDelimited::new();
    /// let mut r = ringpipe::SequenceReader::new(result.buffer());
    /// let mut frames = Vec::new();
    /// while let Some(frame) = format.decode_from(&mut r).unwrap() {
    ///     frames.push(frame.to_vec());
    /// }
    /// assert_eq!(frames, [&b"a"[..], b"bc"]);
    /// assert_eq!(r.remaining(), 2); // half a prefix: consume up to r.position()
    /// ```
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn decode_from<'a>(
        &self,
        reader: &mut SequenceReader<'a>,
    ) -> Result<Option<Sequence<'a>>, FrameError> {
        let field = if self.big_endian {
            reader.peek_uint_be(self.field_len)
        } else {
            reader.peek_uint_le(self.field_len)
        };
        let Some(field) = field else {
            return Ok(None);
        };
        let body = i128::from(field) + i128::from(self.adjustment);
        if body < 0 {
            return Err(FrameError::LengthTooSmall {
                length: field,
                min: self.adjustment.unsigned_abs(),
            });
        }
        let body = u64::try_from(body).unwrap_or(u64::MAX);
        let max = self.max_frame_length();
        if body > max {
            return Err(FrameError::FrameTooLarge { length: body, max });
        }
        // `body <= max_frame_length`, a usize.
        let body = body as usize;
        if reader.remaining() - self.field_len < body {
            return Ok(None);
        }
        reader.advance(self.field_len);
        Ok(reader.read_bytes(body))
    }

    /// The prefix of a `body_len`-byte body (in the first `prefix_len()` bytes), checked
    /// against `max` (the body length allowed) and the field's range.
    fn encode_prefix(&self, body_len: usize, max: u64) -> Result<[u8; 8], FrameError> {
        if body_len as u64 > max {
            return Err(FrameError::FrameTooLarge {
                length: body_len as u64,
                max,
            });
        }
        let field = body_len as i128 - i128::from(self.adjustment);
        if field < 0 {
            return Err(FrameError::LengthTooSmall {
                length: body_len as u64,
                min: self.adjustment.unsigned_abs(),
            });
        }
        // `body_len <= max_frame_length()`, so the field fits in `field_len` bytes.
        let field = field as u64;
        let mut out = [0; 8];
        if self.big_endian {
            out[..self.field_len].copy_from_slice(&field.to_be_bytes()[8 - self.field_len..]);
        } else {
            out[..self.field_len].copy_from_slice(&field.to_le_bytes()[..self.field_len]);
        }
        Ok(out)
    }
}

impl FrameDecoder for LengthDelimited {
    fn decode<'a>(&mut self, buf: Sequence<'a>) -> Result<Option<Frame<'a>>, FrameError> {
        LengthDelimited::decode(self, buf)
    }

    fn fit_capacity(&mut self, capacity: usize) {
        self.max_frame_length = self
            .max_frame_length
            .min(capacity.saturating_sub(self.field_len));
    }
}

/// Writes length-prefixed frames into a pipe: [`write_frame`](Self::write_frame) for a body
/// you have, [`begin_frame`](Self::begin_frame) to build the body in pipe memory and have the
/// prefix filled in when you [`finish`](FrameGuard::finish).
///
/// A frame must fit in the pipe whole (a [`FrameReader`](crate::FrameReader) hands it out as
/// one [`Sequence`]), so the largest body is the format's maximum or the pipe's capacity minus
/// the prefix, whichever is less ([`max_frame_length`](Self::max_frame_length)).
///
/// ```
/// use ringpipe::{FrameReader, FrameWriter, LengthDelimited, PipeOptions};
///
/// let opts = PipeOptions::builder().chunk_size(64).build().unwrap();
/// let (writer, reader) = ringpipe::pipe(opts);
/// let mut frames = FrameWriter::new(writer, LengthDelimited::new());
/// frames.write_frame_blocking(b"first").unwrap();
/// let mut guard = frames.begin_frame_blocking(32).unwrap(); // body written in place
/// guard.body()[..6].copy_from_slice(b"second");
/// guard.finish(6).unwrap(); // fills in the prefix, then advances past prefix and body
/// frames.flush_blocking().unwrap();
/// drop(frames); // completes the writer
///
/// let mut reader = FrameReader::new(reader, LengthDelimited::new());
/// let mut got = Vec::new();
/// while let Some(frame) = reader.read_frame_blocking(|frame| frame.to_vec()).unwrap() {
///     got.push(frame);
/// }
/// assert_eq!(got, [&b"first"[..], b"second"]);
/// ```
#[derive(Debug)]
pub struct FrameWriter {
    writer: PipeWriter,
    format: LengthDelimited,
    /// Whether a frame must fit in the pipe whole (its reader reads frames from it), or
    /// only the format limits it (the pipe's reader forwards bytes: a socket transport).
    whole_in_pipe: bool,
}

impl FrameWriter {
    /// Frames `format` into `writer`, for a [`FrameReader`](crate::FrameReader) on the same
    /// pipe: frames are limited to what the pipe holds whole, since a larger one could never
    /// be read.
    pub fn new(writer: PipeWriter, format: LengthDelimited) -> FrameWriter {
        FrameWriter {
            writer,
            format,
            whole_in_pipe: true,
        }
    }

    /// Frames `format` into `writer` when the pipe's reader forwards the bytes rather than
    /// reading frames from this pipe (a socket transport's send pipe, a stream adapter): a
    /// frame larger than the pipe goes through it in pieces, so only the format's maximum
    /// limits it.
    pub fn streaming(writer: PipeWriter, format: LengthDelimited) -> FrameWriter {
        FrameWriter {
            writer,
            format,
            whole_in_pipe: false,
        }
    }

    /// The format.
    pub fn format(&self) -> &LengthDelimited {
        &self.format
    }

    /// The pipe's writer.
    pub fn get_ref(&self) -> &PipeWriter {
        &self.writer
    }

    /// The pipe's writer, to write around the frames (what you write there is not framed).
    pub fn get_mut(&mut self) -> &mut PipeWriter {
        &mut self.writer
    }

    /// The pipe's writer back.
    pub fn into_inner(self) -> PipeWriter {
        self.writer
    }

    /// The largest body this writer writes: the format's
    /// [`max_frame_length`](LengthDelimited::max_frame_length), and for a writer made by
    /// [`new`](Self::new) no more than the pipe's capacity minus the prefix.
    pub fn max_frame_length(&self) -> u64 {
        if !self.whole_in_pipe {
            return self.format.max_frame_length();
        }
        let by_pipe = self.writer.capacity().saturating_sub(self.format.field_len) as u64;
        self.format.max_frame_length().min(by_pipe)
    }

    /// Writes `body` as one frame and flushes (waiting while backpressure holds). A small frame
    /// goes in with one grant of pipe memory (body, then prefix, then one advance); a larger one
    /// is copied across chunks, prefix first (its length is known), committing and waiting for
    /// room as it goes, as [`PipeWriter::write_all`] does.
    ///
    /// If the reader has completed, returns [`FlushResult::is_completed`] (the bytes are
    /// dropped). A [`cancel_pending_flush`](crate::PipeCanceller::cancel_pending_flush) while
    /// it waits for room before the frame starts returns
    /// `FrameError::Write(WriteError::Canceled)` and writes nothing; one that ends a wait in the
    /// middle of a large body, or in the final flush, returns a canceled [`FlushResult`] whose
    /// [`written`](FlushResult::written) counts the body bytes in the pipe: unless that is the
    /// whole body, the stream now ends in a partial frame. Dropping the future part-way leaves
    /// a partial frame the same way.
    ///
    /// # Errors
    /// [`FrameError::FrameTooLarge`] or [`FrameError::LengthTooSmall`] (nothing written), or
    /// [`FrameError::Write`] with the pipe's error.
    pub async fn write_frame(&mut self, body: &[u8]) -> Result<FlushResult, FrameError> {
        let prefix = self
            .format
            .encode_prefix(body.len(), self.max_frame_length())?;
        let p = self.format.field_len;
        let total = p + body.len();
        let one_grant = total <= self.writer.max_memory()
            && (total <= ONE_GRANT_MAX || total <= self.writer.granted_memory().len());
        if one_grant {
            let mem = self.writer.get_memory(total).await?;
            mem[p..total].copy_from_slice(body);
            mem[..p].copy_from_slice(&prefix[..p]);
            self.writer.advance(total);
            return Ok(self.writer.flush().await?);
        }
        self.put_prefix(&prefix[..p]).await?;
        Ok(self.writer.write_all(body).await?)
    }

    /// As [`write_frame`](Self::write_frame), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`write_frame`](Self::write_frame).
    pub fn write_frame_blocking(&mut self, body: &[u8]) -> Result<FlushResult, FrameError> {
        block_on(self.write_frame(body))
    }

    /// Puts a prefix in: with one grant when it fits in one (so a cancel leaves no half
    /// prefix), else (chunks smaller than the prefix) in pieces, committing before each wait.
    async fn put_prefix(&mut self, prefix: &[u8]) -> Result<(), WriteError> {
        if prefix.len() <= self.writer.max_memory() {
            let mem = self.writer.get_memory(prefix.len()).await?;
            mem[..prefix.len()].copy_from_slice(prefix);
            self.writer.advance(prefix.len());
            return Ok(());
        }
        let mut rest = prefix;
        while !rest.is_empty() {
            let mem = match self.writer.try_get_memory(1) {
                Ok(mem) => mem,
                Err(WriteError::Full { .. }) => {
                    // Let the reader see what there is before waiting for it to make room.
                    self.writer.commit();
                    self.writer.get_memory(1).await?
                }
                Err(e) => return Err(e),
            };
            let n = mem.len().min(rest.len());
            mem[..n].copy_from_slice(&rest[..n]);
            self.writer.advance(n);
            rest = &rest[n..];
        }
        Ok(())
    }

    /// Checks `max_len` and the size hint a frame of up to `max_len` bytes needs.
    fn frame_hint(&self, max_len: usize) -> Result<usize, FrameError> {
        let max = self.max_frame_length().min(
            self.writer
                .max_memory()
                .saturating_sub(self.format.field_len) as u64,
        );
        if max_len as u64 > max {
            return Err(FrameError::FrameTooLarge {
                length: max_len as u64,
                max,
            });
        }
        Ok(self.format.field_len + max_len)
    }

    fn guard(&mut self, max_len: usize) -> FrameGuard<'_> {
        let p = self.format.field_len;
        let granted = self.writer.granted_memory().len();
        let cap = (granted - p).min(self.max_frame_length() as usize);
        debug_assert!(cap >= max_len);
        FrameGuard {
            writer: &mut self.writer,
            format: self.format,
            capacity: cap,
        }
    }

    /// Reserves pipe memory for a frame of up to `max_len` bytes, waiting for room: write the
    /// body into [`FrameGuard::body`], then [`finish`](FrameGuard::finish) with its length.
    /// The body is one contiguous piece of pipe memory, so `max_len` plus the prefix must fit
    /// in [`PipeWriter::max_memory`] (the chunk size). Nothing is visible to the reader until
    /// `finish` and a commit or flush; dropping the guard abandons the frame.
    ///
    /// # Errors
    /// [`FrameError::FrameTooLarge`] if `max_len` is over the maximum or the prefix and
    /// `max_len` do not fit in one piece of pipe memory; [`FrameError::Write`] as
    /// [`PipeWriter::get_memory`].
    pub async fn begin_frame(&mut self, max_len: usize) -> Result<FrameGuard<'_>, FrameError> {
        let hint = self.frame_hint(max_len)?;
        self.writer.get_memory(hint).await?;
        Ok(self.guard(max_len))
    }

    /// As [`begin_frame`](Self::begin_frame), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`begin_frame`](Self::begin_frame).
    pub fn begin_frame_blocking(&mut self, max_len: usize) -> Result<FrameGuard<'_>, FrameError> {
        let hint = self.frame_hint(max_len)?;
        self.writer.get_memory_blocking(hint)?;
        Ok(self.guard(max_len))
    }

    /// As [`begin_frame`](Self::begin_frame), without waiting.
    ///
    /// # Errors
    /// As [`begin_frame`](Self::begin_frame), and `FrameError::Write(WriteError::Full)` if the
    /// pipe has no room now.
    pub fn try_begin_frame(&mut self, max_len: usize) -> Result<FrameGuard<'_>, FrameError> {
        let hint = self.frame_hint(max_len)?;
        self.writer.try_get_memory(hint)?;
        Ok(self.guard(max_len))
    }

    /// [`PipeWriter::flush`]: publishes the frames written, then waits while backpressure
    /// holds.
    ///
    /// # Errors
    /// As [`PipeWriter::flush`].
    pub async fn flush(&mut self) -> Result<FlushResult, FrameError> {
        Ok(self.writer.flush().await?)
    }

    /// [`PipeWriter::flush_blocking`].
    ///
    /// # Errors
    /// As [`PipeWriter::flush`].
    pub fn flush_blocking(&mut self) -> Result<FlushResult, FrameError> {
        Ok(self.writer.flush_blocking()?)
    }
}

/// A frame being built in pipe memory, from [`FrameWriter::begin_frame`]: the prefix's bytes
/// are reserved in front of [`body`](Self::body), and [`finish`](Self::finish) fills them in
/// and advances past prefix and body at once. Dropping the guard without `finish` abandons the
/// frame: nothing is advanced.
#[derive(Debug)]
pub struct FrameGuard<'w> {
    writer: &'w mut PipeWriter,
    format: LengthDelimited,
    capacity: usize,
}

impl FrameGuard<'_> {
    /// The reserved body memory: at least the `max_len` asked for (more if the pipe handed out
    /// more, up to the frame maximum).
    pub fn body(&mut self) -> &mut [u8] {
        let p = self.format.field_len;
        &mut self.writer.granted_memory()[p..p + self.capacity]
    }

    /// The length of [`body`](Self::body).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Ends the frame with the first `len` bytes of [`body`](Self::body): writes the prefix
    /// and advances past prefix and body. Commit or flush (for instance
    /// [`FrameWriter::flush`]) to publish it.
    ///
    /// # Errors
    /// [`FrameError::LengthTooSmall`] if `len` is below what the format can say (a positive
    /// [`length_adjustment`](LengthDelimitedBuilder::length_adjustment)); nothing is advanced.
    ///
    /// # Panics
    /// If `len > capacity()`.
    pub fn finish(self, len: usize) -> Result<(), FrameError> {
        assert!(
            len <= self.capacity,
            "ringpipe: FrameGuard::finish({len}) past the {} bytes of body reserved",
            self.capacity
        );
        let p = self.format.field_len;
        let prefix = self.format.encode_prefix(len, u64::MAX)?;
        self.writer.granted_memory()[..p].copy_from_slice(&prefix[..p]);
        self.writer.advance(p + len);
        Ok(())
    }
}
