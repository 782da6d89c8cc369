//! The reader's view of the data: a multi-chunk byte sequence (.NET `ReadOnlySequence<byte>`)
//! and positions in it (.NET `SequencePosition`).

use crate::protocol::SlotView;
use core::fmt;
use core::ops::{Bound, Range, RangeBounds};

/// A position in a pipe's byte stream, handed out by a [`Sequence`] and taken back by
/// [`PipeReader::advance_to`](crate::PipeReader::advance_to).
///
/// It is an absolute byte offset plus a tag naming the pipe (and its reset generation), so a
/// position from another pipe, or from before a reset, is refused instead of misread.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub(crate) pos: u64,
    pub(crate) tag: u64,
}

impl Position {
    /// The number of bytes written into the pipe before this position (since creation or the
    /// last reset).
    pub fn offset(&self) -> u64 {
        self.pos
    }
}

impl fmt::Debug for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Position({})", self.pos)
    }
}

/// Where a chunk walk stands: chunk `seq` holds data from position `start` to `end`
/// (`u64::MAX` while the writer was filling it when we looked: then it holds every byte of the
/// sequence from `start` on), in the slot memory at `base`.
#[derive(Clone, Copy)]
struct Cursor {
    seq: u64,
    start: u64,
    end: u64,
    base: *const u8,
}

/// All flushed, unconsumed bytes a read returned (or a slice of them), possibly spread over
/// several chunks. `Copy`; it borrows the reader, so it cannot outlive the read, and the
/// reader cannot advance while it is alive.
///
/// ```
/// let opts = ringpipe::PipeOptions::builder().chunk_size(4).build().unwrap();
/// let (mut w, mut r) = ringpipe::pipe(opts);
/// w.write_all_blocking(b"hello world").unwrap();
/// let res = r.try_read().unwrap().unwrap();
/// let buf = res.buffer();
/// assert_eq!(buf.len(), 11);
/// assert!(buf.chunks().count() >= 3);
/// let space = buf.find(b' ').unwrap();
/// assert_eq!(buf.slice_to(space).to_vec(), b"hello");
/// assert_eq!(buf.slice(6..).to_vec(), b"world");
/// ```
#[derive(Clone, Copy)]
pub struct Sequence<'a> {
    ring: &'a dyn SlotView,
    start: u64,
    end: u64,
    cur: Cursor,
    tag: u64,
}

// SAFETY: a `Sequence` reads (never writes) committed bytes the reader is borrowed for, through
// the `Sync` ring and the slot pointers it handed out: sharing or sending it is as sharing a
// `&[u8]` of those bytes.
unsafe impl Send for Sequence<'_> {}
// SAFETY: as above.
unsafe impl Sync for Sequence<'_> {}

impl fmt::Debug for Sequence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sequence")
            .field("start", &self.start)
            .field("end", &self.end)
            .finish()
    }
}

impl<'a> Sequence<'a> {
    /// # Safety
    /// Bytes `data` must be committed and unconsumed, chunk `seq` must hold position
    /// `data.start` with its data spanning `chunk` (`chunk.end == u64::MAX`: still open when
    /// its length was loaded, after the tail) in the slot memory at `base` (null if the sequence is empty), its data ending at most
    /// one slot's size after its start, and the caller must
    /// keep the reader from advancing for `'a`.
    #[inline]
    pub(crate) unsafe fn new(
        ring: &'a dyn SlotView,
        data: Range<u64>,
        seq: u64,
        chunk: Range<u64>,
        base: *const u8,
        tag: u64,
    ) -> Self {
        let mut s = Sequence {
            ring,
            start: data.start,
            end: data.end,
            cur: Cursor {
                seq,
                start: chunk.start,
                end: chunk.end,
                base,
            },
            tag,
        };
        s.cur = s.seek(data.start);
        s
    }

    /// The cursor of the chunk after `c`, whose data starts where `c`'s ends (`c` is sealed,
    /// and the sequence goes on past its end, so the next chunk is open).
    #[inline]
    fn next_chunk(&self, c: Cursor) -> Cursor {
        let seq = c.seq + 1;
        // P2: a sealed length is final; while the writer still fills the chunk it holds the
        // rest of the sequence, which fits in it. A cursor never spans more than a slot: on a
        // ring whose other side is not trusted, lengths are at most the slot size and an
        // unsealed chunk ends a slot's size after its start, whatever the other side wrote.
        let end = match self.ring.sealed_len(seq) {
            Some(len) => c.end + len as u64,
            None => c.end + self.ring.chunk_size() as u64,
        };
        Cursor {
            seq,
            start: c.end,
            end,
            // SAFETY: the sequence's data goes on in slot `seq` (the callers check), so the
            // slot is open and holds committed bytes (Sequence::new's contract).
            base: unsafe { self.ring.slot_base(seq) },
        }
    }

    /// The cursor of the chunk holding `pos` (`start <= pos <= end`); at a chunk boundary,
    /// the later chunk if there is data in it.
    #[inline]
    fn seek(&self, pos: u64) -> Cursor {
        let mut c = self.cur;
        // Move on only if the next chunk holds data of this sequence (so it was opened).
        while c.end <= pos && c.end < self.end {
            c = self.next_chunk(c);
        }
        c
    }

    /// Number of bytes.
    #[inline]
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether there are no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The position of the first byte.
    #[inline]
    pub fn start(&self) -> Position {
        Position {
            pos: self.start,
            tag: self.tag,
        }
    }

    /// The position just past the last byte.
    #[inline]
    pub fn end(&self) -> Position {
        Position {
            pos: self.end,
            tag: self.tag,
        }
    }

