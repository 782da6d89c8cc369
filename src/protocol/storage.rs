//! Where the bytes of a ring slot live: the first of the protocol's two homes.
//!
//! The protocol decides *which* slot holds which bytes and *when* each side may touch them; a
//! [`Storage`] decides *where* they are. In process, every slot that is in use holds a chunk
//! taken from a shared pool (`pipe::chunks::PooledChunks`), so an idle pipe holds almost no
//! memory; across processes, a slot would be a fixed range of a shared mapping, found by
//! offset, that is never taken or given back.

/// The memory of a ring's slots.
///
/// The protocol calls these methods in an order that gives each slot's memory one owner at a
/// time (invariants 3 and 4 in [`protocol`](crate::protocol)):
/// `open(seq)` by the writer, then any number of `base(seq)` by the writer (for bytes from its
/// position on) and by the reader (for committed bytes), then `release(seq)` by the reader (or
/// by whichever side completes second), and only then `open(seq + slots)` for the same slot.
///
/// # Safety
/// Implementations must return, from `open` and `base`, a pointer to `chunk_size()` bytes that
/// are initialised, valid for reads and writes, and used by nothing else until `release` of
/// that slot; the pointer `base` returns for a slot must be the one `open` returned.
pub(crate) unsafe trait Storage: Send + Sync {
    /// The bytes of every slot.
    fn chunk_size(&self) -> usize;

    /// Gives slot `seq` its memory (for the writer to fill) and returns where it starts.
    ///
    /// # Safety
    /// Only the writer calls it, once per `seq`, after the reader released `seq - slots`.
    unsafe fn open(&self, seq: u64) -> *mut u8;

    /// Where the memory of slot `seq` starts.
    ///
    /// # Safety
    /// Slot `seq` is open and not released, and the caller is entitled to the bytes it will
    /// touch (the writer to those past its committed position, the reader to committed ones).
    unsafe fn base(&self, seq: u64) -> *mut u8;

    /// Slot `seq` is no longer used: its memory may go back where it came from.
    ///
    /// # Safety
    /// Slot `seq` was opened and not released; nobody touches its bytes any more.
    unsafe fn release(&self, seq: u64);

    /// The pipe goes idle (the reader is about to wait for data, or has polled in vain for a
    /// while, or no more data will come): memory that released slots `from .. released` keep
    /// for the writer's next use of them may go back where it came from.
    ///
    /// # Safety
    /// Only the reader calls it, or the side that completes second after releasing every slot.
    unsafe fn idle(&self, from: u64, released: u64);

    /// Tells loom that `len` bytes at `off` of slot `seq` are being written (no-op elsewhere).
    ///
    /// # Safety
    /// As [`base`](Self::base).
    unsafe fn track_write(&self, seq: u64, off: usize, len: usize);

    /// Tells loom that `len` bytes at `off` of slot `seq` are being read (no-op elsewhere).
    ///
    /// # Safety
    /// As [`base`](Self::base).
    unsafe fn track_read(&self, seq: u64, off: usize, len: usize);
}
