//! The RESP2 request parser, written once over a [`Cursor`] for the three servers.
//!
//! A request is what Redis accepts from a client:
//!
//! * a **multibulk** request, an array of bulk strings: `*<n>\r\n` then `n` times
//!   `$<len>\r\n<len bytes>\r\n` (`*0` and negative counts are empty requests: no command, no
//!   reply, as in Redis);
//! * an **inline** request (anything not starting with `*`): one line ending in `\n` (a `\r`
//!   before it is dropped), its arguments separated by spaces or tabs, as redis-benchmark's
//!   `PING_INLINE` and a human at `telnet` send them. Unlike Redis, quotes are not
//!   interpreted: `SET k "a b"` is four arguments. An empty line is an empty request.
//!
//! [`Parser::parse`] validates a whole request without copying anything and returns its
//! [`Shape`]; [`Shape::args`] then walks its arguments as borrowed views ([`Arg`]s), so a
//! command is executed straight from the buffer it arrived in (a ringpipe `Sequence`, a
//! `BufReader`'s slice, a `BytesMut`).
//!
//! Hostile input gets a [`ProtocolError`] (whose message is Redis's where Redis has one), never
//! a panic, and nothing is allocated or reserved for a claimed length: a `$999999999` header is
//! refused as soon as it is read, a request is refused as soon as its bytes pass
//! [`MAX_REQUEST_LEN`], and an inline line as soon as [`MAX_INLINE_LEN`] bytes hold no `\n`.
//! An incomplete request is remembered (how far it was validated), so a large request arriving
//! in small pieces is not parsed again from its start at every piece.
//!
//! [`Arg`]: crate::cursor::Arg

use crate::cursor::Cursor;
use std::fmt;

/// The largest bulk string (Redis's `proto-max-bulk-len` is 512 MiB; these examples keep a
/// whole request in the connection's receive buffer, so they cap it lower).
pub const MAX_BULK_LEN: usize = 8 << 20;
/// The largest request, headers included: what a connection's receive buffer must be able to
/// hold (the ringpipe server sizes its receive pipe from it).
pub const MAX_REQUEST_LEN: usize = 16 << 20;
/// The most arguments in a multibulk request (Redis's limit).
pub const MAX_ARGS: usize = 1 << 20;
/// An inline request's `\n` must come within this many bytes (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE_LEN: usize = 64 << 10;
/// The most digits in a count or a length (18 fit an `i64` whatever they are).
const MAX_DIGITS: usize = 18;
/// What separates the arguments of an inline request.
const INLINE_SPACE: &[u8] = b" \t";

/// Why a request was refused. The connection cannot be resynchronised after one: the server
/// replies with the error and closes, as Redis does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A `*` count that is not a number, or more than [`MAX_ARGS`].
    InvalidMultibulkLength,
    /// A `$` length that is not a number, negative, or more than [`MAX_BULK_LEN`].
    InvalidBulkLength,
    /// An element of a multibulk request that does not start with `$`.
    ExpectedDollar(u8),
    /// A bulk string not followed by `\r\n`.
    MissingBulkEnd,
    /// No `\n` within [`MAX_INLINE_LEN`] bytes of an inline request.
    TooBigInline,
    /// A request longer than [`MAX_REQUEST_LEN`].
    TooBigRequest,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::ExpectedDollar(b) if b.is_ascii_graphic() => {
                write!(f, "expected '$', got '{}'", char::from(*b))
            }
            ProtocolError::ExpectedDollar(b) => write!(f, "expected '$', got '\\x{b:02x}'"),
            ProtocolError::MissingBulkEnd => f.write_str("expected '\\r\\n' after a bulk string"),
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::TooBigRequest => f.write_str("too big request"),
        }
    }
}

/// A whole, valid request: how long it is and where its arguments are. It holds no reference
/// to the buffer; [`args`](Self::args) is given a cursor at the request's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    len: usize,
    argc: usize,
    body: Body,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// The arguments follow a header of this many bytes (`*<n>\r\n`).
    Multibulk { header: usize },
    /// The arguments are the words of the first `line` bytes (without `\r\n`).
    Inline { line: usize },
}

