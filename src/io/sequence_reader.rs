//! [`SequenceReader`]: a forward cursor for parsers over a multi-chunk [`Sequence`] (.NET
//! `SequenceReader<byte>`), and the contiguous views of a `Sequence` ([`Sequence::as_contiguous`],
//! [`Sequence::to_contiguous`]) that the reader's borrowed results are usually turned into.

use crate::pipe::sequence::{Position, Sequence};
use std::borrow::Cow;

/// A cursor over a [`Sequence`] for parsers: peek and read bytes and integers of every width in
/// both byte orders, read up to a delimiter (one byte, one of a set, or a multi-byte delimiter
/// that may straddle chunks), skip, rewind, and hand the current [`position`](Self::position)
/// to [`PipeReader::advance_to`](crate::PipeReader::advance_to). It is .NET's
/// `SequenceReader<byte>`.
///
/// The reader keeps the current chunk and the offset in it, so reading byte by byte or integer
/// by integer costs a bounds check within a chunk and one step when it crosses into the next;
/// nothing seeks from the start of the sequence again (only [`rewind`](Self::rewind) past the
/// current chunk does). Whatever it returns as bytes is borrowed from the pipe's chunks, never
/// copied: [`read_to`](Self::read_to) and friends return a sub-[`Sequence`], which
/// [`Sequence::as_contiguous`] turns into a `&[u8]` when it lies in one chunk (and
/// [`Sequence::to_contiguous`] into a `Cow` that copies only when it does not). Only
/// [`try_copy_to`](Self::try_copy_to) and the integer reads copy, into the caller's memory.
///
/// It is `Copy`: copying it is how to look ahead and come back.
///
/// ```
/// use ringpipe::{PipeOptions, SequenceReader};
///
/// // Chunks of 4 bytes, so everything below straddles chunk boundaries.
/// let opts = PipeOptions::builder().chunk_size(4).build().unwrap();
/// let (mut writer, mut reader) = ringpipe::pipe(opts);
/// writer.write_all_blocking(b"\x00\x2aGET /index.html\r\nrest").unwrap();
///
/// let result = reader.try_read().unwrap().unwrap();
/// let mut r = SequenceReader::new(result.buffer());
/// assert_eq!(r.read_u16_be(), Some(42));
/// let method = r.read_to(b' ', true).unwrap();
/// assert_eq!(method.to_contiguous(), &b"GET"[..]);
/// let path = r.read_to_slice(b"\r\n", true).unwrap();
/// assert_eq!(path.to_vec(), b"/index.html");
/// assert_eq!(r.remaining(), 4);
/// let consumed = r.position();
/// let examined = result.buffer().end();
/// reader.advance_to(consumed, examined).unwrap(); // "rest" stays for the next read
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SequenceReader<'a> {
    /// The whole sequence being read.
    seq: Sequence<'a>,
    /// The sequence from the first byte of `chunk` to the end of `seq`.
    rest: Sequence<'a>,
    /// The current chunk: the first chunk of `rest` (empty only when `rest` is).
    chunk: &'a [u8],
    /// The offset in `chunk` of the next unread byte. Invariant: `off < chunk.len()`, unless
    /// every byte has been read (then `off == chunk.len()`).
    off: usize,
    /// The offset in `seq` of `chunk`'s first byte.
    base: usize,
}

macro_rules! int_methods {
    ($($t:ident: $peek_be:ident, $peek_le:ident, $read_be:ident, $read_le:ident;)*) => {$(
        #[doc = concat!("The next `", stringify!($t), "` in big-endian (network) byte order, without advancing; `None` if fewer bytes remain.")]
        #[inline]
        pub fn $peek_be(&self) -> Option<$t> {
            self.peek_array().map($t::from_be_bytes)
        }

        #[doc = concat!("The next `", stringify!($t), "` in little-endian byte order, without advancing; `None` if fewer bytes remain.")]
        #[inline]
        pub fn $peek_le(&self) -> Option<$t> {
            self.peek_array().map($t::from_le_bytes)
        }

        #[doc = concat!("Reads a big-endian (network byte order) `", stringify!($t), "`; `None` (and the reader does not move) if fewer bytes remain.")]
        #[inline]
        pub fn $read_be(&mut self) -> Option<$t> {
            self.read_array().map($t::from_be_bytes)
        }

        #[doc = concat!("Reads a little-endian `", stringify!($t), "`; `None` (and the reader does not move) if fewer bytes remain.")]
        #[inline]
        pub fn $read_le(&mut self) -> Option<$t> {
            self.read_array().map($t::from_le_bytes)
        }
    )*};
}

