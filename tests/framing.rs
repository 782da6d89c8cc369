//! Framing: the length-prefix decoder (every width, both byte orders, inclusive and exclusive
//! lengths, frames straddling tiny chunks, hostile prefixes), the line decoder (maxima,
//! `\r\n`, the end of the stream), the frame writer (one grant, prefix first, the guard), the
//! read loop over real pipes with a writer thread (frames arriving in pieces, EOF mid-frame,
//! clean ends, failures, cancel), a round-trip property, and a garbage property: random bytes
//! give frames or an error, never a panic, a hang or an allocation.

mod support;

use quickcheck::QuickCheck;
use ringpipe::{
    FrameDecoder, FrameError, FrameFormatError, FrameReader, FrameWriter, LengthDelimited,
    LineDecoder, PipeOptions, ReadError, SequenceReader, WriteError,
};
use std::task::Poll;
use support::counting_alloc::{count_allocs, ThreadCounting};
use support::rng::Rng;
use support::{pattern, plain_pipe, put_commit, with_sequence, with_timeout, TestError};

#[global_allocator]
static ALLOC: ThreadCounting = ThreadCounting;

fn format(width: usize, big: bool, inclusive: bool) -> LengthDelimited {
    let b = LengthDelimited::builder()
        .length_field_length(width)
        .length_includes_prefix(inclusive);
    let b = if big {
        b.big_endian()
    } else {
        b.little_endian()
    };
    b.build().unwrap()
}

/// The encoded frame, written by hand (the model of the format).
fn encode(width: usize, big: bool, inclusive: bool, body: &[u8]) -> Vec<u8> {
    let field = body.len() as u64 + if inclusive { width as u64 } else { 0 };
    let mut out = if big {
        field.to_be_bytes()[8 - width..].to_vec()
    } else {
        field.to_le_bytes()[..width].to_vec()
    };
    out.extend_from_slice(body);
    out
}

/// Every whole frame `decode_from` finds in a reader over `data`, then how many bytes are left.
fn decode_all(f: &LengthDelimited, data: &[u8], chunk: usize) -> (Vec<Vec<u8>>, usize) {
    with_sequence(data, chunk, &[chunk, 1, 2], |seq| {
        let mut r = SequenceReader::new(seq);
        let mut frames = Vec::new();
        while let Some(frame) = f.decode_from(&mut r).unwrap() {
            frames.push(frame.to_vec());
        }
        (frames, r.remaining())
    })
}

#[test]
fn every_width_and_order_round_trips_across_tiny_chunks() {
    for width in 1..=8 {
        for big in [true, false] {
            for inclusive in [false, true] {
                let f = format(width, big, inclusive);
                let bodies = [&b""[..], b"a", b"hello", b"0123456789abcdef!"];
                let mut data = Vec::new();
                for b in bodies {
                    data.extend(encode(width, big, inclusive, b));
                }
                data.extend(&encode(width, big, inclusive, b"partial")[..width + 3]);
                for chunk in [1, 4, 7] {
                    let (frames, left) = decode_all(&f, &data, chunk);
                    assert_eq!(frames, bodies, "width {width} big {big} incl {inclusive}");
                    assert_eq!(left, width + 3);
                }
            }
        }
    }
}

#[test]
fn decode_reports_the_position_after_the_frame_and_none_while_incomplete() {
    let f = LengthDelimited::new();
    let data = [&encode(4, true, false, b"abc")[..], b"\0\0"].concat();
    with_sequence(&data, 4, &[4], |seq| {
        let (frame, end) = f.decode(seq).unwrap().unwrap();
        assert_eq!(frame.to_vec(), b"abc");
        assert_eq!(seq.offset_of(end), Some(7));
        assert!(
            f.decode(seq.slice_from(end)).unwrap().is_none(),
            "half a prefix"
        );
        assert!(
            f.decode(seq.slice(..6)).unwrap().is_none(),
            "prefix, part of the body"
        );
        let mut r = SequenceReader::new(seq.slice(..6));
        assert!(f.decode_from(&mut r).unwrap().is_none());
        assert_eq!(r.consumed(), 0, "an incomplete frame moved the reader");
    });
}