impl Shape {
    /// The request's length in bytes: consume this many.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The number of arguments, the command's name included (0: an empty request).
    pub fn argc(&self) -> usize {
        self.argc
    }

    /// The arguments, as views of the buffer; `start` is a cursor at the request's first byte
    /// (where the cursor given to [`Parser::parse`] was).
    pub fn args<C: Cursor>(&self, start: C) -> Args<C> {
        match self.body {
            Body::Multibulk { header } => {
                let mut c = start;
                let skipped = c.try_advance(header);
                debug_assert!(skipped, "a cursor at the start of a parsed request");
                Args {
                    c,
                    left: self.argc,
                    inline: false,
                }
            }
            Body::Inline { line } => Args {
                c: start.take(line.min(start.remaining())),
                left: self.argc,
                inline: true,
            },
        }
    }
}

/// The arguments of a parsed request, in order, as borrowed views ([`Cursor::Bytes`]).
#[derive(Clone, Copy, Debug)]
pub struct Args<C> {
    c: C,
    left: usize,
    inline: bool,
}

impl<C: Cursor> Iterator for Args<C> {
    type Item = C::Bytes;

    fn next(&mut self) -> Option<C::Bytes> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if self.inline {
            while self.c.peek().is_some_and(|b| INLINE_SPACE.contains(&b)) {
                self.c.read_u8();
            }
            if self.c.remaining() == 0 {
                self.left = 0;
                return None;
            }
            let n = self
                .c
                .find_within(INLINE_SPACE, usize::MAX)
                .unwrap_or(self.c.remaining());
            return self.c.read_bytes(n);
        }
        // Validated by the parser: `$<len>\r\n<bytes>\r\n`.
        self.c.read_u8()?;
        let Number::Value(len) = read_number(&mut self.c) else {
            self.left = 0;
            return None;
        };
        let bytes = self.c.read_bytes(usize::try_from(len).ok()?)?;
        self.c.try_advance(2);
        Some(bytes)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (if self.inline { 0 } else { self.left }, Some(self.left))
    }
}

/// A decimal number followed by `\r\n`, as RESP headers have.
enum Number {
    Value(i64),
    /// The buffer ends before the `\r\n`.
    Incomplete,
    /// Not a number, or more than [`MAX_DIGITS`] digits.
    Invalid,
}

/// Reads `-?[0-9]{1,18}\r\n`.
fn read_number<C: Cursor>(c: &mut C) -> Number {
    let mut value: i64 = 0;
    let mut digits = 0;
    let mut negative = false;
    loop {
        let Some(b) = c.read_u8() else {
            return Number::Incomplete;
        };
        match b {
            b'-' if digits == 0 && !negative => negative = true,
            b'0'..=b'9' if digits < MAX_DIGITS => {
                value = value * 10 + i64::from(b - b'0');
                digits += 1;
            }
            b'\r' if digits > 0 => {
                return match c.read_u8() {
                    None => Number::Incomplete,
                    Some(b'\n') => Number::Value(if negative { -value } else { value }),
                    Some(_) => Number::Invalid,
                };
            }
            _ => return Number::Invalid,
        }
    }
}

/// How far an incomplete request was validated, to go on from there when more bytes come.
#[derive(Clone, Copy, Debug, Default)]
enum Progress {
    #[default]
    Start,
    /// `parsed` of `argc` elements are whole; the next starts `offset` bytes into the request.
    Multibulk {
        argc: usize,
        header: usize,
        parsed: usize,
        offset: usize,
    },
    /// The first `searched` bytes of the line hold no `\n`.
    Inline { searched: usize },
}

/// A RESP request parser for one connection. It remembers how far it validated an incomplete
/// request, so every call after one that returned `Ok(None)` must be given a cursor at the same
/// request's start, over the same bytes and more (what every read loop does: the unconsumed
/// bytes start with that request).
#[derive(Clone, Debug, Default)]
pub struct Parser {
    progress: Progress,
}

/// What a step of the parser found.
type Step = Result<Option<Shape>, ProtocolError>;

