//! Framing: cutting a byte stream into messages, the code Kestrel-style protocol handlers write
//! by hand over .NET's pipes (.NET has nothing built in).
//!
//! * [`length`]: length-prefixed frames ([`LengthDelimited`], the format, and its decoder;
//!   [`FrameWriter`] and [`FrameGuard`], the writing side).
//! * [`lines`]: delimited lines with a maximum length ([`LineDecoder`]).
//! * [`reader`]: [`FrameReader`], the read loop over a [`PipeReader`](crate::PipeReader) for any
//!   [`FrameDecoder`].
//!
//! Here: the error every part reports ([`FrameError`]) and the decoder trait.
//!
//! The decoders never allocate and never copy: a frame is a [`Sequence`] borrowed from the
//! pipe, so a length prefix claiming `u64::MAX` bytes costs a comparison, not an allocation.
//! They never panic on any input, and every call does work bounded by the bytes it is given
//! (a line decoder remembers how far it searched, so a long line arriving a byte at a time is
//! not searched again from its start).

pub(crate) mod length;
pub(crate) mod lines;
pub(crate) mod reader;

use crate::error::{AdvanceError, ReadError, WriteError};
use crate::pipe::sequence::{Position, Sequence};
use core::fmt;
use std::error::Error;

pub use length::{
    FrameFormatError, FrameGuard, FrameWriter, LengthDelimited, LengthDelimitedBuilder,
    DEFAULT_MAX_FRAME_LENGTH,
};
pub use lines::{LineDecoder, DEFAULT_MAX_LINE_LENGTH};
pub use reader::FrameReader;

/// What a framing call could not do.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FrameError {
    /// A frame's length is over the maximum (the format's
    /// [`max_frame_length`](LengthDelimitedBuilder::max_frame_length), what its length field
    /// can say, or what the pipe can hold whole, whichever is least).
    FrameTooLarge {
        /// The frame's body length (for a decoded prefix: the length field plus the
        /// adjustment, saturated at `u64::MAX`).
        length: u64,
        /// The largest body length allowed.
        max: u64,
    },
    /// A length prefix says less than the format allows: with a length that counts its own
    /// prefix (a negative [`length_adjustment`](LengthDelimitedBuilder::length_adjustment)),
    /// a length field smaller than the prefix; when writing, a body shorter than a positive
    /// adjustment.
    LengthTooSmall {
        /// The length field as decoded (when writing: the body length).
        length: u64,
        /// The smallest value allowed.
        min: u64,
    },
    /// The writer completed in the middle of a frame: `pending` bytes of an incomplete frame
    /// (or of a line without its delimiter, when the line decoder requires one) are left.
    UnexpectedEof {
        /// The bytes of the incomplete frame.
        pending: usize,
    },
    /// No line delimiter within the first `max + delimiter` bytes.
    LineTooLong {
        /// The maximum line length (without the delimiter).
        max: usize,
    },
    /// The read was canceled by
    /// [`PipeCanceller::cancel_pending_read`](crate::PipeCanceller::cancel_pending_read) before
    /// a whole frame arrived. Not final: the next call goes on where this one stopped.
    Canceled,
    /// The pipe's reader failed.
    Read(ReadError),
    /// The pipe's writer failed.
    Write(WriteError),
    /// The pipe refused an advance (only if the reader was used behind the frame reader's
    /// back, for instance completed through [`FrameReader::get_mut`]).
    Advance(AdvanceError),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::FrameTooLarge { length, max } => {
                write!(
                    f,
                    "frame of {length} bytes is over the maximum of {max} bytes"
                )
            }
            FrameError::LengthTooSmall { length, min } => write!(
                f,
                "frame length {length} is smaller than the format allows (at least {min})"
            ),
            FrameError::UnexpectedEof { pending } => write!(
                f,
                "the writer completed in the middle of a frame ({pending} bytes of it left)"
            ),
            FrameError::LineTooLong { max } => {
                write!(
                    f,
                    "no line delimiter within the maximum line length of {max} bytes"
                )
            }
            FrameError::Canceled => {
                f.write_str("the read was canceled before a whole frame arrived")
            }
            FrameError::Read(e) => write!(f, "reading frames failed: {e}"),
            FrameError::Write(e) => write!(f, "writing a frame failed: {e}"),
            FrameError::Advance(e) => write!(f, "advancing past a frame failed: {e}"),
        }
    }
}

impl Error for FrameError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FrameError::Read(e) => Some(e),
            FrameError::Write(e) => Some(e),
            FrameError::Advance(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ReadError> for FrameError {
    fn from(e: ReadError) -> FrameError {
        FrameError::Read(e)
    }
}

impl From<WriteError> for FrameError {
    fn from(e: WriteError) -> FrameError {
        FrameError::Write(e)
    }
}

impl From<AdvanceError> for FrameError {
    fn from(e: AdvanceError) -> FrameError {
        FrameError::Advance(e)
    }
}

/// A decoded frame: its bytes (without prefix or delimiter), and the position just past it,
/// to consume up to.
pub type Frame<'a> = (Sequence<'a>, Position);

/// Cuts the first whole frame off a buffer. [`FrameReader`] drives one over a pipe;
/// [`LengthDelimited`] and [`LineDecoder`] are the two here.
///
/// A decoder looks only at the buffer it is given: it returns the first frame in it and the
/// position after that frame, `Ok(None)` when the buffer holds no whole frame yet (the caller
/// consumes nothing, examines everything, and reads again), or an error when the bytes cannot
/// be a frame. It must not allocate in proportion to what the bytes claim, must not panic on
/// any input, and must do work bounded by the buffer's length.
pub trait FrameDecoder {
    /// The first whole frame in `buf`, if there is one.
    ///
    /// # Errors
    /// When the bytes cannot start a valid frame ([`FrameError::FrameTooLarge`],
    /// [`FrameError::LengthTooSmall`], [`FrameError::LineTooLong`], ...).
    fn decode<'a>(&mut self, buf: Sequence<'a>) -> Result<Option<Frame<'a>>, FrameError>;

    /// As [`decode`](Self::decode), for the last bytes there will ever be (the writer has
    /// completed). By default: a whole frame as `decode` finds it, `Ok(None)` for an empty
    /// buffer, and [`FrameError::UnexpectedEof`] for the rest of an incomplete frame.
    ///
    /// # Errors
    /// As [`decode`](Self::decode), and [`FrameError::UnexpectedEof`].
    fn decode_eof<'a>(&mut self, buf: Sequence<'a>) -> Result<Option<Frame<'a>>, FrameError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(FrameError::UnexpectedEof { pending: buf.len() }),
        }
    }

    /// Lowers the decoder's maximum frame so that a whole frame, with its prefix or
    /// delimiter, fits in `capacity` bytes: a frame reader over a pipe calls it with the
    /// pipe's capacity, since a frame larger than that could never be read whole (the read
    /// would end in [`ReadError::WouldDeadlock`]). The default does nothing.
    fn fit_capacity(&mut self, capacity: usize) {
        let _ = capacity;
    }
}