#[test]
fn hostile_prefixes_are_errors_without_allocating() {
    let f8 = LengthDelimited::builder()
        .length_field_length(8)
        .build()
        .unwrap();
    with_sequence(&[0xff; 8], 4, &[4], |seq| {
        let (res, allocs) = count_allocs(|| f8.decode(seq));
        match res {
            Err(FrameError::FrameTooLarge { length, max }) => {
                assert_eq!(length, u64::MAX);
                assert_eq!(max, ringpipe::DEFAULT_MAX_FRAME_LENGTH as u64);
            }
            other => panic!("expected FrameTooLarge, got {other:?}"),
        }
        assert_eq!(allocs, 0, "decoding a hostile prefix allocated");
    });
    // Over the configured maximum by one.
    let small = LengthDelimited::builder()
        .length_field_length(2)
        .max_frame_length(10)
        .build()
        .unwrap();
    with_sequence(b"\x00\x0b", 4, &[4], |seq| {
        assert!(matches!(
            small.decode(seq),
            Err(FrameError::FrameTooLarge {
                length: 11,
                max: 10
            })
        ));
    });
    with_sequence(b"\x00\x0a0123456789", 4, &[4], |seq| {
        assert_eq!(small.decode(seq).unwrap().unwrap().0.len(), 10);
    });
    // An inclusive length smaller than its own prefix.
    let incl = format(4, true, true);
    for field in 0..4u32 {
        with_sequence(&field.to_be_bytes(), 4, &[4], |seq| {
            match incl.decode(seq) {
                Err(FrameError::LengthTooSmall { length, min }) => {
                    assert_eq!((length, min), (u64::from(field), 4));
                }
                other => panic!("field {field}: expected LengthTooSmall, got {other:?}"),
            }
        });
    }
}

#[test]
fn format_options() {
    assert_eq!(
        LengthDelimited::builder().length_field_length(0).build(),
        Err(FrameFormatError::LengthFieldLength(0))
    );
    assert_eq!(
        LengthDelimited::builder().length_field_length(9).build(),
        Err(FrameFormatError::LengthFieldLength(9))
    );
    let f = LengthDelimited::default();
    assert_eq!(
        (f.prefix_len(), f.is_big_endian(), f.length_adjustment()),
        (4, true, 0)
    );
    assert_eq!(f, LengthDelimited::new());
    // What the field can say bounds the maximum.
    assert_eq!(format(1, true, false).max_frame_length(), 255);
    assert_eq!(format(1, true, true).max_frame_length(), 254);
    assert_eq!(format(2, false, true).length_adjustment(), -2);
    // An adjustment in tokio-util's terms: the field counts a 2-byte trailer too.
    let trailer = LengthDelimited::builder()
        .length_field_length(1)
        .length_adjustment(-2)
        .build()
        .unwrap();
    with_sequence(b"\x05abc\x01\x02", 2, &[2], |seq| {
        assert_eq!(trailer.decode(seq).unwrap().unwrap().0.to_vec(), b"abc");
    });
    // A positive adjustment: the field counts less than the body.
    let plus = LengthDelimited::builder()
        .length_field_length(1)
        .length_adjustment(1)
        .build()
        .unwrap();
    with_sequence(b"\x02abc", 2, &[2], |seq| {
        assert_eq!(plus.decode(seq).unwrap().unwrap().0.to_vec(), b"abc");
    });
}

fn lines(data: &[u8], chunk: usize, mut d: LineDecoder) -> (Vec<Vec<u8>>, Result<(), FrameError>) {
    with_sequence(data, chunk, &[chunk, 1], |seq| {
        let mut buf = seq;
        let mut out = Vec::new();
        loop {
            match d.decode(buf) {
                Ok(Some((line, end))) => {
                    out.push(line.to_vec());
                    buf = buf.slice_from(end);
                }
                Ok(None) => return (out, Ok(())),
                Err(e) => return (out, Err(e)),
            }
        }
    })
}

