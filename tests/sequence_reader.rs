//! `SequenceReader` over multi-chunk sequences: every method, both byte orders, delimiters that
//! straddle chunk boundaries (chunks of 1 to 8 bytes, filled to varying lengths), the position
//! handed back to the pipe, zero-copy results, and a property test against a slice-and-index
//! model over random data, random chunkings and random operation sequences.

mod support;

use quickcheck::QuickCheck;
use ringpipe::{Sequence, SequenceReader};
use std::borrow::Cow;
use support::rng::Rng;
use support::{pattern, plain_pipe, put_commit, with_sequence};

/// Runs `f` on a reader over `data` for every chunk size 1..=8 and two ways of filling chunks.
fn each_chunking(data: &[u8], mut f: impl FnMut(SequenceReader<'_>, &str)) {
    for chunk in 1..=8 {
        for pieces in [&[usize::MAX][..], &[1, 3, 2]] {
            with_sequence(data, chunk, pieces, |seq| {
                f(
                    SequenceReader::new(seq),
                    &format!("chunk {chunk}, pieces {pieces:?}"),
                )
            });
        }
    }
}

#[test]
fn counts_position_and_unread_parts() {
    let data = pattern(23);
    each_chunking(&data, |mut r, how| {
        let seq = r.sequence();
        assert_eq!(seq.len(), 23, "{how}");
        for i in 0..=23 {
            assert_eq!(r.consumed(), i, "{how}");
            assert_eq!(r.remaining(), 23 - i, "{how}");
            assert_eq!(r.is_end(), i == 23, "{how}");
            assert_eq!(r.position(), seq.position(i), "{how}");
            assert_eq!(r.unread_sequence().to_vec(), &data[i..], "{how}");
            let unread = r.unread_chunk();
            assert_eq!(unread.is_empty(), i == 23, "{how}");
            assert_eq!(unread, &data[i..i + unread.len()], "{how}");
            assert!(r.current_chunk().ends_with(unread), "{how}");
            assert_eq!(r.peek(), data.get(i).copied(), "{how}");
            if i < 23 {
                assert_eq!(r.read_u8(), Some(data[i]), "{how}");
            }
        }
        assert_eq!(r.read_u8(), None);
        assert_eq!(r.peek(), None);
    });
}

#[test]
fn empty_sequence() {
    with_sequence(b"x", 4, &[1], |seq| {
        let empty = seq.slice(1..);
        let mut r = SequenceReader::new(empty);
        assert!(r.is_end());
        assert_eq!((r.consumed(), r.remaining()), (0, 0));
        assert_eq!(r.peek(), None);
        assert_eq!(r.read_u16_be(), None);
        assert!(r.read_to(b'x', true).is_none());
        assert_eq!(r.read_to_slice(b"", true).map(|s| s.len()), Some(0));
        assert_eq!(r.advance_past(b'x'), 0);
        assert!(r.try_advance(0));
        assert!(!r.try_advance(1));
        assert_eq!(r.position(), empty.start());
        assert!(r.unread_sequence().is_empty());
    });
}

macro_rules! check_ints {
    ($r:expr, $data:expr, $at:expr, $how:expr, $($t:ident: $pb:ident $pl:ident $rb:ident $rl:ident),*) => {$(
        {
            const N: usize = std::mem::size_of::<$t>();
            let want = $data.get($at..$at + N).map(|b| <[u8; N]>::try_from(b).unwrap());
            let mut r = $r;
            assert_eq!(r.$pb(), want.map($t::from_be_bytes), "{} {}", stringify!($pb), $how);
            assert_eq!(r.$pl(), want.map($t::from_le_bytes), "{} {}", stringify!($pl), $how);
            assert_eq!(r.consumed(), $at, "peek moved: {}", $how);
            let mut r2 = r;
            assert_eq!(r.$rb(), want.map($t::from_be_bytes), "{} {}", stringify!($rb), $how);
            assert_eq!(r2.$rl(), want.map($t::from_le_bytes), "{} {}", stringify!($rl), $how);
            let moved = if want.is_some() { N } else { 0 };
            assert_eq!(r.consumed(), $at + moved, "{}", $how);
            assert_eq!(r2.consumed(), $at + moved, "{}", $how);
        }
    )*};
}

#[test]
fn integers_of_every_width_in_both_orders_across_chunks() {
    let data: Vec<u8> = (0..40u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(0x81))
        .collect();
    each_chunking(&data, |r, how| {
        for at in 0..=data.len() {
            let mut r = r;
            r.advance(at);
            check_ints!(r, data, at, how,
                u16: peek_u16_be peek_u16_le read_u16_be read_u16_le,
                i16: peek_i16_be peek_i16_le read_i16_be read_i16_le,
                u32: peek_u32_be peek_u32_le read_u32_be read_u32_le,
                i32: peek_i32_be peek_i32_le read_i32_be read_i32_le,
                u64: peek_u64_be peek_u64_le read_u64_be read_u64_le,
                i64: peek_i64_be peek_i64_le read_i64_be read_i64_le,
                u128: peek_u128_be peek_u128_le read_u128_be read_u128_le,
                i128: peek_i128_be peek_i128_le read_i128_be read_i128_le
            );
            let mut r1 = r;
            assert_eq!(r1.peek_i8(), data.get(at).map(|&b| b as i8));
            assert_eq!(r1.read_i8(), data.get(at).map(|&b| b as i8));
            for w in 0..=8 {
                let want = data.get(at..at + w);
                let be = want.map(|b| b.iter().fold(0u64, |v, &x| v << 8 | u64::from(x)));
                let le = want.map(|b| b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)));
                assert_eq!(r.peek_uint_be(w), be, "uint_be({w}) at {at}, {how}");
                assert_eq!(r.peek_uint_le(w), le, "uint_le({w}) at {at}, {how}");
                let (mut a, mut b) = (r, r);
                assert_eq!(a.read_uint_be(w), be);
                assert_eq!(b.read_uint_le(w), le);
                let moved = if want.is_some() { w } else { 0 };
                assert_eq!((a.consumed(), b.consumed()), (at + moved, at + moved));
            }
        }
    });
}

