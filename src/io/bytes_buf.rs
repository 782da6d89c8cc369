//! bytes' `BufMut` over the writer's granted memory and `Buf` over a read (feature `bytes`), so
//! encoders written against `BufMut` write straight into the pipe and decoders written against
//! `Buf` parse straight from its chunks.

use crate::error::{ReadError, WriteError};
use crate::pipe::home::{Home, InProcess};
use crate::pipe::reader::{PipeReader, ReadResult};
use crate::pipe::sequence::{Position, Sequence};
use crate::pipe::writer::PipeWriter;
use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut};
use std::io::IoSlice;

/// The writer's granted memory as a [`BufMut`]: what is put into it is written into the pipe's
/// memory, and [`advance_mut`](BufMut::advance_mut) advances the writer. Commit or flush the
/// writer afterwards, as after [`PipeWriter::advance`].
///
/// Its room ([`remaining_mut`](BufMut::remaining_mut)) is the memory the last `get_memory`
/// call handed out, minus what was advanced since: a fixed-size buffer, like a `&mut [u8]`,
/// so putting more than that panics (`BufMut`'s contract). Get as much memory as the encoder
/// needs first (at most [`PipeWriter::max_memory`]).
///
/// ```
/// use bytes::BufMut;
///
/// let (mut writer, mut reader) = ringpipe::pipe(Default::default());
/// let mut buf = ringpipe::WriterBufMut::try_new(&mut writer, 8).unwrap();
/// buf.put_u32(0xCAFE_F00D);
/// buf.put_slice(b"hi");
/// writer.commit();
/// let res = reader.try_read().unwrap().unwrap();
/// assert_eq!(res.buffer().to_vec(), b"\xCA\xFE\xF0\x0Dhi");
/// ```
#[derive(Debug)]
pub struct WriterBufMut<'a, H: Home = InProcess> {
    writer: &'a mut PipeWriter<H>,
}

impl<'a, H: Home> WriterBufMut<'a, H> {
    /// The memory `writer` was granted last (empty if none: get memory first).
    pub fn new(writer: &'a mut PipeWriter<H>) -> Self {
        WriterBufMut { writer }
    }

    /// Gets at least `size_hint` bytes of memory without waiting
    /// ([`PipeWriter::try_get_memory`]), and puts a `BufMut` over it.
    ///
    /// # Errors
    /// As [`PipeWriter::try_get_memory`] ([`WriteError::Full`] if there is no room now).
    pub fn try_new(writer: &'a mut PipeWriter<H>, size_hint: usize) -> Result<Self, WriteError> {
        writer.try_get_memory(size_hint)?;
        Ok(WriterBufMut { writer })
    }

    /// As [`try_new`](Self::try_new), parking the thread until there is room
    /// ([`PipeWriter::get_memory_blocking`]).
    ///
    /// # Errors
    /// As [`PipeWriter::get_memory_blocking`].
    pub fn new_blocking(
        writer: &'a mut PipeWriter<H>,
        size_hint: usize,
    ) -> Result<Self, WriteError> {
        writer.get_memory_blocking(size_hint)?;
        Ok(WriterBufMut { writer })
    }

    /// The writer back.
    pub fn into_inner(self) -> &'a mut PipeWriter<H> {
        self.writer
    }
}

// SAFETY: `BufMut`'s requirements: `chunk_mut` is exactly the writer's granted memory, whose
// length `remaining_mut` returns (the granted length, read without borrowing it), so the two
// agree and the chunk is empty exactly when there is no room. `advance_mut(cnt)` advances the
// writer by `cnt` after checking `cnt <= remaining_mut()`, so it never marks more bytes written
// than the chunk holds. The memory is a `&mut [u8]`: always initialized, so even bytes the
// caller did not write are never uninitialized memory.
unsafe impl<H: Home> BufMut for WriterBufMut<'_, H> {
    fn remaining_mut(&self) -> usize {
        self.writer.granted_len()
    }

    /// # Panics
    /// If `cnt` is more than [`remaining_mut`](BufMut::remaining_mut).
    unsafe fn advance_mut(&mut self, cnt: usize) {
        let room = self.writer.granted_len();
        assert!(
            cnt <= room,
            "ringpipe: advance_mut({cnt}) past the granted memory ({room} bytes)"
        );
        self.writer.advance(cnt);
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        UninitSlice::new(self.writer.granted_memory())
    }
}

