//! The `BufReader`/`BufWriter` server: tokio's buffered halves of the `TcpStream` (8 KiB
//! each, tokio's default), the same parser over each `fill_buf` slice ([`SliceCursor`]).
//!
//! A `BufReader` cannot keep bytes while it reads more, so a request cut at the end of its
//! buffer is copied into a `Vec` (`pending`), which then collects the following reads until it
//! holds no incomplete request; whole requests are parsed in place otherwise. The replies of a
//! read are encoded into a `Vec` and written into the `BufWriter`, which is flushed once per
//! read.

use crate::commands::{execute, Outcome, Store};
use crate::cursor::SliceCursor;
use crate::parser::Parser;
use crate::reply::Replies;
use crate::LINGER;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Replies above this many bytes are written to the `BufWriter` before the next request is
/// executed, so a client that pipelines without reading meets backpressure.
const REPLIES_LIMIT: usize = 256 << 10;

/// Parses and executes every whole request at the start of `bytes`, encoding the replies into
/// `replies`; returns how many bytes the whole requests took, and whether to close (`QUIT` or
/// a protocol error, whose reply is in `replies`).
fn run_requests(
    parser: &mut Parser,
    store: &Store,
    bytes: &[u8],
    replies: &mut Vec<u8>,
) -> (usize, bool) {
    let mut cursor = SliceCursor::new(bytes);
    loop {
        let start = cursor;
        match parser.parse(&mut cursor) {
            Ok(Some(shape)) => {
                if execute(store, &shape, start, replies) == Outcome::Close {
                    return (bytes.len() - cursor.rest().len(), true);
                }
                if replies.len() > REPLIES_LIMIT {
                    // Stop here: the caller writes the replies and comes back.
                    return (bytes.len() - cursor.rest().len(), false);
                }
            }
            Ok(None) => return (bytes.len() - cursor.rest().len(), false),
            Err(e) => {
                replies.error(&format!("ERR {e}"));
                return (bytes.len() - cursor.rest().len(), true);
            }
        }
    }
}

/// Runs the whole requests at the start of `bytes`, writing their replies into `writer`
/// whenever they pass [`REPLIES_LIMIT`] (the rest stay in `replies`); returns how many bytes
/// they took, and whether to close.
async fn process(
    parser: &mut Parser,
    store: &Store,
    bytes: &[u8],
    replies: &mut Vec<u8>,
    writer: &mut BufWriter<OwnedWriteHalf>,
) -> io::Result<(usize, bool)> {
    let mut at = 0;
    loop {
        let (used, close) = run_requests(parser, store, &bytes[at..], replies);
        at += used;
        if close || replies.len() <= REPLIES_LIMIT {
            return Ok((at, close));
        }
        writer.write_all(replies).await?;
        replies.clear();
    }
}

/// Serves one connection until the client quits, closes, or breaks the protocol.
pub async fn serve(socket: TcpStream, store: Arc<Store>) -> io::Result<()> {
    let (read, write) = socket.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    let mut parser = Parser::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut replies: Vec<u8> = Vec::new();
    loop {
        let buffered = reader.fill_buf().await?;
        if buffered.is_empty() {
            break; // the client closed its side
        }
        let taken = buffered.len();
        let close = if pending.is_empty() {
            // Whole requests in place; an incomplete one at the end goes to `pending`.
            let (used, close) =
                process(&mut parser, &store, buffered, &mut replies, &mut writer).await?;
            if !close {
                pending.extend_from_slice(&buffered[used..]);
            }
            close
        } else {
            pending.extend_from_slice(buffered);
            let (used, close) =
                process(&mut parser, &store, &pending, &mut replies, &mut writer).await?;
            pending.drain(..used);
            close
        };
        reader.consume(taken);
        writer.write_all(&replies).await?;
        replies.clear();
        writer.flush().await?;
        if close {
            break;
        }
    }
    writer.shutdown().await?;
    linger(&mut reader).await;
    Ok(())
}

/// After the write side is shut down, reads and discards what the client still sends, for a
/// while (see [`LINGER`]): closing a socket with unread bytes resets the connection, and a
/// reset can destroy the last replies before the client reads them.
async fn linger(reader: &mut BufReader<OwnedReadHalf>) {
    let discard = async {
        loop {
            match reader.fill_buf().await {
                Ok([]) | Err(_) => return,
                Ok(bytes) => {
                    let n = bytes.len();
                    reader.consume(n);
                }
            }
        }
    };
    // Timing out is the end of the linger, not an error.
    let _ = tokio::time::timeout(LINGER, discard).await;
}