#[test]
fn lines_with_and_without_carriage_returns() {
    for chunk in [1, 4, 7] {
        let (got, end) = lines(b"a\r\nbb\n\r\n\ncc\rd\nrest\r", chunk, LineDecoder::new(10));
        assert_eq!(got, [&b"a"[..], b"bb", b"", b"", b"cc\rd"]);
        assert!(end.is_ok());
        let (got, _) = lines(b"a\r\nb\n", chunk, LineDecoder::new(10).strip_cr(false));
        assert_eq!(got, [&b"a\r"[..], b"b"]);
        let (got, _) = lines(b"a;b\r;c", chunk, LineDecoder::new(10).delimiter(b';'));
        assert_eq!(got, [&b"a"[..], b"b"]);
    }
}

#[test]
fn line_maximum_is_exact_and_nothing_past_it_is_waited_for() {
    let max = 5;
    for chunk in [1, 4, 7] {
        let d = || LineDecoder::new(max);
        assert_eq!(lines(b"12345\n", chunk, d()).0, [b"12345"]);
        assert_eq!(lines(b"12345\r\n", chunk, d()).0, [b"12345"]);
        let (got, end) = lines(b"123456\n", chunk, d());
        assert!(got.is_empty());
        assert!(matches!(end, Err(FrameError::LineTooLong { max: 5 })));
        // Without stripping, the '\r' counts.
        let (_, end) = lines(b"12345\r\n", chunk, d().strip_cr(false));
        assert!(matches!(end, Err(FrameError::LineTooLong { max: 5 })));
        // The window is max + '\r' + '\n' = 7 bytes: 6 without a delimiter wait for more,
        // 7 are an error at once.
        assert!(lines(b"123456", chunk, d()).1.is_ok());
        assert!(matches!(
            lines(b"1234567", chunk, d()).1,
            Err(FrameError::LineTooLong { .. })
        ));
        assert!(matches!(
            lines(b"123456", chunk, d().strip_cr(false)).1,
            Err(FrameError::LineTooLong { .. })
        ));
    }
}

#[test]
fn a_line_arriving_in_pieces_is_found_where_it_ends() {
    // The decoder remembers how far it searched; the answers are those of a fresh decoder.
    let (mut w, mut r, _pool) = plain_pipe(1024, 4);
    let mut d = LineDecoder::new(100);
    let text = b"a fairly long line that arrives a few bytes at a time\nnext";
    let mut got = Vec::new();
    for piece in text.chunks(3) {
        put_commit(&mut w, piece);
        let (consumed, examined) = {
            let res = r.try_read().unwrap().unwrap();
            let buf = res.buffer();
            let mut fresh = LineDecoder::new(100);
            let a = d.decode(buf).unwrap();
            let b = fresh.decode(buf).unwrap();
            assert_eq!(
                a.map(|(l, e)| (l.to_vec(), e)),
                b.map(|(l, e)| (l.to_vec(), e))
            );
            match a {
                Some((line, end)) => {
                    got.push(line.to_vec());
                    (end, end)
                }
                None => (buf.start(), buf.end()),
            }
        };
        r.advance_to(consumed, examined).unwrap();
    }
    assert_eq!(got, [&text[..text.len() - 5]]);
}

#[test]
fn the_last_line_at_the_end_of_the_stream() {
    with_sequence(b"x\ny\r", 4, &[4], |seq| {
        let mut d = LineDecoder::new(8);
        let (line, end) = d.decode_eof(seq).unwrap().unwrap();
        assert_eq!(line.to_vec(), b"x");
        let rest = seq.slice_from(end);
        let (line, end) = d.decode_eof(rest).unwrap().unwrap();
        assert_eq!(line.to_vec(), b"y");
        assert_eq!(end, seq.end());
        assert!(d.decode_eof(seq.slice_from(end)).unwrap().is_none());
        let mut strict = LineDecoder::new(8).require_final_delimiter(true);
        assert!(matches!(
            strict.decode_eof(rest),
            Err(FrameError::UnexpectedEof { pending: 2 })
        ));
    });
}

