//! Reading and writing structured data over a pipe: a cursor for parsers over a multi-chunk
//! [`Sequence`](crate::Sequence) ([`sequence_reader`], .NET's `SequenceReader<byte>`), and
//! framing ([`framing`]: length-prefixed frames and delimited lines, with a read loop and a
//! frame writer).
//!
//! Planned here as their issues add them: the I/O traits (`std::io`, `futures-io`, tokio),
//! sockets, and tokio-util `LengthDelimitedCodec` interop (the length-prefix options already
//! use its concepts, so that interop is a matter of configuration).

pub(crate) mod framing;
pub(crate) mod sequence_reader;

pub use framing::{
    Frame, FrameDecoder, FrameError, FrameFormatError, FrameGuard, FrameReader, FrameWriter,
    LengthDelimited, LengthDelimitedBuilder, LineDecoder, DEFAULT_MAX_FRAME_LENGTH,
    DEFAULT_MAX_LINE_LENGTH,
};
pub use sequence_reader::SequenceReader;
