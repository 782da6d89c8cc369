//! bytes' `BufMut` over the writer's granted memory and `Buf` over reads: puts land in the
//! pipe, the room is the granted memory, `Buf` walks chunks (integers straddling them), and
//! `read_buf` advances consumed and examined as documented.
#![cfg(feature = "bytes")]

mod support;

use bytes::{Buf, BufMut};
use ringpipe::{read_buf_blocking, SequenceBuf, WriterBufMut};
use std::io::IoSlice;
use support::{must_read, pattern, plain_pipe, put_commit, with_sequence, with_timeout};

#[test]
fn buf_mut_puts_land_in_the_pipe() {
    let (mut w, mut r, _pool) = plain_pipe(64, 16);
    let mut buf = WriterBufMut::try_new(&mut w, 16).unwrap();
    let room = buf.remaining_mut();
    assert!(room >= 16);
    buf.put_u16(0x0102);
    buf.put_u32_le(0x0A0B0C0D);
    buf.put_slice(b"xy");
    assert_eq!(buf.remaining_mut(), room - 8);
    let w = buf.into_inner();
    assert_eq!(w.unflushed_bytes(), 8);
    w.commit();
    assert_eq!(
        must_read(&mut r).bytes,
        [1, 2, 0x0D, 0x0C, 0x0B, 0x0A, b'x', b'y']
    );
}

#[test]
fn buf_mut_without_memory_has_no_room() {
    let (mut w, _r, _pool) = plain_pipe(64, 16);
    let mut buf = WriterBufMut::new(&mut w);
    assert_eq!(buf.remaining_mut(), 0);
    assert_eq!(buf.chunk_mut().len(), 0);
}

#[test]
#[should_panic(expected = "advance_mut(17) past the granted memory")]
fn buf_mut_cannot_advance_past_its_memory() {
    let (mut w, _r, _pool) = plain_pipe(64, 16);
    let mut buf = WriterBufMut::try_new(&mut w, 16).unwrap();
    // SAFETY: the memory is initialized; the call must panic before advancing.
    unsafe { buf.advance_mut(17) };
}

#[test]
fn buf_walks_chunks_and_integers_straddle_them() {
    let data = pattern(40);
    with_sequence(&data, 8, &[3, 5, 8, 1], |seq| {
        let mut buf = SequenceBuf::new(seq);
        assert_eq!(buf.remaining(), 40);
        assert!(buf.chunk().len() <= 8);
        let mut slices = [IoSlice::new(&[]); 64];
        let n = buf.chunks_vectored(&mut slices);
        let joined: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
        assert_eq!(joined, data);
        let mut got = Vec::new();
        while buf.remaining() >= 4 {
            got.extend_from_slice(&buf.get_u32().to_be_bytes());
        }
        assert_eq!(got, data);
        assert_eq!(buf.position(), buf.end());
    });
}

#[test]
fn read_buf_consumes_what_the_closure_took() {
    with_timeout(|| {
        let (mut w, mut r, _pool) = plain_pipe(64, 8);
        put_commit(&mut w, b"\x00\x03abc\x00\x05de");
        let first = read_buf_blocking(&mut r, |buf| {
            let len = buf.get_u16() as usize;
            buf.copy_to_bytes(len)
        })
        .unwrap();
        assert_eq!(&first[..], b"abc");
        // Something was consumed: the rest is examined no further and is read at once.
        let incomplete = read_buf_blocking(&mut r, |buf| {
            let len = u16::from_be_bytes([buf.chunk()[0], buf.sequence().to_vec()[1]]) as usize;
            if buf.remaining() < 2 + len {
                return None; // consumed nothing: it needs more
            }
            Some(buf.copy_to_bytes(len))
        })
        .unwrap();
        assert_eq!(incomplete, None);
        // Nothing consumed: all of it was examined, and the next read waits for more.
        assert!(r.try_read().unwrap().is_none());
        put_commit(&mut w, b"fgh");
        let second = read_buf_blocking(&mut r, |buf| {
            let len = buf.get_u16() as usize;
            assert!(!buf.is_completed() && !buf.is_canceled());
            buf.copy_to_bytes(len)
        })
        .unwrap();
        assert_eq!(&second[..], b"defgh");
    });
}
