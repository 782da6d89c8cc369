//! The line protocol: one request per line, one reply line per request.
//!
//! | request | reply |
//! |---|---|
//! | `echo <text>` | `<text>` (`echo` alone: an empty line) |
//! | `upper <text>` | `<text>` in ASCII upper case |
//! | `count` | the number of lines this connection has sent, this one included |
//! | `quit` | `bye`, then the server closes the connection |
//! | an empty line | `ERR empty line` |
//! | anything else | `ERR unknown command '<word>'` |
//! | a line over [`MAX_LINE`] bytes | `ERR line too long (max 1024 bytes)`, then the server closes |
//!
//! Lines end in `\n`; a `\r` before it is dropped. Command words are case-sensitive. The reply
//! quotes a client's word with every byte that is not printable ASCII shown as `?`.

/// The longest line, without its `\n` (and `\r`).
pub const MAX_LINE: usize = 1024;

/// The reply to a line over [`MAX_LINE`], after which the connection closes.
pub const TOO_LONG: &str = "ERR line too long (max 1024 bytes)";

/// At most this many bytes of an unknown command word are quoted back.
const QUOTED_MAX: usize = 64;

/// What the connection does after a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Go on reading lines.
    Continue,
    /// Send the replies so far, then close.
    Close,
}

/// One connection's state: how many lines it has sent.
#[derive(Debug, Default)]
pub struct Session {
    lines: u64,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Answers `line` (without `\n` and `\r`), appending the reply line to `out`.
    pub fn handle(&mut self, line: &[u8], out: &mut Vec<u8>) -> Next {
        self.lines += 1;
        let (word, rest) = match line.iter().position(|&b| b == b' ') {
            Some(space) => (&line[..space], Some(&line[space + 1..])),
            None => (line, None),
        };
        let mut next = Next::Continue;
        match (word, rest) {
            (b"echo", text) => out.extend_from_slice(text.unwrap_or_default()),
            (b"upper", text) => {
                out.extend(text.unwrap_or_default().iter().map(u8::to_ascii_uppercase))
            }
            (b"count", None) => out.extend_from_slice(self.lines.to_string().as_bytes()),
            (b"quit", None) => {
                out.extend_from_slice(b"bye");
                next = Next::Close;
            }
            (b"", None) => out.extend_from_slice(b"ERR empty line"),
            _ => {
                out.extend_from_slice(b"ERR unknown command '");
                out.extend(word.iter().take(QUOTED_MAX).map(|&b| {
                    if b.is_ascii_graphic() {
                        b
                    } else {
                        b'?'
                    }
                }));
                out.push(b'\'');
            }
        }
        out.push(b'\n');
        next
    }
}
