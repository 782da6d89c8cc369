//! The ring: shared state and the protocol between one writer and one reader.
//!
//! # Layout
//!
//! Data is addressed by absolute *positions*: byte `p` is the `p`-th byte ever written into
//! the pipe (since creation or the last reset). Positions are `u64` and never wrap in practice.
//! The bytes live in chunks taken from a [`ChunkPool`]; the `n`-th chunk the writer opens is
//! recorded in slot `n & mask` of a power-of-two array of slots. A chunk holds a run of
//! consecutive positions starting where the previous chunk's data ended; the writer seals a
//! chunk (records its final length) when it moves to the next one, possibly leaving its end
//! unused when a size hint did not fit.
//!
//! # Invariants
//!
//! 1. `tail` (the committed position) is written by the writer only; `head` (consumed),
//!    `examined` and `released` by the reader only; all four only grow, except `examined`,
//!    which the reader may move back ("un-examine") but never below `head`.
//! 2. `head <= examined <= tail` as the reader sees them, and `writer position - head <=
//!    capacity` (the writer checks it before handing out memory).
//! 3. Slots `released .. opened` hold chunks; the writer owns slot `opened - 1` while its
//!    length is `OPEN`; a sealed length is at least 1 and never changes until the reader
//!    releases the slot. Slots outside that range hold no chunk.
//! 4. Bytes in `[head, tail)` are initialised and only read; bytes from the writer's position
//!    onwards (to the end of its chunk) belong to the writer. Unflushed bytes in `[tail,
//!    writer position)` are never visible to the reader.
//! 5. `WRITER_COMPLETED` and `READER_COMPLETED` are monotonic until a reset; whichever side
//!    completes second returns every chunk to the pool, exactly once.
//!
//! # Orderings
//!
//! Each synchronising pair, with the tag used at the call sites:
//!
//! * **P1** writer `tail.store(Release)` (commit) ↔ reader `tail.load(Acquire)` (read): the
//!   committed bytes, the chunk pointers and `OPEN` lengths of the slots they live in.
//! * **P2** writer `slot.len.store(Release)` (seal) ↔ reader `slot.len.load(Acquire)`: the
//!   chunk is finished; the reader may give it back to the pool once consumed.
//! * **P3** reader `released.store(Release)` ↔ writer `released.load(Acquire)`: the reader is
//!   done with the slots (and their chunks went back to the pool); the writer may reuse them.
//! * **P4** reader `head.store(Release)` / `examined.store(Release)` ↔ writer `Acquire` loads:
//!   byte room and backpressure. `head` is stored before `examined`.
//! * **W1** (no lost wake-up, store-buffering): a side that parks registers its waker, sets its
//!   `*_WAITING` bit (RMW), issues the heavy fence and re-checks the other side's cursor; the
//!   other side stores its cursor, issues the light fence and then loads `state`. The pair
//!   ([`fence_heavy`](crate::loom::fence_heavy) / [`fence_light`](crate::loom::fence_light))
//!   acts as two `fence(SeqCst)`: at least one of the two sees the other's store. In a
//!   symmetric pipe both halves are `fence(SeqCst)`; in an asymmetric one (see
//!   [`WakeFences`](crate::WakeFences), `Shared::asym`) the light half is a compiler fence and
//!   the heavy half `membarrier(2)`, so publishing costs no fence instruction and parking pays
//!   instead. loom models both halves as `fence(SeqCst)`.
//! * **C1** completion: `state.fetch_or(COMPLETED, AcqRel)`; the completing side's stores
//!   before it (final commit, error value, opened count) are visible to whoever observes the
//!   bit with an `Acquire` load.
//! * **Wake-ups come last.** Every operation makes all its changes to the shared state (and
//!   frees what it frees) before it calls a waker, so a waker that panics leaves a consistent
//!   pipe behind (`tests/misuse.rs`). A side registers its waker before it announces its wait
//!   and re-checks after, so a wake that finds no waker (between `take` and `register`, see
//!   `loom::AtomicWaker::register`) is never the one it needed.
//! * **D1** (deadlock detection) the reader stores `wait_pos` with `Release` before its
//!   `READER_WAITING` RMW; the writer loads it with `Acquire` *before* re-trying its grant, so
//!   whichever of the reader's waits the value comes from, every head the reader stored before
//!   that wait is visible to the grant. Symmetrically the writer stores `need_head` /
//!   `need_released` with `Release` after its last commit, and the reader, having loaded them
//!   with `Acquire`, re-reads `tail` before it calls the situation a deadlock. A `state` bit and
//!   the value next to it may come from different waits; these pairs make that harmless.

