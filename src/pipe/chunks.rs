//! The in-process home of a ring's bytes: every open slot holds a chunk taken from a
//! [`ChunkPool`], given back once the reader has consumed it. The [`Storage`] of
//! [`pipe`](crate::pipe()).
//!
//! # Spare chunks
//!
//! A chunk the reader releases is not handed to the pool at once: it stays in its slot's
//! `spare` word, tagged, and the writer's [`open`](Storage::open) of the slot's next use takes
//! it before it asks the pool. A streaming pipe thus recycles its chunks between its two sides
//! without the pool's shared free list, and each slot keeps cycling through the same chunk, so
//! the writer fills memory the reader's core read a whole ring ago rather than a few chunks
//! ago. Measured against the pool path (busy-polled, `benches/baseline`): 1.2-2.1x at 1 KiB
//! and 16 KiB writes into a 1 MiB ring, level in 64 KiB rings. (Handing the writer the chunk
//! released *last* instead was 1.4-2.2x *slower* there: it writes the very lines the reader's
//! core has just read.)
//!
//! Spares go back to the pool when the reader is about to wait for data, after 1024 empty
//! polls in a row (`IDLE_POLLS` in `protocol::consumer`), once it has seen the writer
//! complete, and when the second side completes ([`idle`]): a pipe whose reader waits holds
//! what it held without spares (its data and the writer's current chunk). While both sides
//! stream, a pipe holds up to one chunk per slot, as a ring buffer that allocates its
//! capacity up front does: the price of the speed above.
//!
//! Who owns a spare: the reader puts it in the word (a Release store, after its last access
//! to the chunk); after that, the writer (at `open`) and the reader (at `idle`) may both try
//! to take it, each with a compare-and-swap of the word from the tagged pointer to null
//! (Acquire): exactly one gets the chunk. The word of a slot that holds no spare is null;
//! nothing else is ever stored there.
//!
//! [`idle`]: Storage::idle

use super::pool::{Chunk, ChunkPool};
use crate::error::CompletionError;
use crate::protocol::{ErrorCells, FencePolicy, Side, Storage, Words, OPEN};
use crate::sync::{AtomicPtr, AtomicUsize, Ordering, UnsafeCell};

/// The tag of a spare chunk's pointer in a `spare` word: the pointer plus one (chunks are
/// aligned to 128 bytes, so it sets the low bit; `wrapping_add` keeps the pointer's
/// provenance, which an integer would lose).
const SPARE: usize = 1;

/// One ring slot.
struct Cell {
    /// The open slot's chunk: written by the writer when it opens the slot, emptied when the
    /// slot is released.
    open: UnsafeCell<Option<Chunk>>,
    /// The spare: the pointer of the chunk released from this slot, tagged (`+ SPARE`), while
    /// nobody has taken it yet; else null.
    spare: AtomicPtr<u8>,
}

/// One cell per ring slot, over a shared pool; and the ring's shared words, as fields.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct PooledChunks {
    words: Words,
    /// `OPEN` while the writer fills the slot, then the number of data bytes in it.
    lens: Box<[AtomicUsize]>,
    errors: ErrorCells,
    cells: Box<[Cell]>,
    mask: u64,
    pool: ChunkPool,
}

impl PooledChunks {
    /// `slots` cells (a power of two) over `pool`, and the words of a new ring with fence
    /// policy `fences`.
    pub(crate) fn new(slots: usize, pool: ChunkPool, fences: FencePolicy) -> PooledChunks {
        debug_assert!(slots.is_power_of_two());
        PooledChunks {
            words: Words::new(fences),
            lens: (0..slots).map(|_| AtomicUsize::new(OPEN)).collect(),
            errors: ErrorCells::new(),
            cells: (0..slots)
                .map(|_| Cell {
                    open: UnsafeCell::new(None),
                    spare: AtomicPtr::new(core::ptr::null_mut()),
                })
                .collect(),
            mask: (slots - 1) as u64,
            pool,
        }
    }

    #[inline]
    fn cell(&self, seq: u64) -> &Cell {
        let i = (seq & self.mask) as usize;
        debug_assert!(i < self.cells.len());
        // SAFETY: `cells.len() == mask + 1` (set together in `new`), so `seq & mask` is in
        // bounds. (The bounds check this skips sat on the read path.)
        unsafe { self.cells.get_unchecked(i) }
    }

    /// The chunk of slot `seq`, for `f`.
    ///
    /// # Safety
    /// Nobody writes the cell meanwhile (the slot is open and the caller may use it).
    #[inline]
    #[cfg(loom)]
    unsafe fn with_chunk<R>(&self, seq: u64, f: impl FnOnce(&Chunk) -> R) -> R {
        self.cell(seq).open.with(|c| {
            // SAFETY: delegated to the caller: nobody writes this cell concurrently.
            match unsafe { &*c } {
                Some(chunk) => f(chunk),
                None => unreachable!("ringpipe: slot {seq} holds no chunk"),
            }
        })
    }