#[test]
#[should_panic(expected = "peek_uint_be(9): at most 8 bytes")]
fn uint_wider_than_8_panics() {
    with_sequence(&[0; 16], 4, &[4], |seq| {
        SequenceReader::new(seq).peek_uint_be(9)
    });
}

#[test]
fn copy_out_and_arrays() {
    let data = pattern(19);
    each_chunking(&data, |r, how| {
        for at in 0..=data.len() {
            for n in 0..=data.len() - at + 1 {
                let mut r = r;
                r.advance(at);
                let mut dst = vec![0xEE; n];
                let fits = at + n <= data.len();
                assert_eq!(r.try_copy_to(&mut dst), fits, "{how}");
                assert_eq!(r.consumed(), at, "try_copy_to moved: {how}");
                if fits {
                    assert_eq!(dst, &data[at..at + n], "{how}");
                } else {
                    assert!(dst.iter().all(|&b| b == 0xEE), "dst changed: {how}");
                }
                let mut dst2 = vec![0; n];
                assert_eq!(r.read_into(&mut dst2), fits);
                assert_eq!(r.consumed(), at + if fits { n } else { 0 });
            }
            let mut r = r;
            r.advance(at);
            let want = data
                .get(at..at + 5)
                .map(|b| <[u8; 5]>::try_from(b).unwrap());
            assert_eq!(r.peek_array::<5>(), want);
            assert_eq!(r.read_array::<5>(), want);
            let mut r2 = SequenceReader::new(r.sequence());
            r2.advance(at);
            let bytes = r2.read_bytes(3);
            assert_eq!(
                bytes.map(|s| s.to_vec()),
                data.get(at..at + 3).map(<[u8]>::to_vec)
            );
        }
    });
}

#[test]
fn advance_rewind_and_their_panics() {
    let data = pattern(30);
    each_chunking(&data, |mut r, how| {
        r.advance(0);
        r.advance(7);
        assert_eq!(r.peek(), Some(data[7]), "{how}");
        assert!(r.try_advance(20));
        assert!(!r.try_advance(4));
        assert_eq!(r.consumed(), 27);
        r.rewind(1); // within the chunk, or across: both land on 26
        assert_eq!(r.peek(), Some(data[26]), "{how}");
        r.rewind(20);
        assert_eq!((r.consumed(), r.peek()), (6, Some(data[6])), "{how}");
        r.advance(24);
        assert!(r.is_end());
        r.rewind(30);
        assert_eq!((r.consumed(), r.peek()), (0, Some(data[0])), "{how}");
        for i in 0..30 {
            r.advance(1);
            r.rewind(1);
            r.advance(1);
            assert_eq!(r.consumed(), i + 1);
        }
        r.rewind(0);
        assert!(r.is_end());
    });
}