    /// The position `offset` bytes from the start.
    ///
    /// # Panics
    /// If `offset > len()`.
    #[inline]
    pub fn position(&self, offset: usize) -> Position {
        assert!(
            offset <= self.len(),
            "ringpipe: offset {offset} is past the end of a sequence of {} bytes",
            self.len()
        );
        Position {
            pos: self.start + offset as u64,
            tag: self.tag,
        }
    }

    /// The offset of `pos` from the start, if `pos` lies in this sequence (end included).
    #[inline]
    pub fn offset_of(&self, pos: Position) -> Option<usize> {
        (pos.tag == self.tag && pos.pos >= self.start && pos.pos <= self.end)
            .then(|| (pos.pos - self.start) as usize)
    }

    /// The contiguous pieces of the sequence, in order; none is empty.
    #[inline]
    pub fn chunks(&self) -> Chunks<'a> {
        Chunks { seq: *self }
    }

    /// The first contiguous piece (empty if the sequence is).
    #[inline]
    pub fn first_chunk(&self) -> &'a [u8] {
        self.chunks().next().unwrap_or(&[])
    }

    /// Whether the bytes are contiguous in memory.
    pub fn is_single_chunk(&self) -> bool {
        self.first_chunk().len() == self.len()
    }

    /// The bytes `range` (offsets from the start).
    ///
    /// # Panics
    /// If the range is decreasing or past the end.
    pub fn slice(&self, range: impl RangeBounds<usize>) -> Sequence<'a> {
        // Saturating: `..=usize::MAX` or `(Excluded(usize::MAX), _)` must hit the assertion,
        // not wrap around to an in-range slice.
        let lo = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(&n) => n.saturating_add(1),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => self.len(),
        };
        let overflow = matches!(range.start_bound(), Bound::Excluded(&usize::MAX))
            || matches!(range.end_bound(), Bound::Included(&usize::MAX));
        assert!(
            !overflow && lo <= hi && hi <= self.len(),
            "ringpipe: slice {lo}..{hi} out of range for a sequence of {} bytes",
            self.len()
        );
        self.sub(self.start + lo as u64, self.start + hi as u64)
    }

    /// The bytes from `from` to `to`, if both lie in this sequence in that order.
    pub fn slice_between(&self, from: Position, to: Position) -> Option<Sequence<'a>> {
        let a = self.offset_of(from)?;
        let b = self.offset_of(to)?;
        (a <= b).then(|| self.sub(from.pos, to.pos))
    }

    /// The bytes before `to`.
    ///
    /// # Panics
    /// If `to` does not lie in this sequence.
    pub fn slice_to(&self, to: Position) -> Sequence<'a> {
        self.slice_between(self.start(), to)
            .expect("ringpipe: position outside the sequence")
    }

    /// The bytes from `from` on.
    ///
    /// # Panics
    /// If `from` does not lie in this sequence.
    pub fn slice_from(&self, from: Position) -> Sequence<'a> {
        self.slice_between(from, self.end())
            .expect("ringpipe: position outside the sequence")
    }

    fn sub(&self, start: u64, end: u64) -> Sequence<'a> {
        let narrowed = Sequence {
            end: self.end,
            ..*self
        };
        let cur = narrowed.seek(start);
        Sequence {
            ring: self.ring,
            start,
            end,
            cur,
            tag: self.tag,
        }
    }

    /// The position of the first `byte`, if any.
    pub fn find(&self, byte: u8) -> Option<Position> {
        let mut at = self.start;
        for chunk in self.chunks() {
            if let Some(i) = chunk.iter().position(|&b| b == byte) {
                return Some(Position {
                    pos: at + i as u64,
                    tag: self.tag,
                });
            }
            at += chunk.len() as u64;
        }
        None
    }

    /// Copies the first `dst.len()` bytes into `dst`.
    ///
    /// # Panics
    /// If the sequence is shorter than `dst`.
    pub fn copy_to_slice(&self, dst: &mut [u8]) {
        assert!(
            dst.len() <= self.len(),
            "ringpipe: copy_to_slice of {} bytes from a sequence of {}",
            dst.len(),
            self.len()
        );
        let mut done = 0;
        for chunk in self.chunks() {
            if done == dst.len() {
                break;
            }
            let n = chunk.len().min(dst.len() - done);
            dst[done..done + n].copy_from_slice(&chunk[..n]);
            done += n;
        }
    }

    /// The bytes, copied into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for chunk in self.chunks() {
            v.extend_from_slice(chunk);
        }
        v
    }
}

/// Iterator over the contiguous pieces of a [`Sequence`].
#[derive(Clone, Debug)]
pub struct Chunks<'a> {
    seq: Sequence<'a>,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let s = &mut self.seq;
        while s.start < s.end {
            let c = s.cur;
            let hi = c.end.min(s.end);
            if hi > s.start {
                let off = (s.start - c.start) as usize;
                let len = (hi - s.start) as usize;
                // SAFETY: positions `start .. hi` are committed and unconsumed (Sequence::new's
                // contract), so chunk `c.seq` is in the reader's range of slots, holds them at
                // offset `off` of its memory at `c.base` (`hi <= c.end`, at most a slot's size
                // past `c.start`: see `next_chunk`), and nobody writes them while the reader is
                // borrowed.
                let bytes = unsafe {
                    s.ring.track_read(c.seq, off, len);
                    core::slice::from_raw_parts(c.base.add(off), len)
                };
                s.start = hi;
                if hi == c.end && hi < s.end {
                    s.cur = s.next_chunk(c);
                }
                return Some(bytes);
            }
            // `start` sits at the end of a sealed chunk: the data goes on in the next one.
            s.cur = s.next_chunk(c);
        }
        None
    }
}