use crate::error::CompletionError;
use crate::loom::{Arc, AtomicU32, AtomicU64, AtomicUsize, AtomicWaker, Ordering, UnsafeCell};
use crate::options::PipeOptions;
use crate::pool::{Chunk, ChunkPool};
use crossbeam_utils::CachePadded;

/// A slot's length while its chunk is being filled by the writer.
pub(crate) const OPEN: usize = usize::MAX;

// Bits of `Shared::state`.
pub(crate) const WRITER_COMPLETED: u32 = 1 << 0;
pub(crate) const READER_COMPLETED: u32 = 1 << 1;
pub(crate) const WRITER_FAILED: u32 = 1 << 2;
pub(crate) const READER_FAILED: u32 = 1 << 3;
pub(crate) const READ_CANCELED: u32 = 1 << 4;
pub(crate) const FLUSH_CANCELED: u32 = 1 << 5;
/// The reader is parked until `tail >= wait_pos`.
pub(crate) const READER_WAITING: u32 = 1 << 6;
/// The writer is parked (in a flush, or for room when `WRITER_WAITING_SPACE` is also set).
pub(crate) const WRITER_WAITING: u32 = 1 << 7;
/// The writer is parked until `head >= need_head` and `released >= need_released`.
pub(crate) const WRITER_WAITING_SPACE: u32 = 1 << 8;
/// The reader's current read can never be satisfied (see [`crate::ReadError::WouldDeadlock`]).
/// Set by whichever side notices; cleared by the reader when it consumes or un-examines.
pub(crate) const STALLED: u32 = 1 << 9;
/// The reader moved `examined` back (un-examined); the writer's cached copy may be too high.
/// Set by the reader after storing `examined`, cleared by the writer when it reloads.
pub(crate) const EXAMINED_BACK: u32 = 1 << 10;

/// One ring slot: the chunk holding the `n`-th run of data, and its sealed length.
pub(crate) struct Slot {
    /// Written by the writer when it opens the slot, taken by the reader when it releases it.
    pub(crate) chunk: UnsafeCell<Option<Chunk>>,
    /// `OPEN` while the writer fills the chunk, then the number of data bytes in it.
    pub(crate) len: AtomicUsize,
}

/// What the reader publishes, on its own cache line.
pub(crate) struct ReaderSide {
    /// Consumed position. Written by the reader only.
    pub(crate) head: AtomicU64,
    /// Examined position. Written by the reader only.
    pub(crate) examined: AtomicU64,
    /// Number of chunks released (the sequence number of the chunk holding `head`).
    pub(crate) released: AtomicU64,
    /// The tail position that would satisfy the parked reader.
    pub(crate) wait_pos: AtomicU64,
    /// The tail a stall was judged on (stored with Release before the `STALLED` RMW, by
    /// whichever side sets it): only a commit past it ends the stall.
    pub(crate) stall_tail: AtomicU64,
    /// The thread the reader was last on when it parked or woke the writer
    /// (`wait::thread_tag`; 0 = never): a writer on that same thread does not spin-wait (see
    /// `wait::Spinner::spin`). A hint only, kept by adaptive pipes (`Shared::note_seen`) and
    /// written and read on the slow paths (parking, waking, spinning), never on a publish.
    pub(crate) seen_on: AtomicUsize,
}

