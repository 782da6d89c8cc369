//! The ringpipe server: a connection goes through ringpipe's `SocketTransport`, which reads the
//! socket straight into the receive pipe and writes the send pipe with vectored writes. The
//! protocol code never touches the socket: it walks the read's multi-chunk `Sequence` with a
//! `SequenceReader` and parses every whole request in place (a request inside the current
//! chunk over that chunk's slice, one that straddles chunks over the `SequenceReader`; no copy
//! either way: arguments are slices of a chunk or sub-sequences), encodes the replies straight
//! into the send pipe's memory (`try_get_memory`), consumes up to the last whole request,
//! examines everything (so an incomplete request waits for more bytes without spinning), and
//! flushes once per read.

use crate::commands::{execute, Outcome, Store};
use crate::cursor::SliceCursor;
use crate::linger::linger;
use crate::parser::{Parser, ProtocolError, Shape, MAX_REQUEST_LEN};
use crate::reply::{ByteSink, Replies};
use crate::LINGER;
use ringpipe::{
    PipeOptions, PipeReader, PipeWriter, SequenceReader, SocketTransport, TransportOptions,
};
use std::io;
use std::sync::Arc;
use tokio::net::TcpStream;

/// Replies that did not fit in the send pipe wait in a `Vec`; past this many bytes the
/// connection stops executing requests until they are written (the client must read).
const OVERFLOW_LIMIT: usize = 256 << 10;

/// Encoded replies go into the send pipe's memory; when the pipe is full (a client that
/// pipelines faster than it reads, or a large value), the rest goes to `overflow`, written
/// with backpressure before anything else.
struct PipeSink<'a> {
    output: &'a mut PipeWriter,
    overflow: &'a mut Vec<u8>,
}

impl ByteSink for PipeSink<'_> {
    fn put(&mut self, mut bytes: &[u8]) {
        if !self.overflow.is_empty() {
            self.overflow.extend_from_slice(bytes);
            return;
        }
        while !bytes.is_empty() {
            let Ok(memory) = self.output.try_get_memory(1) else {
                // Full: the order of the replies is kept by sending everything after this
                // through the overflow.
                self.overflow.extend_from_slice(bytes);
                return;
            };
            let n = memory.len().min(bytes.len());
            memory[..n].copy_from_slice(&bytes[..n]);
            self.output.advance(n);
            bytes = &bytes[n..];
        }
    }
}

/// The transport's options: the receive pipe holds the largest request the parser accepts
/// (requests are parsed in place, so one must fit whole); everything else is the default
/// (16 KiB chunks from the shared pool, so memory follows the data; backpressure from 64 KiB
/// unexamined; the adaptive spin before a wait parks).
fn transport_options() -> TransportOptions {
    let receive = PipeOptions::builder()
        .capacity(MAX_REQUEST_LEN + (64 << 10))
        .build()
        .expect("valid receive pipe options");
    TransportOptions::new().receive(receive)
}

/// Where a parsed request starts: in the reader's current chunk, or somewhere it straddles
/// chunks.
pub enum At<'a> {
    Chunk(SliceCursor<'a>),
    Sequence(SequenceReader<'a>),
}

/// The next whole request at `reader`, moving `reader` past it.
///
/// A request that lies in the reader's current chunk (.NET's `UnreadSpan`; nearly every
/// request of a pipeline, with 16 KiB chunks) is parsed over that chunk as a slice, which
/// costs less per byte than stepping a `SequenceReader`; one that straddles chunks is parsed
/// over the `SequenceReader`, the parser going on from where the chunk ended. Both borrow the
/// pipe's memory: nothing is copied either way.
pub fn next_request<'a>(
    parser: &mut Parser,
    reader: &mut SequenceReader<'a>,
) -> Result<Option<(Shape, At<'a>)>, ProtocolError> {
    let chunk = SliceCursor::new(reader.unread_chunk());
    let mut in_chunk = chunk;
    match parser.parse(&mut in_chunk)? {
        Some(shape) => {
            reader.advance(shape.len());
            return Ok(Some((shape, At::Chunk(chunk))));
        }
        // The chunk holds everything there is: the request is incomplete.
        None if chunk.rest().len() == reader.remaining() => return Ok(None),
        None => {}
    }
    let start = *reader;
    Ok(parser
        .parse(reader)?
        .map(|shape| (shape, At::Sequence(start))))
}

/// Serves one connection until the client quits, closes, or breaks the protocol. The
/// transport and the protocol code run in this one task (`join!`), so a read batch costs no
/// hand-off between tasks: the pipes wake this task's own waker.
pub async fn serve(socket: TcpStream, store: Arc<Store>) -> io::Result<()> {
    let (end, transport) = SocketTransport::new(socket, transport_options());
    let (input, output) = end.into_parts();
    let (moved, served) = tokio::join!(transport, protocol(input, output, store));
    served?;
    moved?;
    Ok(())
}

/// The protocol side of a connection: parse, execute, reply, until the end.
async fn protocol(
    mut input: PipeReader,
    mut output: PipeWriter,
    store: Arc<Store>,
) -> io::Result<()> {
    let mut parser = Parser::new();
    let mut overflow = Vec::new();
    let mut close = false;
    while !close {
        let result = input.read().await?;
        let buffer = result.buffer();
        let mut reader = SequenceReader::new(buffer);
        loop {
            let mut sink = PipeSink {
                output: &mut output,
                overflow: &mut overflow,
            };
            let outcome = match next_request(&mut parser, &mut reader) {
                Ok(Some((shape, At::Chunk(start)))) => execute(&store, &shape, start, &mut sink),
                Ok(Some((shape, At::Sequence(start)))) => execute(&store, &shape, start, &mut sink),
                Ok(None) => break,
                Err(e) => {
                    sink.error(&format!("ERR {e}"));
                    Outcome::Close
                }
            };
            if outcome == Outcome::Close {
                close = true;
                break;
            }
            if overflow.len() > OVERFLOW_LIMIT {
                output.write_all(&overflow).await?;
                overflow.clear();
            }
        }
        // Consumed: up to the last whole request. Examined: everything, so an incomplete
        // request's next read waits for more bytes.
        let (consumed, examined) = (reader.position(), buffer.end());
        let completed = result.is_completed();
        input
            .advance_to(consumed, examined)
            .map_err(io::Error::other)?;
        if overflow.is_empty() {
            output.flush().await?;
        } else {
            output.write_all(&overflow).await?;
            overflow.clear();
        }
        if completed {
            break;
        }
    }
    // Completing the output shuts the socket's write side down once the replies are sent;
    // dropping the input tells the transport to stop reading.
    output.complete();
    if close {
        linger(&mut input, LINGER).await;
    }
    Ok(())
}
