//! The one thing the RESP parser needs from a buffer: a forward [`Cursor`] over its bytes,
//! handing out borrowed views ([`Arg`]) of the arguments. Two buffers have one:
//!
//! * ringpipe's [`SequenceReader`] over a read's multi-chunk `Sequence` (the ringpipe server):
//!   arguments are sub-`Sequence`s of the pipe's chunks, never copied;
//! * [`SliceCursor`] over a contiguous `&[u8]` (the BufReader and Framed servers, whose
//!   buffers are one slice).
//!
//! The parser is written once, over this trait, so the three servers parse with the same code.

use ringpipe::{Sequence, SequenceReader};
use std::borrow::Cow;

/// A borrowed argument.
pub trait Arg {
    /// The bytes as one slice: borrowed when they are contiguous (always, for a slice; for a
    /// `Sequence`, when it lies in one chunk), copied only when they are not.
    fn contiguous(&self) -> Cow<'_, [u8]>;
}

impl Arg for &[u8] {
    fn contiguous(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
}

impl Arg for Sequence<'_> {
    fn contiguous(&self) -> Cow<'_, [u8]> {
        self.to_contiguous()
    }
}

/// A forward cursor over a buffer. `Copy`: copying it is how the parser remembers where a
/// request started and looks ahead.
pub trait Cursor: Copy {
    /// A borrowed view of some of the buffer's bytes.
    type Bytes: Arg;
    /// The number of bytes left to read.
    fn remaining(&self) -> usize;
    /// The next byte, without advancing.
    fn peek(&self) -> Option<u8>;
    /// Reads one byte.
    fn read_u8(&mut self) -> Option<u8>;
    /// Advances past `n` bytes if that many remain; otherwise `false`, and no move.
    fn try_advance(&mut self, n: usize) -> bool;
    /// The next `n` bytes, advancing past them; `None` (and no move) if fewer remain.
    fn read_bytes(&mut self, n: usize) -> Option<Self::Bytes>;
    /// The offset of the first byte that is one of `delims` among the next `limit` bytes (or
    /// fewer, if fewer remain).
    fn find_within(&self, delims: &[u8], limit: usize) -> Option<usize>;
    /// A cursor over the next `n` bytes only (`n <= remaining()`), this one not moved.
    fn take(&self, n: usize) -> Self;
}

impl<'a> Cursor for SequenceReader<'a> {
    type Bytes = Sequence<'a>;

    #[inline]
    fn remaining(&self) -> usize {
        SequenceReader::remaining(self)
    }
    #[inline]
    fn peek(&self) -> Option<u8> {
        SequenceReader::peek(self)
    }
    #[inline]
    fn read_u8(&mut self) -> Option<u8> {
        SequenceReader::read_u8(self)
    }
    #[inline]
    fn try_advance(&mut self, n: usize) -> bool {
        SequenceReader::try_advance(self, n)
    }
    #[inline]
    fn read_bytes(&mut self, n: usize) -> Option<Sequence<'a>> {
        SequenceReader::read_bytes(self, n)
    }
    fn find_within(&self, delims: &[u8], limit: usize) -> Option<usize> {
        let limit = limit.min(self.remaining());
        let first = self.unread_chunk();
        if first.len() >= limit {
            // The common case: the window lies in the current chunk.
            return first[..limit].iter().position(|b| delims.contains(b));
        }
        let window = self.unread_sequence().slice(..limit);
        SequenceReader::new(window)
            .read_to_any(delims, false)
            .map(|before| before.len())
    }
    fn take(&self, n: usize) -> Self {
        SequenceReader::new(self.unread_sequence().slice(..n))
    }
}

/// A [`Cursor`] over one contiguous slice.
#[derive(Clone, Copy, Debug)]
pub struct SliceCursor<'a> {
    rest: &'a [u8],
}

impl<'a> SliceCursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> SliceCursor<'a> {
        SliceCursor { rest: bytes }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Cursor for SliceCursor<'a> {
    type Bytes = &'a [u8];

    #[inline]
    fn remaining(&self) -> usize {
        self.rest.len()
    }
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }
    #[inline]
    fn read_u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }
    #[inline]
    fn try_advance(&mut self, n: usize) -> bool {
        match self.rest.get(n..) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }
    #[inline]
    fn read_bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (bytes, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(bytes)
    }
    fn find_within(&self, delims: &[u8], limit: usize) -> Option<usize> {
        let window = &self.rest[..limit.min(self.rest.len())];
        window.iter().position(|b| delims.contains(b))
    }
    fn take(&self, n: usize) -> Self {
        SliceCursor {
            rest: &self.rest[..n],
        }
    }
}