/// Reads every frame of `frames` with a `FrameReader`, blocking; returns them and how it ended.
fn read_all<D: FrameDecoder>(fr: &mut FrameReader<D>) -> (Vec<Vec<u8>>, Result<(), FrameError>) {
    let mut out = Vec::new();
    loop {
        match fr.read_frame_blocking(|f| f.to_vec()) {
            Ok(Some(v)) => out.push(v),
            Ok(None) => return (out, Ok(())),
            Err(e) => return (out, Err(e)),
        }
    }
}

#[test]
fn frames_arriving_in_pieces_from_a_writer_thread() {
    with_timeout(|| {
        let opts = PipeOptions::builder()
            .chunk_size(7)
            .capacity(256)
            .build()
            .unwrap();
        let (mut w, r) = ringpipe::pipe(opts);
        let bodies: Vec<Vec<u8>> = (0..40).map(|i| pattern(i * 3 % 50)).collect();
        let stream: Vec<u8> = bodies
            .iter()
            .flat_map(|b| encode(2, true, false, b))
            .collect();
        let writer = std::thread::spawn(move || {
            for piece in stream.chunks(5) {
                w.write_all_blocking(piece).unwrap(); // flushes each piece
            }
        });
        let f = LengthDelimited::builder()
            .length_field_length(2)
            .build()
            .unwrap();
        let mut fr = FrameReader::new(r, f);
        let (got, end) = read_all(&mut fr);
        writer.join().unwrap();
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(got, bodies);
    });
}

#[test]
fn eof_in_the_middle_of_a_frame_is_an_error() {
    with_timeout(|| {
        for cut in [1, 3, 6] {
            let (mut w, r, _pool) = plain_pipe(1024, 4);
            let mut stream = encode(4, true, false, b"whole");
            stream.extend(&encode(4, true, false, b"partial")[..cut]);
            let writer = std::thread::spawn(move || {
                w.write_all_blocking(&stream).unwrap();
            });
            let mut fr = FrameReader::new(r, LengthDelimited::new());
            let (got, end) = read_all(&mut fr);
            writer.join().unwrap();
            assert_eq!(got, [b"whole"]);
            assert!(
                matches!(end, Err(FrameError::UnexpectedEof { pending }) if pending == cut),
                "cut {cut}: {end:?}"
            );
        }
    });
}

#[test]
fn writer_failure_and_cancel() {
    let (mut w, r, _pool) = plain_pipe(1024, 4);
    let canceller = r.canceller();
    let mut fr = FrameReader::new(r, LengthDelimited::new());
    put_commit(&mut w, &encode(4, true, false, b"one")[..5]);
    assert!(fr.try_read_frame(|f| f.to_vec()).is_pending());
    assert!(
        fr.try_read_frame(|f| f.to_vec()).is_pending(),
        "nothing new"
    );
    canceller.cancel_pending_read();
    assert!(matches!(
        fr.read_frame_blocking(|f| f.len()),
        Err(FrameError::Canceled)
    ));
    put_commit(&mut w, b"ne");
    match fr.try_read_frame(|f| f.to_vec()) {
        Poll::Ready(Ok(Some(v))) => assert_eq!(v, b"one"),
        other => panic!("expected the frame, got {other:?}"),
    }
    w.complete_with_error(TestError { id: 7 });
    match fr.read_frame_blocking(|f| f.len()) {
        Err(FrameError::Read(ReadError::WriterFailed(e))) => {
            assert_eq!(e.downcast_ref::<TestError>().map(|t| t.id), Some(7));
        }
        other => panic!("expected WriterFailed, got {other:?}"),
    }
}

