//! Properties of the parser (`cargo test --features tokio --example resp_server`): requests fed
//! through a real ringpipe in random pieces, with chunks of 1 to 16 bytes so that the
//! `Sequence`s span many chunks and the parser resumes incomplete requests at every possible
//! point, parse to what a parse of the whole buffer as one slice gives, and to the requests
//! that were encoded, both over the `SequenceReader` alone and the way the ringpipe server
//! parses (over the current chunk when a request lies in it); random garbage never panics and
//! parses the same every way.

use crate::cursor::{Arg, Cursor, SliceCursor};
use crate::parser::{Parser, ProtocolError, Shape, MAX_BULK_LEN, MAX_INLINE_LEN};
use crate::server_ringpipe::{next_request, At};
use quickcheck::{Arbitrary, Gen, QuickCheck};
use ringpipe::{PipeOptions, SequenceReader};

/// A request as the parser returns it: its arguments, copied out, or the error.
type Parsed = Result<Vec<Vec<u8>>, ProtocolError>;

/// Parses every whole request at `c`; returns `true` if it stopped at an error.
fn parse_all<C: Cursor>(parser: &mut Parser, c: &mut C, out: &mut Vec<Parsed>) -> bool {
    loop {
        let start = *c;
        match parser.parse(c) {
            Ok(Some(shape)) => {
                assert_eq!(start.remaining() - c.remaining(), shape.len());
                let args: Vec<Vec<u8>> = shape
                    .args(start)
                    .map(|a| a.contiguous().into_owned())
                    .collect();
                assert_eq!(args.len(), shape.argc());
                out.push(Ok(args));
            }
            Ok(None) => return false,
            Err(e) => {
                out.push(Err(e));
                return true;
            }
        }
    }
}

/// The requests parsed, and how many bytes of an incomplete request were left at the end
/// (`None` after an error: how much of the stream had arrived then depends on the pieces).
type Outcome = (Vec<Parsed>, Option<usize>);

/// The whole buffer as one slice.
fn parse_whole(bytes: &[u8]) -> Outcome {
    let mut out = Vec::new();
    let mut c = SliceCursor::new(bytes);
    let failed = parse_all(&mut Parser::new(), &mut c, &mut out);
    (out, (!failed).then_some(c.remaining()))
}

/// As [`parse_all`], the way the ringpipe server does it: [`next_request`] (over the current
/// chunk as a slice when the request lies in it, over the `SequenceReader` when not).
fn parse_all_as_server(
    parser: &mut Parser,
    reader: &mut SequenceReader<'_>,
    out: &mut Vec<Parsed>,
) -> bool {
    fn args<C: Cursor>(shape: &Shape, start: C) -> Vec<Vec<u8>> {
        let args: Vec<Vec<u8>> = shape
            .args(start)
            .map(|a| a.contiguous().into_owned())
            .collect();
        assert_eq!(args.len(), shape.argc());
        args
    }
    loop {
        let before = reader.remaining();
        match next_request(parser, reader) {
            Ok(Some((shape, start))) => {
                assert_eq!(before - reader.remaining(), shape.len());
                out.push(Ok(match start {
                    At::Chunk(start) => args(&shape, start),
                    At::Sequence(start) => args(&shape, start),
                }));
            }
            Ok(None) => return false,
            Err(e) => {
                out.push(Err(e));
                return true;
            }
        }
    }
}

/// Which loop [`parse_through_pipe`] parses with.
#[derive(Clone, Copy)]
enum Loop {
    /// [`parse_all`] over the `SequenceReader`: every request parsed over the sequence.
    Sequence,
    /// [`parse_all_as_server`].
    Server,
}

/// `bytes` written into a ringpipe in pieces of the given sizes (chunks of `chunk` bytes),
/// parsed after every piece as the ringpipe server parses: consumed up to the last whole
/// request, examined to the end.
fn parse_through_pipe(bytes: &[u8], pieces: &[usize], chunk: usize, how: Loop) -> Outcome {
    let options = PipeOptions::builder()
        .capacity(bytes.len().max(1))
        .chunk_size(chunk)
        .pause_writer_threshold(0)
        .build()
        .unwrap();
    let (mut writer, mut reader) = ringpipe::pipe(options);
    let mut parser = Parser::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = pieces.iter().cycle();
    loop {
        if rest.is_empty() {
            writer.complete();
        } else {
            let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
            writer.write_all_blocking(&rest[..n]).unwrap();
            rest = &rest[n..];
        }
        // There are new bytes, or the writer completed: the read returns at once.
        let result = reader.try_read().unwrap().expect("a read after a write");
        let buffer = result.buffer();
        let mut c = SequenceReader::new(buffer);
        let failed = match how {
            Loop::Sequence => parse_all(&mut parser, &mut c, &mut out),
            Loop::Server => parse_all_as_server(&mut parser, &mut c, &mut out),
        };
        let (consumed, examined) = (c.position(), buffer.end());
        let (left, completed) = (c.remaining(), result.is_completed());
        reader.advance_to(consumed, examined).unwrap();
        if failed {
            return (out, None);
        }
        if completed {
            return (out, Some(left));
        }
    }
}

