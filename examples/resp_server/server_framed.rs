//! The tokio-util `Framed` server: a RESP [`Decoder`] (the same parser over the read buffer's
//! slice, each request split off the `BytesMut` and frozen, no copy) and an [`Encoder`] of
//! owned [`Reply`] values (the same encoding). A `Framed` sink takes owned items, so a
//! command's replies are collected as values first (a `GET` copies its value into one) and
//! then fed to the sink; it is flushed when no whole request is left in the read buffer.

use crate::commands::{execute, Outcome, Store};
use crate::cursor::SliceCursor;
use crate::parser::{Parser, ProtocolError, Shape};
use crate::reply::Replies;
use crate::LINGER;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::io;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder, Framed};

/// One whole request, split off the read buffer.
#[derive(Debug)]
pub struct Request {
    frame: Bytes,
    shape: Shape,
}

/// A reply as an owned value, for the sink.
#[derive(Debug)]
pub enum Reply {
    Simple(&'static str),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    Null,
    Array(usize),
}

/// Collecting the replies of a command.
impl Replies for Vec<Reply> {
    fn simple(&mut self, text: &'static str) {
        self.push(Reply::Simple(text));
    }
    fn error(&mut self, message: &str) {
        self.push(Reply::Error(message.to_owned()));
    }
    fn integer(&mut self, n: i64) {
        self.push(Reply::Integer(n));
    }
    fn bulk(&mut self, bytes: &[u8]) {
        self.push(Reply::Bulk(bytes.to_vec()));
    }
    fn null(&mut self) {
        self.push(Reply::Null);
    }
    fn array(&mut self, len: usize) {
        self.push(Reply::Array(len));
    }
}

/// What the decoder can fail with.
#[derive(Debug)]
pub enum CodecError {
    Protocol(ProtocolError),
    Io(io::Error),
}

impl From<io::Error> for CodecError {
    fn from(e: io::Error) -> CodecError {
        CodecError::Io(e)
    }
}

/// The RESP codec: requests in, replies out.
#[derive(Debug, Default)]
pub struct RespCodec {
    parser: Parser,
}

impl Decoder for RespCodec {
    type Item = Request;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Request>, CodecError> {
        let mut cursor = SliceCursor::new(src);
        match self.parser.parse(&mut cursor) {
            Ok(Some(shape)) => Ok(Some(Request {
                frame: src.split_to(shape.len()).freeze(),
                shape,
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(CodecError::Protocol(e)),
        }
    }

    /// A client that closes in the middle of a request just goes away (the default would make
    /// the leftover bytes an error).
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Request>, CodecError> {
        self.decode(src)
    }
}

impl Encoder<Reply> for RespCodec {
    type Error = io::Error;

    fn encode(&mut self, reply: Reply, dst: &mut BytesMut) -> io::Result<()> {
        match reply {
            Reply::Simple(text) => dst.simple(text),
            Reply::Error(message) => dst.error(&message),
            Reply::Integer(n) => dst.integer(n),
            Reply::Bulk(bytes) => dst.bulk(&bytes),
            Reply::Null => dst.null(),
            Reply::Array(len) => dst.array(len),
        }
        Ok(())
    }
}

/// Serves one connection until the client quits, closes, or breaks the protocol.
pub async fn serve(socket: TcpStream, store: Arc<Store>) -> io::Result<()> {
    let mut framed = Framed::new(socket, RespCodec::default());
    let mut replies: Vec<Reply> = Vec::new();
    loop {
        // A whole request already buffered is taken at once; otherwise the replies so far go
        // out before waiting for the socket (one flush per read batch).
        let next = match framed.next().now_or_never() {
            Some(next) => next,
            None => {
                framed.flush().await?;
                framed.next().await
            }
        };
        let request = match next {
            None => break,
            Some(Ok(request)) => request,
            Some(Err(CodecError::Protocol(e))) => {
                framed.feed(Reply::Error(format!("ERR {e}"))).await?;
                break;
            }
            Some(Err(CodecError::Io(e))) => return Err(e),
        };
        let start = SliceCursor::new(&request.frame);
        let outcome = execute(&store, &request.shape, start, &mut replies);
        for reply in replies.drain(..) {
            framed.feed(reply).await?;
        }
        if outcome == Outcome::Close {
            break;
        }
    }
    // Flushes, then shuts the socket's write side down.
    framed.close().await?;
    linger(framed.into_inner()).await;
    Ok(())
}

/// After the write side is shut down, reads and discards what the client still sends, for a
/// while (see [`LINGER`]): closing a socket with unread bytes resets the connection, and a
/// reset can destroy the last replies before the client reads them.
async fn linger(mut socket: TcpStream) {
    let discard = async {
        let mut buf = [0u8; 8192];
        while let Ok(1..) = socket.read(&mut buf).await {}
    };
    // Timing out is the end of the linger, not an error.
    let _ = tokio::time::timeout(LINGER, discard).await;
}