#[test]
fn async_reads_and_a_clean_end() {
    let (mut w, r, _pool) = plain_pipe(1024, 4);
    let mut fr = FrameReader::new(r, LineDecoder::new(16));
    put_commit(&mut w, b"one\ntwo\r\nthr");
    let a = support::exec::block_on(fr.read_frame(|l| l.to_vec())).unwrap();
    let b = support::exec::block_on(fr.read_frame(|l| l.to_vec())).unwrap();
    assert_eq!((a.unwrap(), b.unwrap()), (b"one".to_vec(), b"two".to_vec()));
    assert!(fr.try_read_frame(|l| l.to_vec()).is_pending());
    put_commit(&mut w, b"ee\n");
    w.complete();
    assert_eq!(
        fr.read_frame_blocking(|l| l.to_vec()).unwrap(),
        Some(b"three".to_vec())
    );
    assert_eq!(fr.read_frame_blocking(|l| l.to_vec()).unwrap(), None);
    assert_eq!(
        fr.read_frame_blocking(|l| l.to_vec()).unwrap(),
        None,
        "the end stays"
    );
    let (reader, decoder) = fr.into_parts();
    assert!(reader.is_writer_completed());
    assert_eq!(decoder.max_length(), 16);
}

#[test]
fn frames_larger_than_the_pipe_are_refused_on_both_sides() {
    let (w, r, _pool) = plain_pipe(64, 16);
    let mut fw = FrameWriter::new(w, LengthDelimited::new());
    assert_eq!(fw.max_frame_length(), 60);
    assert!(matches!(
        fw.write_frame_blocking(&[0; 61]),
        Err(FrameError::FrameTooLarge {
            length: 61,
            max: 60
        })
    ));
    // Sneak a too-large prefix past the writer: the reader refuses it instead of waiting for
    // a frame that cannot fit (which would be WouldDeadlock).
    put_commit(fw.get_mut(), &100u32.to_be_bytes());
    let mut fr = FrameReader::new(r, LengthDelimited::new());
    assert!(matches!(
        fr.read_frame_blocking(|f| f.len()),
        Err(FrameError::FrameTooLarge {
            length: 100,
            max: 60
        })
    ));
    // Lines: the maximum shrinks to capacity - 2.
    let (mut w, r, _pool) = plain_pipe(8, 4);
    let mut fr = FrameReader::new(r, LineDecoder::new(100));
    assert_eq!(fr.decoder().max_length(), 6);
    put_commit(&mut w, b"12345678");
    assert!(matches!(
        fr.read_frame_blocking(|f| f.len()),
        Err(FrameError::LineTooLong { max: 6 })
    ));
}

#[test]
fn frame_writer_paths_and_the_guard() {
    // Under Miri, fewer and larger chunks: a 3000-byte body through 4-byte chunks takes it
    // minutes. 1500 bytes still takes the prefix-first path (bodies over 1 KiB).
    let (chunks, sizes): (&[usize], &[usize]) = if cfg!(miri) {
        (&[7, 4096], &[0, 1, 5, 60, 1500])
    } else {
        (&[4, 7, 64, 4096], &[0, 1, 5, 60, 1500, 3000])
    };
    for &chunk in chunks {
        let (w, r, _pool) = plain_pipe(8192, chunk);
        let mut fw = FrameWriter::new(w, format(8, false, true));
        let bodies: Vec<Vec<u8>> = sizes.iter().map(|&n| pattern(n)).collect();
        for b in &bodies {
            let res = fw.write_frame_blocking(b).unwrap();
            assert!(!res.is_completed());
        }
        // Built in place, when it fits one grant.
        let mut expect = bodies.clone();
        if fw.get_ref().max_memory() >= 8 + 20 {
            let mut g = fw.begin_frame_blocking(20).unwrap();
            assert!(g.capacity() >= 20);
            g.body()[..3].copy_from_slice(b"xyz");
            g.finish(3).unwrap();
            expect.push(b"xyz".to_vec());
            {
                // An abandoned guard (dropped without finish) writes nothing.
                let mut g = fw.try_begin_frame(10).unwrap();
                g.body()[..2].copy_from_slice(b"no");
            }
            fw.flush_blocking().unwrap();
        } else {
            assert!(matches!(
                fw.begin_frame_blocking(20),
                Err(FrameError::FrameTooLarge { length: 20, .. })
            ));
        }
        drop(fw);
        let mut fr = FrameReader::new(r, format(8, false, true));
        let (got, end) = read_all(&mut fr);
        assert!(end.is_ok(), "chunk {chunk}: {end:?}");
        assert_eq!(got, expect, "chunk {chunk}");
    }
}