/// What the writer publishes, on its own cache line.
pub(crate) struct WriterSide {
    /// Committed position. Written by the writer only.
    pub(crate) tail: AtomicU64,
    /// The `head` that would give the parked writer the byte room it needs.
    pub(crate) need_head: AtomicU64,
    /// The `released` count that would give the parked writer a free slot.
    pub(crate) need_released: AtomicU64,
    /// The thread the writer was last on when it parked or woke the reader (see
    /// `ReaderSide::seen_on`).
    pub(crate) seen_on: AtomicUsize,
}

/// State shared by the two halves (and by cancel handles).
pub(crate) struct Shared {
    pub(crate) writer: CachePadded<WriterSide>,
    pub(crate) reader: CachePadded<ReaderSide>,
    pub(crate) state: CachePadded<AtomicU32>,
    pub(crate) reader_waker: CachePadded<AtomicWaker>,
    pub(crate) writer_waker: CachePadded<AtomicWaker>,
    pub(crate) slots: Box<[Slot]>,
    pub(crate) mask: u64,
    pub(crate) capacity: u64,
    pub(crate) chunk_size: usize,
    pub(crate) pause: u64,
    pub(crate) resume: u64,
    pub(crate) spin: crate::options::SpinWait,
    /// Asymmetric fences (W1): decided at creation, never changed (see `loom::fence_light`).
    pub(crate) asym: bool,
    pub(crate) pool: ChunkPool,
    /// Set by the writer before it completes with an error; read after `WRITER_FAILED` is seen.
    pub(crate) writer_error: UnsafeCell<Option<CompletionError>>,
    /// Set by the reader before it completes with an error; read after `READER_FAILED` is seen.
    pub(crate) reader_error: UnsafeCell<Option<CompletionError>>,
    /// Number of slots the writer has opened; written by the writer before it completes.
    pub(crate) opened: UnsafeCell<u64>,
}

// SAFETY: the `UnsafeCell` fields are accessed under the protocol above: `slots[i].chunk` by
// the writer before publishing (P1) and by the reader after acquiring (P1/P3 in reverse), the
// error cells and `opened` by one side before its completion RMW and by the other after
// observing it (C1). `Chunk` is `Send`. Everything else is atomic.
unsafe impl Send for Shared {}
// SAFETY: as above; shared access from both halves follows the protocol.
unsafe impl Sync for Shared {}

impl Shared {
    pub(crate) fn new(opts: &PipeOptions) -> Arc<Shared> {
        let asym = crate::resolve_fences(opts);
        let slots = (0..opts.slots)
            .map(|_| Slot {
                chunk: UnsafeCell::new(None),
                len: AtomicUsize::new(OPEN),
            })
            .collect();
        Arc::new(Shared {
            writer: CachePadded::new(WriterSide {
                tail: AtomicU64::new(0),
                need_head: AtomicU64::new(0),
                need_released: AtomicU64::new(0),
                seen_on: AtomicUsize::new(0),
            }),
            reader: CachePadded::new(ReaderSide {
                head: AtomicU64::new(0),
                examined: AtomicU64::new(0),
                released: AtomicU64::new(0),
                wait_pos: AtomicU64::new(0),
                stall_tail: AtomicU64::new(0),
                seen_on: AtomicUsize::new(0),
            }),
            state: CachePadded::new(AtomicU32::new(0)),
            reader_waker: CachePadded::new(AtomicWaker::new()),
            writer_waker: CachePadded::new(AtomicWaker::new()),
            slots,
            mask: (opts.slots - 1) as u64,
            capacity: opts.capacity as u64,
            chunk_size: opts.pool.chunk_size(),
            pause: opts.pause as u64,
            resume: opts.resume as u64,
            spin: opts.spin,
            asym,
            pool: opts.pool.clone(),
            writer_error: UnsafeCell::new(None),
            reader_error: UnsafeCell::new(None),
            opened: UnsafeCell::new(0),
        })
    }

