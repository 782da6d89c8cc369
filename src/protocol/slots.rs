//! The reader's view of a ring's slots, without the ring's types: what a [`Sequence`] walks.
//!
//! A read's result borrows the ring through this trait object, so that one `Sequence` type
//! (and every parser and decoder built on it) serves rings of every home. The call is
//! indirect only when a walk crosses into another chunk: the slot a result starts in comes
//! with its base pointer (`Sequence::new`).
//!
//! [`Sequence`]: crate::Sequence

use super::{Ring, Storage, Wakeup};

/// The slots of a ring, as the reader sees them (see the module docs).
pub(crate) trait SlotView: Sync {
    /// Slot `seq`'s sealed length, or `None` while the writer fills it. On a ring whose other
    /// side is not trusted the length is in `1..=chunk_size`, whatever the other side wrote.
    fn sealed_len(&self, seq: u64) -> Option<usize>;

    /// Where slot `seq`'s bytes start.
    ///
    /// # Safety
    /// As [`Storage::base`], for the reader: slot `seq` is open and holds committed bytes.
    unsafe fn slot_base(&self, seq: u64) -> *const u8;

    /// The bytes of every slot.
    fn chunk_size(&self) -> usize;

    /// Tells loom about a read of `len` bytes at `off` of slot `seq` (no-op elsewhere).
    ///
    /// # Safety
    /// As [`slot_base`](Self::slot_base).
    unsafe fn track_read(&self, seq: u64, off: usize, len: usize);
}

impl<S: Storage, W: Wakeup> SlotView for Ring<S, W> {
    #[inline]
    fn sealed_len(&self, seq: u64) -> Option<usize> {
        Ring::sealed_len(self, seq)
    }

    #[inline]
    unsafe fn slot_base(&self, seq: u64) -> *const u8 {
        // SAFETY: delegated to the caller.
        unsafe { Ring::slot_base(self, seq) }
    }

    fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    #[inline]
    unsafe fn track_read(&self, seq: u64, off: usize, len: usize) {
        // SAFETY: delegated to the caller.
        unsafe { Ring::track_read(self, seq, off, len) }
    }
}