#[test]
fn frame_writer_errors() {
    // A positive adjustment: bodies shorter than it cannot be said.
    let f = LengthDelimited::builder()
        .length_field_length(1)
        .length_adjustment(3)
        .build()
        .unwrap();
    let (w, _r, _pool) = plain_pipe(1024, 64);
    let mut fw = FrameWriter::new(w, f);
    assert!(matches!(
        fw.write_frame_blocking(b"ab"),
        Err(FrameError::LengthTooSmall { length: 2, min: 3 })
    ));
    let g = fw.begin_frame_blocking(10).unwrap();
    assert!(matches!(
        g.finish(1),
        Err(FrameError::LengthTooSmall { .. })
    ));
    assert_eq!(fw.get_ref().unflushed_bytes(), 0);
    // A 1-byte field says at most 255 (+3).
    assert!(matches!(
        fw.write_frame_blocking(&[0; 259]),
        Err(FrameError::FrameTooLarge {
            length: 259,
            max: 258
        })
    ));
    // No room now.
    let (w, _r, _pool) = plain_pipe(16, 16);
    let mut fw = FrameWriter::new(w, LengthDelimited::new());
    fw.write_frame_blocking(b"0123456789").unwrap();
    assert!(matches!(
        fw.try_begin_frame(4),
        Err(FrameError::Write(WriteError::Full { .. }))
    ));
    // A finish past the body panics (contract violation), tested below.
}

#[test]
#[should_panic(expected = "FrameGuard::finish(11) past the 10 bytes of body reserved")]
fn finish_past_the_body_panics() {
    let (w, _r, _pool) = plain_pipe(1024, 14);
    let mut fw = FrameWriter::new(w, LengthDelimited::new());
    let g = fw.begin_frame_blocking(10).unwrap();
    let _ = g.finish(11);
}

/// Random frames in a random format, written by a `FrameWriter` on a thread (write_frame and
/// begin_frame), read back by a `FrameReader` through a pipe of random chunk size: equal.
fn round_trip(seed: u64) -> bool {
    let mut rng = Rng::new(seed);
    let width = [1, 2, 3, 4, 8][rng.below(5)];
    let (big, inclusive) = (rng.one_in(2), rng.one_in(2));
    let f = format(width, big, inclusive);
    let chunk = rng.range(1, 40);
    let max_body = if width == 1 { 200 } else { 300 };
    let bodies: Vec<Vec<u8>> = (0..rng.range(0, 20))
        .map(|_| (0..rng.below(max_body)).map(|_| rng.next() as u8).collect())
        .collect();
    let capacity = 2048;
    let opts = PipeOptions::builder()
        .chunk_size(chunk)
        .capacity(capacity)
        .build()
        .unwrap();
    let (w, r) = ringpipe::pipe(opts);
    let sent = bodies.clone();
    let writer_seed = rng.next();
    let got = with_timeout(move || {
        let writer = std::thread::spawn(move || {
            let mut rng = Rng::new(writer_seed);
            let mut fw = FrameWriter::new(w, f);
            for b in &sent {
                if rng.one_in(3) && b.len() + width <= fw.get_ref().max_memory() {
                    let mut g = fw.begin_frame_blocking(b.len()).unwrap();
                    g.body()[..b.len()].copy_from_slice(b);
                    g.finish(b.len()).unwrap();
                    if rng.one_in(2) {
                        fw.flush_blocking().unwrap();
                    }
                } else {
                    fw.write_frame_blocking(b).unwrap();
                }
            }
        });
        let mut fr = FrameReader::new(r, f);
        let got = read_all(&mut fr);
        writer.join().unwrap();
        got
    });
    if got.1.is_err() || got.0 != bodies {
        eprintln!(
            "seed {seed}: width {width} big {big} incl {inclusive} chunk {chunk}: {:?}",
            got.1
        );
        return false;
    }
    true
}

