//! The in-process home of a ring's bytes: every open slot holds a chunk taken from a
//! [`ChunkPool`], given back as soon as the reader has consumed it. The [`Storage`] of
//! [`pipe`](crate::pipe()).

use super::pool::{Chunk, ChunkPool};
use crate::protocol::Storage;
use crate::sync::UnsafeCell;

/// One chunk cell per ring slot, over a shared pool.
pub(crate) struct PooledChunks {
    /// Written by the writer when it opens the slot, emptied when the slot is released.
    slots: Box<[UnsafeCell<Option<Chunk>>]>,
    mask: u64,
    pool: ChunkPool,
}

impl PooledChunks {
    /// `slots` cells (a power of two) over `pool`.
    pub(crate) fn new(slots: usize, pool: ChunkPool) -> PooledChunks {
        debug_assert!(slots.is_power_of_two());
        PooledChunks {
            slots: (0..slots).map(|_| UnsafeCell::new(None)).collect(),
            mask: (slots - 1) as u64,
            pool,
        }
    }

    #[inline]
    fn cell(&self, seq: u64) -> &UnsafeCell<Option<Chunk>> {
        let i = (seq & self.mask) as usize;
        debug_assert!(i < self.slots.len());
        // SAFETY: `slots.len() == mask + 1` (set together in `new`), so `seq & mask` is in
        // bounds. (The bounds check this skips sat on the read path.)
        unsafe { self.slots.get_unchecked(i) }
    }

    /// The chunk of slot `seq`, for `f`.
    ///
    /// # Safety
    /// Nobody writes the cell meanwhile (the slot is open and the caller may use it).
    #[inline]
    unsafe fn with_chunk<R>(&self, seq: u64, f: impl FnOnce(&Chunk) -> R) -> R {
        self.cell(seq).with(|c| {
            // SAFETY: delegated to the caller: nobody writes this cell concurrently.
            match unsafe { &*c } {
                Some(chunk) => f(chunk),
                None => unreachable!("ringpipe: slot {seq} holds no chunk"),
            }
        })
    }
}

// SAFETY: `Chunk` is `Send` (a uniquely owned allocation); the cells are accessed as the
// protocol hands each slot to one side at a time (see `Storage`).
unsafe impl Send for PooledChunks {}
// SAFETY: as above.
unsafe impl Sync for PooledChunks {}

// SAFETY: `open` puts a chunk of the pool's size (zeroed when first allocated, so always
// initialised) in the slot and returns its pointer; `base` returns that same pointer until
// `release` takes the chunk out and gives it back to the pool.
unsafe impl Storage for PooledChunks {
    fn chunk_size(&self) -> usize {
        self.pool.chunk_size()
    }

    #[inline]
    unsafe fn open(&self, seq: u64) -> *mut u8 {
        let chunk = self.pool.take();
        let ptr = chunk.ptr();
        // SAFETY: the caller (the writer) opens a slot only after the reader released its
        // previous use, and the reader does not look at it before the first commit into it.
        self.cell(seq).with_mut(|c| unsafe { *c = Some(chunk) });
        ptr
    }

    #[inline]
    unsafe fn base(&self, seq: u64) -> *mut u8 {
        // SAFETY: delegated to the caller.
        unsafe { self.with_chunk(seq, Chunk::ptr) }
    }

    unsafe fn release(&self, seq: u64) {
        // SAFETY: the slot is done with; nobody else touches its cell until it is opened again.
        if let Some(chunk) = self.cell(seq).with_mut(|c| unsafe { (*c).take() }) {
            self.pool.put(chunk);
        }
    }

    #[inline]
    #[allow(unused_variables)]
    unsafe fn track_write(&self, seq: u64, off: usize, len: usize) {
        // SAFETY: delegated to the caller.
        #[cfg(loom)]
        unsafe {
            self.with_chunk(seq, |c| c.track_write(off, len))
        };
    }

    #[inline]
    #[allow(unused_variables)]
    unsafe fn track_read(&self, seq: u64, off: usize, len: usize) {
        // SAFETY: delegated to the caller.
        #[cfg(loom)]
        unsafe {
            self.with_chunk(seq, |c| c.track_read(off, len))
        };
    }
}