    /// Takes the spare of slot `seq`, if it has one and nobody takes it first.
    #[inline]
    fn take_spare(&self, seq: u64) -> Option<Chunk> {
        let word = &self.cell(seq).spare;
        // Ordering: Relaxed load (only a look); the CAS Acquire on success, pairs with the
        // Release store in `release`: the reader's last accesses to the chunk happen before
        // ours. (The writer has also acquired them through `released`, P3, for the slots it
        // looks at; the word does not rely on it.) The CAS decides who gets the chunk.
        let v = word.load(Ordering::Relaxed);
        if v as usize & SPARE == 0 {
            return None;
        }
        word.compare_exchange(
            v,
            core::ptr::null_mut(),
            Ordering::Acquire,
            Ordering::Relaxed,
        )
        .ok()
        // SAFETY: a tagged word holds the pointer of a chunk given up by `into_raw` in
        // `release`, plus `SPARE`; the CAS made us its only owner.
        .map(|v| unsafe { Chunk::from_raw(v.wrapping_sub(SPARE)) })
    }

    /// Gives the spare of slot `seq` (if nobody took it) back to the pool.
    fn return_spare(&self, seq: u64) {
        if let Some(chunk) = self.take_spare(seq) {
            self.pool.put(chunk);
        }
    }
}

impl Drop for PooledChunks {
    fn drop(&mut self) {
        // Both sides are gone and every open slot was released (`Ring::release_all`): what is
        // left are spares, and chunks of a ring dropped without completing (none today).
        for seq in 0..self.cells.len() as u64 {
            self.return_spare(seq);
            // SAFETY: `&mut self`: nobody else touches the cells.
            if let Some(chunk) = self.cell(seq).open.with_mut(|c| unsafe { (*c).take() }) {
                self.pool.put(chunk);
            }
        }
    }
}

// SAFETY: `Chunk` is `Send` (a uniquely owned allocation); the cells are accessed as the
// protocol hands each slot to one side at a time (see `Storage`), the spare words atomically.
unsafe impl Send for PooledChunks {}
// SAFETY: as above.
unsafe impl Sync for PooledChunks {}

// SAFETY: `open` puts a chunk of the pool's size (zeroed when first allocated, so always
// initialised) in the slot and returns its pointer; `base` returns that same pointer until
// `release` takes the chunk out. A chunk is owned by exactly one of: a slot's `open` cell, a
// spare word (then by whoever takes it with the CAS), the pool.
unsafe impl Storage for PooledChunks {
    #[inline]
    fn words(&self) -> &Words {
        &self.words
    }

    #[inline]
    fn lens(&self) -> &[AtomicUsize] {
        &self.lens
    }

    unsafe fn set_error(&self, side: Side, error: CompletionError) {
        // SAFETY: delegated to the caller.
        unsafe { self.errors.set(side, error) }
    }

    unsafe fn error(&self, side: Side) -> CompletionError {
        // SAFETY: delegated to the caller.
        unsafe { self.errors.get(side) }
    }

    unsafe fn clear_errors(&self) {
        // SAFETY: delegated to the caller.
        unsafe { self.errors.clear() }
    }

    fn chunk_size(&self) -> usize {
        self.pool.chunk_size()
    }

    #[inline]
    unsafe fn open(&self, seq: u64) -> *mut u8 {
        // This slot's previous chunk if it is still here, else one from the pool.
        let chunk = self.take_spare(seq).unwrap_or_else(|| self.pool.take());
        let ptr = chunk.ptr();
        // SAFETY: the caller (the writer) opens a slot only after the reader released its
        // previous use, and the reader does not look at it before the first commit into it.
        self.cell(seq)
            .open
            .with_mut(|c| unsafe { *c = Some(chunk) });
        ptr
    }

    #[inline]
    unsafe fn base(&self, seq: u64) -> *mut u8 {
        self.cell(seq).open.with(|c| {
            // SAFETY: the caller may use the slot (it is open), so nobody writes its cell
            // meanwhile. (An open slot holds a chunk; null is only a safe answer to a bug.)
            match unsafe { &*c } {
                Some(chunk) => chunk.ptr(),
                None => core::ptr::null_mut(),
            }
        })
    }

    unsafe fn release(&self, seq: u64) {
        let cell = self.cell(seq);
        // SAFETY: the slot is done with; nobody else touches its cell until it is opened again.
        if let Some(chunk) = cell.open.with_mut(|c| unsafe { (*c).take() }) {
            // Ordering: Release, pairs with the Acquire CAS in `take_spare`. The word is null: its
            // last spare was taken (by the writer's `open` of this slot, or by `idle`) before
            // the slot was opened again.
            cell.spare
                .store(chunk.into_raw().wrapping_add(SPARE), Ordering::Release);
        }
    }

    unsafe fn idle(&self, from: u64, released: u64) {
        let from = from.max(released.saturating_sub(self.cells.len() as u64));
        for seq in from..released {
            self.return_spare(seq);
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