/// A read's bytes as a [`Buf`], across chunks without copying: [`chunk`](Buf::chunk) is the
/// first unconsumed piece, [`advance`](Buf::advance) moves on, and [`position`](Self::position)
/// is where it got to, the consumed position for [`PipeReader::advance_to`].
///
/// Why not a wrapper that advances the reader itself when dropped: the bytes borrow the reader
/// (they live in its chunks until it advances past them), so one value cannot hold both the
/// bytes and the reader to advance. [`read_buf`] and [`read_buf_blocking`] run the read, hand
/// a `SequenceBuf` to a closure, and advance the reader to where the closure left it.
///
/// ```
/// use bytes::Buf;
///
/// let (mut writer, mut reader) = ringpipe::pipe(Default::default());
/// writer.write_all_blocking(b"\x00\x05hello, and more").unwrap();
/// let hello = ringpipe::read_buf_blocking(&mut reader, |buf| {
///     let len = buf.get_u16() as usize;
///     buf.copy_to_bytes(len)
/// })
/// .unwrap();
/// assert_eq!(&hello[..], b"hello");
/// // The rest is unconsumed, and the next read returns it at once.
/// assert_eq!(reader.try_read().unwrap().unwrap().buffer().to_vec(), b", and more");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SequenceBuf<'a> {
    seq: Sequence<'a>,
    completed: bool,
    canceled: bool,
}

impl<'a> SequenceBuf<'a> {
    /// A `Buf` over `seq` (neither completed nor canceled).
    pub fn new(seq: Sequence<'a>) -> SequenceBuf<'a> {
        SequenceBuf {
            seq,
            completed: false,
            canceled: false,
        }
    }

    /// A `Buf` over a read's bytes, with its completion and cancel flags.
    pub fn from_read(res: &ReadResult<'a>) -> SequenceBuf<'a> {
        SequenceBuf {
            seq: res.buffer(),
            completed: res.is_completed(),
            canceled: res.is_canceled(),
        }
    }

    /// Where the `Buf` got to: the position to consume up to.
    pub fn position(&self) -> Position {
        self.seq.start()
    }

    /// The end of the bytes: the position to examine up to when they are not enough.
    pub fn end(&self) -> Position {
        self.seq.end()
    }

    /// The bytes not advanced over yet.
    pub fn sequence(&self) -> Sequence<'a> {
        self.seq
    }

    /// The read's writer has completed: no bytes will follow these.
    pub fn is_completed(&self) -> bool {
        self.completed
    }

    /// The read was canceled ([`PipeCanceller::cancel_pending_read`](crate::PipeCanceller::cancel_pending_read)).
    pub fn is_canceled(&self) -> bool {
        self.canceled
    }
}

impl Buf for SequenceBuf<'_> {
    fn remaining(&self) -> usize {
        self.seq.len()
    }

    fn chunk(&self) -> &[u8] {
        self.seq.first_chunk()
    }

    fn chunks_vectored<'b>(&'b self, dst: &mut [IoSlice<'b>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.seq.chunks()) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// # Panics
    /// If `cnt` is more than [`remaining`](Buf::remaining) (`Buf`'s contract).
    fn advance(&mut self, cnt: usize) {
        assert!(
            cnt <= self.seq.len(),
            "ringpipe: advance({cnt}) past the end of the buffer ({} bytes)",
            self.seq.len()
        );
        self.seq = self.seq.slice(cnt..);
    }
}

/// Reads (waiting for data), hands the bytes to `f` as a [`SequenceBuf`], and advances the
/// reader to where `f` left it: consumed up to [`position`](SequenceBuf::position); examined
/// up to there too if `f` consumed anything (the rest is read again at once), or up to the end
/// if it consumed nothing (it needs more: the next read waits for more, as a frame decoder
/// does). Returns what `f` returned. Cancel-safe (dropping it before the read is ready changes
/// nothing).
///
/// # Errors
/// As [`PipeReader::read`].
///
/// # Panics
/// If `f` replaced the `SequenceBuf` with one of another pipe (its position cannot be
/// advanced to).
pub async fn read_buf<R, H: Home>(
    reader: &mut PipeReader<H>,
    f: impl FnOnce(&mut SequenceBuf<'_>) -> R,
) -> Result<R, ReadError> {
    let (out, consumed, examined) = {
        let res = reader.read().await?;
        let mut buf = SequenceBuf::from_read(&res);
        let start = buf.position();
        let out = f(&mut buf);
        let consumed = buf.position();
        let examined = if consumed == start {
            buf.end()
        } else {
            consumed
        };
        (out, consumed, examined)
    };
    reader
        .advance_to(consumed, examined)
        .expect("ringpipe: read_buf's closure replaced the SequenceBuf with another pipe's");
    Ok(out)
}

/// As [`read_buf`], parking the thread while it waits.
///
/// # Errors
/// As [`read_buf`].
///
/// # Panics
/// As [`read_buf`].
pub fn read_buf_blocking<R, H: Home>(
    reader: &mut PipeReader<H>,
    f: impl FnOnce(&mut SequenceBuf<'_>) -> R,
) -> Result<R, ReadError> {
    reader.blocker().block_on(read_buf(reader, f))
}
