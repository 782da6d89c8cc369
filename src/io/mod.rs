//! Reading and writing structured data over a pipe: a cursor for parsers over a multi-chunk
//! [`Sequence`](crate::Sequence) ([`sequence_reader`], .NET's `SequenceReader<byte>`), and
//! framing ([`framing`]: length-prefixed frames and delimited lines, with a read loop and a
//! frame writer); and the pipe among Rust's I/O: duplex ends ([`duplex`], .NET's
//! `IDuplexPipe`), the standard I/O traits ([`std_io`]; tokio's in [`tokio_io`] and
//! futures-io's in [`futures_io`], each behind the feature of its crate), bytes' `Buf` and
//! `BufMut` ([`bytes_buf`], feature `bytes`), the pipe's errors as `io::Error`s ([`error`]),
//! and stream adapters ([`adapters_std`], [`adapters_tokio`]: a pipe fed from a reader, drained
//! into a writer, copied into another pipe), and socket transports ([`transport`]: a socket's
//! bytes to and from a duplex end, Kestrel's socket transport). tokio-util's
//! `LengthDelimitedCodec` works over a duplex end as over any `AsyncRead + AsyncWrite`
//! (tests/io_tokio.rs), and [`framing`]'s length prefixes take its options.

pub(crate) mod adapters_std;
#[cfg(feature = "tokio")]
pub(crate) mod adapters_tokio;
#[cfg(feature = "bytes")]
pub(crate) mod bytes_buf;
pub(crate) mod duplex;
pub(crate) mod error;
pub(crate) mod framing;
#[cfg(feature = "futures-io")]
pub(crate) mod futures_io;
pub(crate) mod message;
pub(crate) mod sequence_reader;
pub(crate) mod std_io;
#[cfg(feature = "tokio")]
pub(crate) mod tokio_io;
pub(crate) mod transport;

pub use framing::{
    Frame, FrameDecoder, FrameError, FrameFormatError, FrameGuard, FrameReader, FrameWriter,
    LengthDelimited, LengthDelimitedBuilder, LineDecoder, DEFAULT_MAX_FRAME_LENGTH,
    DEFAULT_MAX_LINE_LENGTH,
};
pub use message::{
    message_format, message_pipe_options, MessageReader, MessageWriter, DEFAULT_MAX_MESSAGE,
};
pub use sequence_reader::SequenceReader;

pub use adapters_std::{
    copy_from_reader, copy_to, copy_to_blocking, copy_to_writer, drain_to_writer, fill_from_reader,
    pipe_from_reader, pipe_to_writer, MAX_IO_SLICES,
};
#[cfg(feature = "tokio")]
pub use adapters_tokio::{
    copy_from_async_read, copy_to_async_write, drain_to_async_write, fill_from_async_read,
};
#[cfg(feature = "bytes")]
pub use bytes_buf::{read_buf, read_buf_blocking, SequenceBuf, WriterBufMut};
pub use duplex::{duplex, duplex_pair, DuplexEnd};
#[cfg(target_os = "linux")]
pub use transport::blocking::{BlockingSocket, BlockingTransport};
#[cfg(feature = "tokio")]
pub use transport::tokio::SocketTransport;
pub use transport::{
    TransportOptions, TransportStats, TRANSPORT_CHUNK_SIZE, TRANSPORT_MAX_IO_SLICES,
    TRANSPORT_PAUSE_THRESHOLD,
};