impl<'a> SequenceReader<'a> {
    /// A reader at the start of `seq`.
    #[inline]
    pub fn new(seq: Sequence<'a>) -> SequenceReader<'a> {
        SequenceReader {
            seq,
            rest: seq,
            chunk: seq.first_chunk(),
            off: 0,
            base: 0,
        }
    }

    /// The whole sequence this reader reads, read and unread parts alike.
    #[inline]
    pub fn sequence(&self) -> Sequence<'a> {
        self.seq
    }

    /// The number of bytes read (advanced past) so far.
    #[inline]
    pub fn consumed(&self) -> usize {
        self.base + self.off
    }

    /// The number of bytes left to read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.seq.len() - self.consumed()
    }

    /// Whether every byte has been read.
    #[inline]
    pub fn is_end(&self) -> bool {
        self.off == self.chunk.len()
    }

    /// The position of the next unread byte: hand it to
    /// [`PipeReader::advance_to`](crate::PipeReader::advance_to) as the consumed (or examined)
    /// position.
    #[inline]
    pub fn position(&self) -> Position {
        self.seq.position(self.consumed())
    }

    /// The bytes not read yet, as a sequence (.NET `UnreadSequence`). Cheap: it starts from the
    /// current chunk.
    #[inline]
    pub fn unread_sequence(&self) -> Sequence<'a> {
        self.rest.slice(self.off..)
    }

    /// The unread part of the current chunk (.NET `UnreadSpan`): empty only at the end.
    #[inline]
    pub fn unread_chunk(&self) -> &'a [u8] {
        &self.chunk[self.off..]
    }

    /// The current chunk, read and unread bytes alike (.NET `CurrentSpan`); the next unread
    /// byte is at [`unread_chunk`](Self::unread_chunk)'s start.
    #[inline]
    pub fn current_chunk(&self) -> &'a [u8] {
        self.chunk
    }

    /// Moves to the next chunk, if there is one.
    #[inline]
    fn next_chunk(&mut self) -> bool {
        let len = self.chunk.len();
        if self.base + len >= self.seq.len() {
            return false;
        }
        // `rest` starts at this chunk, so the slice seeks one chunk ahead.
        self.rest = self.rest.slice(len..);
        self.base += len;
        self.chunk = self.rest.first_chunk();
        self.off = 0;
        true
    }

    /// The sequence after the current chunk.
    #[inline]
    fn after_chunk(&self) -> Sequence<'a> {
        self.rest.slice(self.chunk.len()..)
    }

    /// Advances `n <= remaining()` bytes.
    #[inline]
    fn skip(&mut self, mut n: usize) {
        debug_assert!(n <= self.remaining());
        loop {
            let avail = self.chunk.len() - self.off;
            if n < avail {
                self.off += n;
                return;
            }
            n -= avail;
            self.off = self.chunk.len();
            // At the end of the chunk: move on (keeping `off < chunk.len()`) unless this was
            // the last one, then stop if nothing is left to skip.
            if !self.next_chunk() || n == 0 {
                return;
            }
        }
    }

    /// Advances past `n` bytes.
    ///
    /// # Panics
    /// If `n > remaining()`: check first, or use [`try_advance`](Self::try_advance).
    #[inline]
    pub fn advance(&mut self, n: usize) {
        assert!(
            n <= self.remaining(),
            "ringpipe: SequenceReader::advance({n}) with {} bytes remaining",
            self.remaining()
        );
        self.skip(n);
    }

    /// Advances past `n` bytes if that many remain; otherwise returns `false` and does not
    /// move.
    #[inline]
    pub fn try_advance(&mut self, n: usize) -> bool {
        if n > self.remaining() {
            return false;
        }
        self.skip(n);
        true
    }

    /// Moves back `n` bytes. Within the current chunk this is a subtraction; further back the
    /// reader walks the chunks from the start of the sequence again.
    ///
    /// # Panics
    /// If `n > consumed()`.
    pub fn rewind(&mut self, n: usize) {
        let consumed = self.consumed();
        assert!(
            n <= consumed,
            "ringpipe: SequenceReader::rewind({n}) after only {consumed} bytes were read"
        );
        if n <= self.off {
            self.off -= n;
            // At the very end `off == chunk.len()`; after moving back it is inside the chunk.
            return;
        }
        *self = SequenceReader::new(self.seq);
        self.skip(consumed - n);
    }

    /// The next byte, without advancing.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.chunk.get(self.off).copied()
    }

    /// The byte `offset` bytes past the next one (`peek_at(0) == peek()`), without advancing.
    pub fn peek_at(&self, offset: usize) -> Option<u8> {
        if let Some(&b) = self.unread_chunk().get(offset) {
            return Some(b);
        }
        if offset >= self.remaining() {
            return None;
        }
        let mut probe = *self;
        probe.skip(offset);
        probe.peek()
    }

    /// Reads one byte.
    #[inline]
    pub fn read_u8(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.skip(1);
        Some(b)
    }

    /// Reads one byte as an `i8`.
    #[inline]
    pub fn read_i8(&mut self) -> Option<i8> {
        self.read_u8().map(|b| b as i8)
    }

    /// The next byte as an `i8`, without advancing.
    #[inline]
    pub fn peek_i8(&self) -> Option<i8> {
        self.peek().map(|b| b as i8)
    }

    /// Copies the next `dst.len()` bytes into `dst` without advancing (.NET `TryCopyTo`).
    /// Returns `false`, leaving `dst` as it was, if fewer bytes remain.
    pub fn try_copy_to(&self, dst: &mut [u8]) -> bool {
        let n = dst.len();
        if n > self.remaining() {
            return false;
        }
        let first = self.unread_chunk();
        if first.len() >= n {
            dst.copy_from_slice(&first[..n]);
            return true;
        }
        dst[..first.len()].copy_from_slice(first);
        let mut done = first.len();
        for chunk in self.after_chunk().chunks() {
            let k = chunk.len().min(n - done);
            dst[done..done + k].copy_from_slice(&chunk[..k]);
            done += k;
            if done == n {
                break;
            }
        }
        true
    }

    /// Copies the next `dst.len()` bytes into `dst` and advances past them; `false` (and no
    /// change) if fewer bytes remain.
    #[inline]
    pub fn read_into(&mut self, dst: &mut [u8]) -> bool {
        if !self.try_copy_to(dst) {
            return false;
        }
        self.skip(dst.len());
        true
    }

    /// The next `N` bytes as an array, without advancing.
    #[inline]
    pub fn peek_array<const N: usize>(&self) -> Option<[u8; N]> {
        if let Some(bytes) = self.unread_chunk().get(..N) {
            // The fast path: the bytes lie in the current chunk.
            let mut out = [0; N];
            out.copy_from_slice(bytes);
            return Some(out);
        }
        let mut out = [0; N];
        self.try_copy_to(&mut out).then_some(out)
    }

    /// Reads the next `N` bytes as an array.
    #[inline]
    pub fn read_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let out = self.peek_array::<N>()?;
        self.skip(N);
        Some(out)
    }

    int_methods! {
        u16: peek_u16_be, peek_u16_le, read_u16_be, read_u16_le;
        i16: peek_i16_be, peek_i16_le, read_i16_be, read_i16_le;
        u32: peek_u32_be, peek_u32_le, read_u32_be, read_u32_le;
        i32: peek_i32_be, peek_i32_le, read_i32_be, read_i32_le;
        u64: peek_u64_be, peek_u64_le, read_u64_be, read_u64_le;
        i64: peek_i64_be, peek_i64_le, read_i64_be, read_i64_le;
        u128: peek_u128_be, peek_u128_le, read_u128_be, read_u128_le;
        i128: peek_i128_be, peek_i128_le, read_i128_be, read_i128_le;
    }

    /// An unsigned big-endian integer of `nbytes` bytes (0 to 8; 0 reads nothing and gives
    /// 0), without advancing: the odd widths of length fields (3 bytes, say).
    ///
    /// # Panics
    /// If `nbytes > 8`.
    pub fn peek_uint_be(&self, nbytes: usize) -> Option<u64> {
        let mut buf = [0u8; 8];
        assert!(
            nbytes <= 8,
            "ringpipe: peek_uint_be({nbytes}): at most 8 bytes"
        );
        self.try_copy_to(&mut buf[8 - nbytes..])
            .then(|| u64::from_be_bytes(buf))
    }

    /// As [`peek_uint_be`](Self::peek_uint_be), little-endian.
    ///
    /// # Panics
    /// If `nbytes > 8`.
    pub fn peek_uint_le(&self, nbytes: usize) -> Option<u64> {
        let mut buf = [0u8; 8];
        assert!(
            nbytes <= 8,
            "ringpipe: peek_uint_le({nbytes}): at most 8 bytes"
        );
        self.try_copy_to(&mut buf[..nbytes])
            .then(|| u64::from_le_bytes(buf))
    }

    /// Reads an unsigned big-endian integer of `nbytes` bytes (0 to 8).
    ///
    /// # Panics
    /// If `nbytes > 8`.
    pub fn read_uint_be(&mut self, nbytes: usize) -> Option<u64> {
        let v = self.peek_uint_be(nbytes)?;
        self.skip(nbytes);
        Some(v)
    }

    /// Reads an unsigned little-endian integer of `nbytes` bytes (0 to 8).
    ///
    /// # Panics
    /// If `nbytes > 8`.
    pub fn read_uint_le(&mut self, nbytes: usize) -> Option<u64> {
        let v = self.peek_uint_le(nbytes)?;
        self.skip(nbytes);
        Some(v)
    }

    /// The next `n` bytes as a sequence, advancing past them (.NET `TryReadExact`); `None`
    /// (and no change) if fewer remain. Borrowed, not copied.
    pub fn read_bytes(&mut self, n: usize) -> Option<Sequence<'a>> {
        if n > self.remaining() {
            return None;
        }
        let out = self.unread_sequence().slice(..n);
        self.skip(n);
        Some(out)
    }

    /// The offset from the next unread byte of the first byte among the first `limit` unread
    /// bytes for which `hit` holds.
    #[inline]
    pub(crate) fn find_within(
        &self,
        limit: usize,
        mut hit: impl FnMut(u8) -> bool,
    ) -> Option<usize> {
        let limit = limit.min(self.remaining());
        let first = self.unread_chunk();
        let first = &first[..first.len().min(limit)];
        if let Some(i) = first.iter().position(|&b| hit(b)) {
            return Some(i);
        }
        let mut at = first.len();
        if at == limit {
            return None;
        }
        for chunk in self.after_chunk().chunks() {
            let chunk = &chunk[..chunk.len().min(limit - at)];
            if let Some(i) = chunk.iter().position(|&b| hit(b)) {
                return Some(at + i);
            }
            at += chunk.len();
            if at == limit {
                break;
            }
        }
        None
    }

    /// The offset from the next unread byte of the first occurrence of `delim` (which may
    /// straddle chunks).
    fn find_slice(&self, delim: &[u8]) -> Option<usize> {
        let Some(&first) = delim.first() else {
            return Some(0);
        };
        let mut probe = *self;
        let mut at = 0;
        loop {
            if probe.remaining() < delim.len() {
                return None;
            }
            let i = probe.find_within(usize::MAX, |b| b == first)?;
            probe.skip(i);
            at += i;
            if probe.starts_with(delim) {
                return Some(at);
            }
            probe.skip(1);
            at += 1;
        }
    }

    /// Whether the unread bytes start with `s` (which may straddle chunks).
    fn starts_with(&self, s: &[u8]) -> bool {
        if s.len() > self.remaining() {
            return false;
        }
        let first = self.unread_chunk();
        if first.len() >= s.len() {
            return &first[..s.len()] == s;
        }
        if first != &s[..first.len()] {
            return false;
        }
        let mut done = first.len();
        for chunk in self.after_chunk().chunks() {
            let k = chunk.len().min(s.len() - done);
            if chunk[..k] != s[done..done + k] {
                return false;
            }
            done += k;
            if done == s.len() {
                break;
            }
        }
        true
    }

    /// The bytes `len` long from here, then advance past them and `skip_after` more.
    #[inline]
    fn take(&mut self, len: usize, skip_after: usize) -> Sequence<'a> {
        let out = self.unread_sequence().slice(..len);
        self.skip(len + skip_after);
        out
    }

    /// The bytes up to the first `delim` (.NET `TryReadTo`), advancing past them, and past the
    /// delimiter too if `advance_past_delimiter`. `None` (and no change) if there is no `delim`
    /// in the unread bytes. Borrowed, not copied.
    pub fn read_to(&mut self, delim: u8, advance_past_delimiter: bool) -> Option<Sequence<'a>> {
        let i = self.find_within(usize::MAX, |b| b == delim)?;
        Some(self.take(i, usize::from(advance_past_delimiter)))
    }

    /// The bytes up to the first byte that is any of `delims` (.NET `TryReadToAny`), advancing
    /// past them, and past that byte too if `advance_past_delimiter`. `None` (and no change) if
    /// there is none.
    pub fn read_to_any(
        &mut self,
        delims: &[u8],
        advance_past_delimiter: bool,
    ) -> Option<Sequence<'a>> {
        let i = self.find_within(usize::MAX, |b| delims.contains(&b))?;
        Some(self.take(i, usize::from(advance_past_delimiter)))
    }

    /// The bytes up to the first occurrence of the multi-byte `delim` (.NET `TryReadTo` with a
    /// span delimiter), which may straddle chunks; advancing past them, and past the delimiter
    /// too if `advance_past_delimiter`. `None` (and no change) if there is none. An empty
    /// `delim` is found at once (an empty sequence).
    pub fn read_to_slice(
        &mut self,
        delim: &[u8],
        advance_past_delimiter: bool,
    ) -> Option<Sequence<'a>> {
        let i = self.find_slice(delim)?;
        let after = if advance_past_delimiter {
            delim.len()
        } else {
            0
        };
        Some(self.take(i, after))
    }

    /// Advances to the first `delim` (.NET `TryAdvanceTo`), and past it if
    /// `advance_past_delimiter`; `false` (and no change) if there is none.
    pub fn try_advance_to(&mut self, delim: u8, advance_past_delimiter: bool) -> bool {
        self.read_to(delim, advance_past_delimiter).is_some()
    }

    /// Advances to the first byte that is any of `delims` (.NET `TryAdvanceToAny`), and past
    /// it if `advance_past_delimiter`; `false` (and no change) if there is none.
    pub fn try_advance_to_any(&mut self, delims: &[u8], advance_past_delimiter: bool) -> bool {
        self.read_to_any(delims, advance_past_delimiter).is_some()
    }

    /// Advances past every consecutive `byte` (.NET `AdvancePast`); returns how many.
    pub fn advance_past(&mut self, byte: u8) -> usize {
        self.advance_past_any(core::slice::from_ref(&byte))
    }

    /// Advances past every consecutive byte that is any of `bytes` (.NET `AdvancePastAny`),
    /// whitespace say; returns how many.
    pub fn advance_past_any(&mut self, bytes: &[u8]) -> usize {
        let n = self
            .find_within(usize::MAX, |b| !bytes.contains(&b))
            .unwrap_or(self.remaining());
        self.skip(n);
        n
    }

    /// Whether the next byte is `byte` (.NET `IsNext`); if it is and `advance_past`, advances
    /// past it.
    #[inline]
    pub fn is_next(&mut self, byte: u8, advance_past: bool) -> bool {
        let hit = self.peek() == Some(byte);
        if hit && advance_past {
            self.skip(1);
        }
        hit
    }

    /// Whether the unread bytes start with `s` (which may straddle chunks); if they do and
    /// `advance_past`, advances past it.
    pub fn is_next_slice(&mut self, s: &[u8], advance_past: bool) -> bool {
        let hit = self.starts_with(s);
        if hit && advance_past {
            self.skip(s.len());
        }
        hit
    }
}