#[test]
#[should_panic(expected = "SequenceReader::advance(4) with 3 bytes remaining")]
fn advance_past_the_end_panics() {
    with_sequence(b"abc", 2, &[2], |seq| SequenceReader::new(seq).advance(4));
}

#[test]
#[should_panic(expected = "SequenceReader::rewind(2) after only 1 bytes were read")]
fn rewind_before_the_start_panics() {
    with_sequence(b"abc", 2, &[2], |seq| {
        let mut r = SequenceReader::new(seq);
        r.advance(1);
        r.rewind(2);
    });
}

#[test]
fn read_to_a_byte() {
    let data = b"key=value;k2=v2;tail";
    each_chunking(data, |mut r, how| {
        let key = r.read_to(b'=', true).unwrap();
        assert_eq!(key.to_vec(), b"key", "{how}");
        let value = r.read_to(b';', false).unwrap();
        assert_eq!(value.to_vec(), b"value", "{how}");
        assert!(r.is_next(b';', true));
        assert!(r.try_advance_to(b';', true));
        assert_eq!(r.unread_sequence().to_vec(), b"tail");
        let before = r.consumed();
        assert!(r.read_to(b';', true).is_none());
        assert!(!r.try_advance_to(b';', true));
        assert_eq!(r.consumed(), before, "a failed read_to moved");
        // Positions of the results are where the bytes were.
        let mut r2 = SequenceReader::new(r.sequence());
        let k = r2.read_to(b'=', false).unwrap();
        assert_eq!(k.end(), r2.position());
        assert_eq!(r2.peek(), Some(b'='));
    });
}

#[test]
fn read_to_any_and_advance_past() {
    let data = b"  \t hello, world;rest";
    each_chunking(data, |mut r, how| {
        assert_eq!(r.advance_past_any(b" \t"), 4, "{how}");
        assert_eq!(r.advance_past(b' '), 0);
        let word = r.read_to_any(b",;", true).unwrap();
        assert_eq!(word.to_vec(), b"hello");
        assert_eq!(r.advance_past(b' '), 1);
        let word = r.read_to_any(b";,", false).unwrap();
        assert_eq!(word.to_vec(), b"world");
        assert!(r.try_advance_to_any(b";", true));
        assert!(!r.try_advance_to_any(b",;", true));
        assert!(r.read_to_any(b"xyz", true).is_none());
        assert_eq!(r.advance_past_any(b"rest"), 4);
        assert!(r.is_end());
    });
}

#[test]
fn multi_byte_delimiters_straddling_chunks() {
    // Near-misses ("\r\r", "\r\n\r" that is not "\r\n\r\n") before the real delimiter.
    let data = b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\nbody\r\n\r";
    each_chunking(data, |mut r, how| {
        let line = r.read_to_slice(b"\r\n", true).unwrap();
        assert_eq!(line.to_vec(), b"GET / HTTP/1.1", "{how}");
        let headers = r.read_to_slice(b"\r\n\r\n", false).unwrap();
        assert_eq!(headers.to_vec(), b"Host: a\r", "{how}");
        assert!(r.is_next_slice(b"\r\n\r\n", true), "{how}");
        assert!(!r.is_next_slice(b"bodx", true));
        assert!(r.is_next_slice(b"bod", false));
        assert_eq!(r.consumed(), 28);
        let before = r.consumed();
        assert!(r.read_to_slice(b"\r\n\r\n", true).is_none(), "{how}");
        assert_eq!(r.consumed(), before);
        assert_eq!(r.read_to_slice(b"", true).unwrap().len(), 0);
        let body = r.read_to_slice(b"\r\n", true).unwrap();
        assert_eq!(body.to_vec(), b"body");
        assert!(!r.is_next_slice(b"\r\n", false), "only \\r is left");
        assert!(r.is_next_slice(b"\r", true));
        assert!(r.is_end());
    });
    // Overlapping prefixes: "aab" in "aaab".
    each_chunking(b"aaabaab", |mut r, how| {
        assert_eq!(
            r.read_to_slice(b"aab", true).unwrap().to_vec(),
            b"a",
            "{how}"
        );
        assert_eq!(
            r.read_to_slice(b"aab", true).unwrap().to_vec(),
            b"",
            "{how}"
        );
        assert!(r.is_end());
    });
}