/// The same bytes parsed whole, and through pipes in pieces with both loops.
fn parse_every_way(bytes: &[u8], cuts: &[u8], chunk: u8) -> [Outcome; 3] {
    let (pieces, chunk) = (piece_sizes(cuts), 1 + usize::from(chunk % 16));
    [
        parse_whole(bytes),
        parse_through_pipe(bytes, &pieces, chunk, Loop::Sequence),
        parse_through_pipe(bytes, &pieces, chunk, Loop::Server),
    ]
}

/// Random pieces sizes: mostly 1 to 7 bytes, some larger.
fn piece_sizes(cuts: &[u8]) -> Vec<usize> {
    if cuts.is_empty() {
        return vec![1];
    }
    cuts.iter()
        .map(|&c| {
            if c < 200 {
                1 + usize::from(c % 7)
            } else {
                usize::from(c)
            }
        })
        .collect()
}

/// A request as a client would send it.
#[derive(Clone, Debug)]
struct Request {
    args: Vec<Vec<u8>>,
    inline: bool,
}

impl Request {
    fn sendable_inline(&self) -> bool {
        !self.args.is_empty()
            && self
                .args
                .iter()
                .all(|a| !a.is_empty() && !a.iter().any(|b| b" \t\r\n".contains(b)))
            && self.args[0][0] != b'*'
    }