    #[inline]
    pub(crate) fn slot(&self, seq: u64) -> &Slot {
        let i = (seq & self.mask) as usize;
        debug_assert!(i < self.slots.len());
        // SAFETY: `slots.len() == mask + 1` (set together in `new`, never changed), so
        // `seq & mask` is in bounds. (The bounds check this skips sat on every hot path.)
        unsafe { self.slots.get_unchecked(i) }
    }

    /// The largest size hint the pipe can meet.
    #[inline]
    pub(crate) fn max_hint(&self) -> usize {
        self.chunk_size
            .min(self.capacity.min(usize::MAX as u64) as usize)
    }

    /// The pointer to the chunk of slot `seq`.
    ///
    /// # Safety
    /// The slot must hold a chunk that the caller may access under the protocol (the writer's
    /// open slot, or a slot in `released .. tail's slot` for the reader).
    #[inline]
    pub(crate) unsafe fn chunk_ptr(&self, seq: u64) -> *mut u8 {
        self.slot(seq).chunk.with(|c| {
            // SAFETY: delegated to the caller: nobody writes this cell concurrently.
            match unsafe { &*c } {
                Some(chunk) => chunk.ptr(),
                None => unreachable!("ringpipe: slot {seq} holds no chunk"),
            }
        })
    }

    /// Tells loom about reads of `len` bytes at `off` in slot `seq` (no-op outside loom).
    ///
    /// # Safety
    /// As [`Shared::chunk_ptr`].
    #[inline]
    #[allow(unused_variables)]
    pub(crate) unsafe fn track_read(&self, seq: u64, off: usize, len: usize) {
        #[cfg(loom)]
        self.slot(seq).chunk.with(|c| {
            // SAFETY: delegated to the caller.
            if let Some(chunk) = unsafe { &*c } {
                chunk.track_read(off, len)
            }
        });
    }

    /// Wakes the reader's waker (after a cancel or a completion set its bit in `state`).
    pub(crate) fn wake_reader(&self) {
        self.reader_waker.wake();
    }

    /// Wakes the writer's waker.
    pub(crate) fn wake_writer(&self) {
        self.writer_waker.wake();
    }

    /// Records the calling thread in one side's `seen_on` (see `ReaderSide::seen_on`), for the
    /// other side's adaptive spin: when that side parks or wakes the other. Only an adaptive
    /// pipe asks for it (both halves share the policy), so the others skip the store.
    pub(crate) fn note_seen(&self, seen_on: &AtomicUsize) {
        if matches!(self.spin, crate::options::SpinWait::Adaptive { .. }) {
            // Ordering: Relaxed; a hint for the spin, not part of any protocol.
            seen_on.store(crate::wait::thread_tag(), Ordering::Relaxed);
        }
    }

    /// The writer wakes the reader (which it found parked), noting its thread first.
    pub(crate) fn writer_wakes_reader(&self) {
        self.note_seen(&self.writer.seen_on);
        self.reader_waker.wake();
    }

    /// The reader wakes the writer (which it found parked), noting its thread first.
    pub(crate) fn reader_wakes_writer(&self) {
        self.note_seen(&self.reader.seen_on);
        self.writer_waker.wake();
    }

    /// Returns every chunk still in a slot to the pool. Called once, by the side that
    /// completes second (it observed the other side's completion bit with `Acquire`, C1).
    ///
    /// # Safety
    /// Both sides must have completed and the caller must be the one that completed second.
    pub(crate) unsafe fn free_all(&self) {
        // Ordering: Acquire, pairs with P3 (the reader's last release); the reader has
        // completed, so the value is final.
        let released = self.reader.released.load(Ordering::Acquire);
        // SAFETY: the writer wrote `opened` before its completion RMW, which we observed (C1).
        let opened = self.opened.with(|p| unsafe { *p });
        for seq in released..opened {
            // SAFETY: both sides completed; nobody else touches the slots any more.
            let chunk = self.slot(seq).chunk.with_mut(|c| unsafe { (*c).take() });
            if let Some(chunk) = chunk {
                self.pool.put(chunk);
            }
        }
    }
}