#[test]
fn results_are_borrowed_when_contiguous() {
    let data = pattern(64);
    with_sequence(&data, 16, &[16], |seq| {
        let mut r = SequenceReader::new(seq);
        r.advance(3);
        let inside = r.read_bytes(10).unwrap();
        let slice = inside.as_contiguous().expect("in one chunk");
        assert_eq!(slice, &data[3..13]);
        // The very memory of the chunk: no copy.
        assert_eq!(slice.as_ptr(), seq.first_chunk()[3..].as_ptr());
        assert!(matches!(inside.to_contiguous(), Cow::Borrowed(_)));
        let across = r.read_bytes(10).unwrap(); // 13..23 crosses 16
        assert_eq!(across.as_contiguous(), None);
        match across.to_contiguous() {
            Cow::Owned(v) => assert_eq!(v, &data[13..23]),
            Cow::Borrowed(_) => panic!("bytes in two chunks came back borrowed"),
        }
        assert_eq!(
            r.unread_chunk().as_ptr(),
            seq.slice(23..).first_chunk().as_ptr()
        );
    });
}

#[test]
fn position_goes_back_to_the_pipe() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 4);
    put_commit(&mut w, b"\x00\x03abc\x00\x05de");
    let (consumed, examined) = {
        let res = r.try_read().unwrap().unwrap();
        let mut sr = SequenceReader::new(res.buffer());
        let len = sr.read_u16_be().unwrap() as usize;
        assert_eq!(sr.read_bytes(len).unwrap().to_vec(), b"abc");
        let frame_end = sr.position();
        let len = sr.read_u16_be().unwrap() as usize;
        assert!(sr.read_bytes(len).is_none(), "incomplete second frame");
        (frame_end, res.buffer().end())
    };
    r.advance_to(consumed, examined).unwrap();
    assert!(
        r.try_read().unwrap().is_none(),
        "all examined: waits for more"
    );
    put_commit(&mut w, b"fgh");
    let res = r.try_read().unwrap().unwrap();
    let mut sr = SequenceReader::new(res.buffer());
    assert_eq!(sr.read_u16_be(), Some(5));
    assert_eq!(sr.read_bytes(5).unwrap().to_vec(), b"defgh");
    assert!(sr.is_end());
}

