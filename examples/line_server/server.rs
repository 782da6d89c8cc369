//! A connection of the line server: the socket goes through ringpipe's `SocketTransport`, and
//! the protocol code reads lines out of the receive pipe with a `SequenceReader`.
//!
//! Every read hands out all unconsumed bytes as a `Sequence` (often several chunks). Each whole
//! line is cut off with `read_to(b'\n')` (borrowed from the pipe; copied only if it straddles
//! chunks) and answered; then `advance_to(consumed, examined)` consumes up to the end of the
//! last whole line and examines everything, so a line still arriving stays in the pipe and the
//! next read waits for **more** bytes instead of returning the same ones again. The replies of
//! one read go out with one `write_all` (a copy into the send pipe, and a flush).

use crate::linger::linger;
use crate::protocol::{Next, Session, MAX_LINE, TOO_LONG};
use ringpipe::{SequenceReader, SocketTransport, TransportOptions};
use std::io;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long a closing connection goes on reading and discarding what the client sends, so
/// that its last replies are not lost to a reset (closing a socket with unread bytes resets
/// the connection).
const LINGER: Duration = Duration::from_secs(1);

/// Serves one connection until the client quits, closes, or sends a line over the maximum.
pub async fn serve(socket: TcpStream) -> io::Result<()> {
    let (end, transport) = SocketTransport::new(socket, TransportOptions::new());
    let transport = tokio::spawn(transport);
    let (mut input, mut output) = end.into_parts();
    let mut session = Session::new();
    let mut replies = Vec::new();
    let mut next = Next::Continue;
    while next == Next::Continue {
        let result = input.read().await?;
        let buffer = result.buffer();
        let completed = result.is_completed();
        let mut reader = SequenceReader::new(buffer);
        while next == Next::Continue {
            let Some(line) = reader.read_to(b'\n', true) else {
                break;
            };
            let line = line.to_contiguous();
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            next = if line.len() > MAX_LINE {
                too_long(&mut replies)
            } else {
                session.handle(line, &mut replies)
            };
        }
        if next == Next::Continue {
            // No `\n` in the rest: a line still arriving, unless it is already too long, or the
            // client finished without ending its last line (answered as a line).
            let pending = reader.remaining();
            if pending > MAX_LINE + 1 {
                next = too_long(&mut replies);
            } else if completed && pending > 0 {
                let last = reader.unread_sequence().to_contiguous();
                let last = last.strip_suffix(b"\r").unwrap_or(&last);
                session.handle(last, &mut replies);
                reader.advance(pending);
            }
        }
        let (consumed, examined) = (reader.position(), buffer.end());
        input
            .advance_to(consumed, examined)
            .map_err(io::Error::other)?;
        if !replies.is_empty() {
            output.write_all(&replies).await?;
            replies.clear();
        }
        if completed {
            break;
        }
    }
    // Completing the output shuts the socket's write side down once the replies are sent;
    // dropping the input stops the transport's reading.
    output.complete();
    if next == Next::Close {
        linger(&mut input, LINGER).await;
    }
    drop(input);
    transport.await.map_err(io::Error::other)??;
    Ok(())
}

fn too_long(replies: &mut Vec<u8>) -> Next {
    replies.extend_from_slice(TOO_LONG.as_bytes());
    replies.push(b'\n');
    Next::Close
}