/// Contiguous views, for the sequences a [`SequenceReader`] hands out (written here, beside
/// their main user, rather than in `pipe/sequence.rs`).
impl<'a> Sequence<'a> {
    /// The bytes as one slice, borrowed from the pipe, if they lie in one chunk (an empty
    /// sequence does); `None` if they span several.
    ///
    /// ```
    /// let opts = ringpipe::PipeOptions::builder().chunk_size(4).build().unwrap();
    /// let (mut w, mut r) = ringpipe::pipe(opts);
    /// w.write_all_blocking(b"abcdefgh").unwrap();
    /// let res = r.try_read().unwrap().unwrap();
    /// let buf = res.buffer();
    /// assert_eq!(buf.slice(1..3).as_contiguous(), Some(&b"bc"[..]));
    /// assert_eq!(buf.slice(3..5).as_contiguous(), None); // "d" | "e"
    /// ```
    #[inline]
    pub fn as_contiguous(&self) -> Option<&'a [u8]> {
        let first = self.first_chunk();
        (first.len() == self.len()).then_some(first)
    }

    /// The bytes as one slice: borrowed when they lie in one chunk, copied into a new vector
    /// only when they span several.
    #[inline]
    pub fn to_contiguous(&self) -> Cow<'a, [u8]> {
        match self.as_contiguous() {
            Some(bytes) => Cow::Borrowed(bytes),
            None => Cow::Owned(self.to_vec()),
        }
    }
}