/// One step of the property test, applied to the reader and to the model (a slice and an
/// index); returns a description of what went wrong, if anything did.
fn step(
    rng: &mut Rng,
    r: &mut SequenceReader<'_>,
    data: &[u8],
    pos: &mut usize,
) -> Result<(), String> {
    let rest = &data[*pos..];
    let small = |rng: &mut Rng| rng.below(4) as u8; // the alphabet of the data
    let some_bytes = |rng: &mut Rng| {
        (0..rng.range(1, 3))
            .map(|_| rng.below(4) as u8)
            .collect::<Vec<u8>>()
    };
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let op = rng.below(14);
    let desc;
    match op {
        0 => {
            let n = rng.below(rest.len() + 3);
            desc = format!("try_advance({n})");
            let ok = r.try_advance(n);
            if ok != (n <= rest.len()) {
                return Err(desc);
            }
            if ok {
                *pos += n;
            }
        }
        1 => {
            let n = rng.below(*pos + 1);
            desc = format!("rewind({n})");
            r.rewind(n);
            *pos -= n;
        }
        2 => {
            let n = rng.below(rest.len() + 3);
            desc = format!("try_copy_to({n})");
            let mut dst = vec![0; n];
            let ok = r.try_copy_to(&mut dst);
            if ok != (n <= rest.len()) || (ok && dst != rest[..n]) {
                return Err(desc);
            }
        }
        3 => {
            let n = rng.below(rest.len() + 3);
            desc = format!("read_bytes({n})");
            let got = r.read_bytes(n).map(|s| s.to_vec());
            if got.as_deref() != rest.get(..n) {
                return Err(desc);
            }
            if got.is_some() {
                *pos += n;
            }
        }
        4 | 5 => {
            let (d, past) = (small(rng), rng.one_in(2));
            desc = format!("read_to({d}, {past})");
            let got = r.read_to(d, past).map(|s| s.to_vec());
            let want = rest.iter().position(|&b| b == d);
            if got.as_deref() != want.map(|i| &rest[..i]) {
                return Err(desc);
            }
            if let Some(i) = want {
                *pos += i + usize::from(past);
            }
        }
        6 | 7 => {
            let (d, past) = (some_bytes(rng), rng.one_in(2));
            desc = format!("read_to_slice({d:?}, {past})");
            let got = r.read_to_slice(&d, past).map(|s| s.to_vec());
            let want = find(rest, &d);
            if got.as_deref() != want.map(|i| &rest[..i]) {
                return Err(desc);
            }
            if let Some(i) = want {
                *pos += i + if past { d.len() } else { 0 };
            }
        }
        8 => {
            let (d, past) = (some_bytes(rng), rng.one_in(2));
            desc = format!("read_to_any({d:?}, {past})");
            let got = r.read_to_any(&d, past).map(|s| s.to_vec());
            let want = rest.iter().position(|b| d.contains(b));
            if got.as_deref() != want.map(|i| &rest[..i]) {
                return Err(desc);
            }
            if let Some(i) = want {
                *pos += i + usize::from(past);
            }
        }
        9 => {
            let d = some_bytes(rng);
            desc = format!("advance_past_any({d:?})");
            let n = r.advance_past_any(&d);
            let want = rest
                .iter()
                .position(|b| !d.contains(b))
                .unwrap_or(rest.len());
            if n != want {
                return Err(desc);
            }
            *pos += n;
        }
        10 => {
            let (b, adv) = (small(rng), rng.one_in(2));
            desc = format!("is_next({b}, {adv})");
            let hit = r.is_next(b, adv);
            if hit != (rest.first() == Some(&b)) {
                return Err(desc);
            }
            if hit && adv {
                *pos += 1;
            }
        }
        11 => {
            let (s, adv) = (some_bytes(rng), rng.one_in(2));
            desc = format!("is_next_slice({s:?}, {adv})");
            let hit = r.is_next_slice(&s, adv);
            if hit != rest.starts_with(&s) {
                return Err(desc);
            }
            if hit && adv {
                *pos += s.len();
            }
        }
        12 => {
            let (w, be, read) = (rng.below(9), rng.one_in(2), rng.one_in(2));
            desc = format!("uint({w}, be {be}, read {read})");
            let want = rest.get(..w).map(|b| {
                let it = b.iter().copied();
                if be {
                    it.fold(0u64, |v, x| v << 8 | u64::from(x))
                } else {
                    it.rev().fold(0u64, |v, x| v << 8 | u64::from(x))
                }
            });
            let got = match (be, read) {
                (true, false) => r.peek_uint_be(w),
                (false, false) => r.peek_uint_le(w),
                (true, true) => r.read_uint_be(w),
                (false, true) => r.read_uint_le(w),
            };
            if got != want {
                return Err(desc);
            }
            if read && got.is_some() {
                *pos += w;
            }
        }
        _ => {
            let k = rng.below(rest.len() + 2);
            desc = format!("peek_at({k}) / u32 / u64");
            if r.peek_at(k) != rest.get(k).copied()
                || r.peek_u32_le()
                    != rest
                        .get(..4)
                        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                || r.peek_u64_be()
                    != rest
                        .get(..8)
                        .map(|b| u64::from_be_bytes(b.try_into().unwrap()))
            {
                return Err(desc);
            }
        }
    }
    let ok = r.consumed() == *pos
        && r.remaining() == data.len() - *pos
        && r.position() == r.sequence().position(*pos)
        && r.peek() == data.get(*pos).copied()
        && r.is_end() == (*pos == data.len())
        && r.unread_chunk() == &data[*pos..*pos + r.unread_chunk().len()]
        && r.unread_sequence().to_vec() == data[*pos..];
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{desc}: state differs from the model (model at {pos}, reader at {})",
            r.consumed()
        ))
    }
}

fn model_matches(seed: u64) -> bool {
    let mut rng = Rng::new(seed);
    let len = rng.below(80);
    let data: Vec<u8> = (0..len).map(|_| rng.below(4) as u8).collect();
    let chunk = rng.range(1, 12);
    let pieces: Vec<usize> = (0..rng.range(1, 5)).map(|_| rng.range(1, chunk)).collect();
    with_sequence(&data, chunk, &pieces, |seq: Sequence<'_>| {
        let mut r = SequenceReader::new(seq);
        let mut pos = 0;
        for i in 0..rng.range(1, 60) {
            if let Err(what) = step(&mut rng, &mut r, &data, &mut pos) {
                eprintln!(
                    "seed {seed}, op {i}: {what} (data {data:?}, chunk {chunk}, pieces {pieces:?})"
                );
                return false;
            }
        }
        true
    })
}

#[test]
fn matches_a_slice_model() {
    QuickCheck::new()
        .tests(if cfg!(miri) { 5 } else { 500 })
        .quickcheck(model_matches as fn(u64) -> bool);
}