    fn encode(&self, out: &mut Vec<u8>) {
        if self.inline && self.sendable_inline() {
            out.extend(self.args.join(&b' '));
            out.extend_from_slice(b"\r\n");
            return;
        }
        out.extend(format!("*{}\r\n", self.args.len()).bytes());
        for a in &self.args {
            out.extend(format!("${}\r\n", a.len()).bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// What the parser should return for it.
    fn expected(&self) -> Vec<Vec<u8>> {
        self.args.clone()
    }
}

impl Arbitrary for Request {
    fn arbitrary(g: &mut Gen) -> Request {
        let argc = usize::arbitrary(g) % 6;
        let args = (0..argc)
            .map(|_| {
                let len = match u8::arbitrary(g) % 16 {
                    0 => 0,
                    1 => 40 + usize::arbitrary(g) % 300,
                    _ => 1 + usize::arbitrary(g) % 12,
                };
                // Mostly letters (so inline requests happen), sometimes any byte.
                let any = bool::arbitrary(g) && bool::arbitrary(g);
                (0..len)
                    .map(|_| {
                        let b = u8::arbitrary(g);
                        if any {
                            b
                        } else {
                            b'a' + b % 26
                        }
                    })
                    .collect()
            })
            .collect();
        Request {
            args,
            inline: bool::arbitrary(g),
        }
    }
}

/// At most this many requests per case, so that cases with 1-byte chunks stay quick.
const MAX_REQUESTS: usize = 24;

/// Cases per property (quickcheck's default is 100; these are cheap).
const CASES: u64 = 2000;

fn pipelined_requests_parse_the_same_in_any_pieces(
    requests: Vec<Request>,
    cuts: Vec<u8>,
    chunk: u8,
) -> bool {
    let requests = &requests[..requests.len().min(MAX_REQUESTS)];
    let mut bytes = Vec::new();
    for r in requests {
        r.encode(&mut bytes);
    }
    let expected: Vec<Parsed> = requests.iter().map(|r| Ok(r.expected())).collect();
    let expected = (expected, Some(0));
    parse_every_way(&bytes, &cuts, chunk)
        .iter()
        .all(|outcome| *outcome == expected)
}

/// Bytes biased towards RESP's own characters, so that parsing gets somewhere.
#[derive(Clone, Debug)]
struct Garbage(Vec<u8>);

impl Arbitrary for Garbage {
    fn arbitrary(g: &mut Gen) -> Garbage {
        let tokens: [&[u8]; 14] = [
            b"*",
            b"$",
            b"\r\n",
            b"\n",
            b"\r",
            b"-",
            b"-1",
            b"0",
            b"3",
            b"12",
            b"99999999999",
            b"PING",
            b" ",
            b"*1\r\n$4\r\nPING\r\n",
        ];
        let n = usize::arbitrary(g) % 80;
        let mut out = Vec::new();
        for _ in 0..n {
            if u8::arbitrary(g) % 4 == 0 {
                out.push(u8::arbitrary(g));
            } else {
                out.extend_from_slice(g.choose(&tokens).unwrap());
            }
        }
        Garbage(out)
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Garbage>> {
        Box::new(self.0.shrink().map(Garbage))
    }
}

fn garbage_never_panics_and_parses_the_same_in_any_pieces(
    garbage: Garbage,
    cuts: Vec<u8>,
    chunk: u8,
) -> bool {
    let [whole, sequence, server] = parse_every_way(&garbage.0, &cuts, chunk);
    whole == sequence && whole == server
}

fn random_bytes_never_panic(bytes: Vec<u8>, cuts: Vec<u8>, chunk: u8) -> bool {
    let [whole, sequence, server] = parse_every_way(&bytes, &cuts, chunk);
    whole == sequence && whole == server
}

#[test]
fn pipelined_requests_parse_the_same_in_any_pieces_property() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(pipelined_requests_parse_the_same_in_any_pieces as fn(_, _, _) -> bool);
}

#[test]
fn garbage_never_panics_and_parses_the_same_in_any_pieces_property() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(garbage_never_panics_and_parses_the_same_in_any_pieces as fn(_, _, _) -> bool);
}

#[test]
fn random_bytes_never_panic_property() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(random_bytes_never_panic as fn(_, _, _) -> bool);
}

#[test]
fn claimed_lengths_are_refused_before_their_bytes_come() {
    let cases: [(&[u8], ProtocolError); 6] = [
        (b"*1\r\n$999999999\r\n", ProtocolError::InvalidBulkLength),
        (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
        (b"*2000000\r\n", ProtocolError::InvalidMultibulkLength),
        (b"*1\r\n+PING\r\n", ProtocolError::ExpectedDollar(b'+')),
        (b"*1\r\n$4\r\nPINGPONG", ProtocolError::MissingBulkEnd),
        (
            b"*1234567890123456789\r\n",
            ProtocolError::InvalidMultibulkLength,
        ),
    ];
    for (bytes, error) in cases {
        assert_eq!(parse_whole(bytes).0, vec![Err(error)], "{bytes:?}");
    }
    let over = format!("*1\r\n${}\r\n", MAX_BULK_LEN + 1);
    assert_eq!(
        parse_whole(over.as_bytes()).0,
        vec![Err(ProtocolError::InvalidBulkLength)]
    );
}

#[test]
fn an_inline_line_without_end_is_refused_at_the_maximum() {
    let almost = vec![b'a'; MAX_INLINE_LEN - 1];
    assert_eq!(parse_whole(&almost), (vec![], Some(almost.len())));
    let over = vec![b'a'; MAX_INLINE_LEN];
    assert_eq!(parse_whole(&over).0, vec![Err(ProtocolError::TooBigInline)]);
}

#[test]
fn empty_requests_have_no_arguments() {
    let (parsed, left) = parse_whole(b"*0\r\n*-1\r\n\r\n  \r\nPING\r\n");
    let empty = Ok(Vec::new());
    assert_eq!(
        parsed,
        vec![
            empty.clone(),
            empty.clone(),
            empty.clone(),
            empty,
            Ok(vec![b"PING".to_vec()])
        ]
    );
    assert_eq!(left, Some(0));
}

#[test]
fn an_incomplete_request_is_resumed_not_reparsed_wrongly() {
    // The same request cut at every point: the parser resumes where it stopped.
    let request = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    for cut in 0..request.len() {
        let mut parser = Parser::new();
        let mut c = SliceCursor::new(&request[..cut]);
        assert_eq!(parser.parse(&mut c), Ok(None));
        let mut c = SliceCursor::new(request);
        let shape = parser.parse(&mut c).unwrap().unwrap();
        let args: Vec<&[u8]> = shape.args(SliceCursor::new(request)).collect();
        assert_eq!(args, [&b"SET"[..], b"key", b"value"]);
    }
}