#[test]
fn frames_round_trip() {
    QuickCheck::new()
        .tests(if cfg!(miri) { 3 } else { 200 })
        .quickcheck(round_trip as fn(u64) -> bool);
}

/// Random bytes, a random length format and a random line decoder: decoding gives valid frames
/// (within the maximum, each consuming bytes) and then an end or an error, never a panic, a
/// hang or an allocation; the read loop over the same bytes in a pipe agrees.
fn garbage(seed: u64) -> bool {
    let mut rng = Rng::new(seed);
    let data: Vec<u8> = (0..rng.below(200))
        .map(|_| {
            if rng.one_in(3) {
                b'\n'
            } else {
                rng.next() as u8
            }
        })
        .collect();
    let width = rng.range(1, 8);
    let f = LengthDelimited::builder()
        .length_field_length(width)
        .length_adjustment(rng.range(0, 16) as i64 - 8)
        .max_frame_length(rng.below(100))
        .build()
        .unwrap();
    let mut lines = LineDecoder::new(rng.below(40)).strip_cr(rng.one_in(2));
    let chunk = rng.range(1, 16);
    let ok = with_sequence(&data, chunk, &[chunk, 3, 1], |seq| {
        let ((ok_len, n_len), allocs_len) = count_allocs(|| {
            let mut r = SequenceReader::new(seq);
            let mut n = 0;
            loop {
                let before = r.consumed();
                match f.decode_from(&mut r) {
                    Ok(Some(frame)) => {
                        if frame.len() as u64 > f.max_frame_length() || r.consumed() <= before {
                            return (false, n);
                        }
                        n += 1;
                    }
                    Ok(None) | Err(_) => return (r.consumed() == before, n),
                }
            }
        });
        let ((ok_lines, n_lines), allocs_lines) = count_allocs(|| {
            let mut buf = seq;
            let mut n = 0;
            loop {
                match lines.decode_eof(buf) {
                    Ok(Some((line, end))) => {
                        if line.len() > lines.max_length() || end == buf.start() {
                            return (false, n);
                        }
                        buf = buf.slice_from(end);
                        n += 1;
                    }
                    Ok(None) | Err(_) => return (true, n),
                }
            }
        });
        let _ = (n_len, n_lines);
        ok_len && ok_lines && allocs_len == 0 && allocs_lines == 0
    });
    // The read loop over a completed pipe holding the same bytes.
    let (mut w, r, _pool) = plain_pipe(data.len().max(1) * 2, chunk);
    put_commit(&mut w, &data);
    w.complete();
    let mut fr = FrameReader::new(r, f);
    let mut frames = 0;
    let loop_ok = loop {
        match fr.read_frame_blocking(|f| f.len()) {
            Ok(Some(_)) => frames += 1,
            Ok(None) | Err(_) => break true,
        }
        if frames > data.len() {
            break false;
        }
    };
    if !(ok && loop_ok) {
        eprintln!("seed {seed}: garbage went wrong");
    }
    ok && loop_ok
}

#[test]
fn garbage_gives_frames_or_errors() {
    with_timeout(|| {
        QuickCheck::new()
            .tests(if cfg!(miri) { 5 } else { 1000 })
            .quickcheck(garbage as fn(u64) -> bool);
    });
}

#[test]
fn the_allocation_counter_counts() {
    // The control for the zero-allocation checks above.
    let (v, allocs) = count_allocs(|| vec![0u8; 10]);
    assert_eq!(v.len(), 10);
    assert_eq!(allocs, 1);
}
