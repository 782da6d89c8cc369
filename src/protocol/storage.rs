//! Where a ring lives: the first of the protocol's two homes.
//!
//! The protocol decides *which* slot holds which bytes and *when* each side may touch them; a
//! [`Storage`] decides *where* they are, and where the words the two sides share (cursors,
//! state bits, slot lengths, completion errors) are kept. In process, the words are fields of
//! the storage and every slot that is in use holds a chunk taken from a shared pool
//! (`pipe::chunks::PooledChunks`), so an idle pipe holds almost no memory; across processes,
//! the words sit at the start of a mapping both processes share and a slot is a fixed range of
//! it, found by offset, that is never taken or given back.

use super::{Side, Words};
use crate::error::CompletionError;
use crate::sync::{AtomicUsize, UnsafeCell};

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
/// that slot; the pointer `base` returns for a slot must be the one `open` returned. `lens`
/// must return the same number of words as the ring has slots, every time.
pub unsafe trait Storage: Send + Sync {
    /// Whether the other side may be another, untrusted process: then every value read from
    /// its part of the ring is checked before use (see `Ring`'s "Reads of the other side's
    /// values"), and `base` returns memory inside the storage for any `seq`. A constant, so
    /// that a trusted ring compiles the checks away.
    const CHECKED: bool = false;

    /// The shared words: cursors and state.
    fn words(&self) -> &Words;

    /// The slots' length words (`OPEN` while the writer fills a slot), one per slot.
    fn lens(&self) -> &[AtomicUsize];

    /// Records `side`'s completion error for the other side.
    ///
    /// # Safety
    /// Only `side` calls it, at most once before a reset, before its completion RMW (C1).
    unsafe fn set_error(&self, side: Side, error: CompletionError);

    /// `side`'s completion error.
    ///
    /// # Safety
    /// The caller observed `side`'s FAILED bit (Acquire), so the error was set (C1).
    unsafe fn error(&self, side: Side) -> CompletionError;

    /// Forgets both errors (a reset).
    ///
    /// # Safety
    /// Both sides completed and are held by the caller of the reset.
    unsafe fn clear_errors(&self);

    /// On a checked storage: the other side wrote `value` where the protocol allows only
    /// `allowed` (`what` names it). The storage remembers it; from then on the other side
    /// reads as lost ([`seen_state`](Self::seen_state)).
    fn violated(&self, what: &'static str, value: u64, allowed: core::ops::RangeInclusive<u64>) {
        let _ = (what, value, allowed);
    }

    /// On a checked storage: the state word `s` as this side is to see it. The other side's
    /// end, once this side has seen it, is kept, whatever the other process writes afterwards:
    /// its COMPLETED bit (completed), its FAILED bit (completed with the error it left, which
    /// [`error`](Self::error) reads), or its loss (gone or in breach of the protocol before it
    /// completed: completed with an error, `error` saying which). Other bits pass unchanged.
    #[inline(always)]
    fn seen_state(&self, s: u32) -> u32 {
        s
    }

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

/// The two completion errors of an in-process ring: each side's, set before its completion
/// RMW and read by the other side after it observed the FAILED bit (C1).
pub(crate) struct ErrorCells {
    writer: UnsafeCell<Option<CompletionError>>,
    reader: UnsafeCell<Option<CompletionError>>,
}

impl ErrorCells {
    pub(crate) fn new() -> ErrorCells {
        ErrorCells {
            writer: UnsafeCell::new(None),
            reader: UnsafeCell::new(None),
        }
    }

    fn cell(&self, side: Side) -> &UnsafeCell<Option<CompletionError>> {
        match side {
            Side::Writer => &self.writer,
            Side::Reader => &self.reader,
        }
    }

    /// # Safety
    /// As [`Storage::set_error`].
    pub(crate) unsafe fn set(&self, side: Side, error: CompletionError) {
        // SAFETY: only `side` writes its cell, before its completion RMW; the other side reads
        // it only after observing the FAILED bit that RMW set (C1).
        self.cell(side).with_mut(|p| unsafe { *p = Some(error) });
    }

    /// # Safety
    /// As [`Storage::error`].
    pub(crate) unsafe fn get(&self, side: Side) -> CompletionError {
        // SAFETY: written before the FAILED bit was set (C1), which the caller observed with
        // Acquire; not written again before a reset.
        let e = self.cell(side).with(|p| unsafe { (*p).clone() });
        e.expect("ringpipe: completion error set with its bit")
    }

    /// # Safety
    /// As [`Storage::clear_errors`].
    pub(crate) unsafe fn clear(&self) {
        for side in [Side::Writer, Side::Reader] {
            // SAFETY: both sides completed and are held by the caller: nobody reads the cells.
            self.cell(side).with_mut(|p| unsafe { *p = None });
        }
    }
}

// SAFETY: the cells are accessed as C1 says (one writer, before a Release RMW; readers after
// an Acquire load that saw it); `CompletionError` is `Send + Sync`.
unsafe impl Send for ErrorCells {}
// SAFETY: as above.
unsafe impl Sync for ErrorCells {}