impl Parser {
    /// A parser expecting a new request.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// The request at `c`: `Ok(Some(shape))` and `c` moved past it; `Ok(None)` if its bytes
    /// are not all there yet; or the protocol error. `c` moves only past a whole request.
    pub fn parse<C: Cursor>(&mut self, c: &mut C) -> Step {
        let start = *c;
        let step = match c.peek() {
            None => return Ok(None),
            Some(b'*') => self.multibulk(c),
            Some(_) => self.inline(c),
        };
        match step {
            Ok(None) => *c = start,
            Err(_) => {
                *c = start;
                self.progress = Progress::Start;
            }
            Ok(Some(_)) => self.progress = Progress::Start,
        }
        step
    }

    fn multibulk<C: Cursor>(&mut self, c: &mut C) -> Step {
        let (argc, header, mut parsed, mut offset) = match self.progress {
            Progress::Multibulk {
                argc,
                header,
                parsed,
                offset,
            } if c.try_advance(offset) => (argc, header, parsed, offset),
            _ => {
                let mut probe = *c;
                probe.read_u8(); // the '*'
                let n = match read_number(&mut probe) {
                    Number::Incomplete => return Ok(None),
                    Number::Invalid => return Err(ProtocolError::InvalidMultibulkLength),
                    Number::Value(n) => n,
                };
                let header = c.remaining() - probe.remaining();
                *c = probe;
                if n <= 0 {
                    return Ok(Some(Shape {
                        len: header,
                        argc: 0,
                        body: Body::Multibulk { header },
                    }));
                }
                let argc = usize::try_from(n).unwrap_or(usize::MAX);
                if argc > MAX_ARGS {
                    return Err(ProtocolError::InvalidMultibulkLength);
                }
                (argc, header, 0, header)
            }
        };
        while parsed < argc {
            let mut probe = *c;
            let incomplete = Progress::Multibulk {
                argc,
                header,
                parsed,
                offset,
            };
            match probe.read_u8() {
                None => {
                    self.progress = incomplete;
                    return Ok(None);
                }
                Some(b'$') => {}
                Some(b) => return Err(ProtocolError::ExpectedDollar(b)),
            }
            let len = match read_number(&mut probe) {
                Number::Incomplete => {
                    self.progress = incomplete;
                    return Ok(None);
                }
                Number::Invalid => return Err(ProtocolError::InvalidBulkLength),
                Number::Value(n) => match usize::try_from(n) {
                    Ok(len) if len <= MAX_BULK_LEN => len,
                    _ => return Err(ProtocolError::InvalidBulkLength),
                },
            };
            let element = (c.remaining() - probe.remaining()) + len + 2;
            if offset + element > MAX_REQUEST_LEN {
                return Err(ProtocolError::TooBigRequest);
            }
            if probe.remaining() < len + 2 {
                self.progress = incomplete;
                return Ok(None);
            }
            probe.try_advance(len);
            if probe.read_u8() != Some(b'\r') || probe.read_u8() != Some(b'\n') {
                return Err(ProtocolError::MissingBulkEnd);
            }
            *c = probe;
            offset += element;
            parsed += 1;
        }
        Ok(Some(Shape {
            len: offset,
            argc,
            body: Body::Multibulk { header },
        }))
    }

    fn inline<C: Cursor>(&mut self, c: &mut C) -> Step {
        let from = match self.progress {
            Progress::Inline { searched } if searched <= c.remaining() => searched,
            _ => 0,
        };
        let mut probe = *c;
        probe.try_advance(from);
        let Some(at) = probe.find_within(b"\n", MAX_INLINE_LEN - from) else {
            if c.remaining() >= MAX_INLINE_LEN {
                return Err(ProtocolError::TooBigInline);
            }
            self.progress = Progress::Inline {
                searched: c.remaining(),
            };
            return Ok(None);
        };
        let newline = from + at;
        let mut line = newline;
        if line > 0 {
            let mut last = *c;
            last.try_advance(line - 1);
            if last.peek() == Some(b'\r') {
                line -= 1;
            }
        }
        let words = Args {
            c: c.take(line),
            left: usize::MAX,
            inline: true,
        };
        let argc = words.count();
        c.try_advance(newline + 1);
        Ok(Some(Shape {
            len: newline + 1,
            argc,
            body: Body::Inline { line },
        }))
    }
}
