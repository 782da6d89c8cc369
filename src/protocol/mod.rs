//! The ring protocol between one writer and one reader, written once for every home it can
//! have.
//!
//! The protocol is generic over its two homes: where the bytes of a slot live ([`Storage`]:
//! pooled heap chunks in process, later a fixed region of a shared mapping) and how a parked
//! side waits and is woken ([`Wakeup`]: a waker slot and thread parking in process, later a
//! futex word or an eventfd). It names neither a chunk type nor a `Waker` nor a thread. The
//! shared state is [`Ring`]; each half keeps its own position in [`Producer`] and
//! [`Consumer`], which the front-ends (`pipe::PipeWriter`, `pipe::PipeReader`) wrap.
//!
//! Every value one side reads from the other's part of the ring (cursors, slot lengths, wait
//! positions, needs, state bits) goes through the few methods of `Ring` grouped under "Reads
//! of the other side's values" (and the `state` loads), so that a ring whose other side is
//! another, untrusted process can validate them in one place.
//!
//! # Layout
//!
//! Data is addressed by absolute *positions*: byte `p` is the `p`-th byte ever written into
//! the pipe (since creation or the last reset). Positions are `u64` and never wrap in practice.
//! The bytes live in slots of `chunk_size` bytes ([`Storage`]); the `n`-th slot the writer
//! opens is slot `n & mask` of a power-of-two ring of slots. A slot holds a run of consecutive
//! positions starting where the previous slot's data ended; the writer seals a slot (records
//! its final length) when it moves to the next one, possibly leaving its end unused when a
//! size hint did not fit.
//!
//! # Invariants
//!
//! 1. `tail` (the committed position) is written by the writer only; `head` (consumed),
//!    `examined` and `released` by the reader only; all four only grow, except `examined`,
//!    which the reader may move back ("un-examine") but never below `head`.
//! 2. `head <= examined <= tail` as the reader sees them, and `writer position - head <=
//!    capacity` (the writer checks it before handing out memory).
//! 3. Slots `released .. opened` are open in the [`Storage`]; the writer owns slot
//!    `opened - 1` while its length is `OPEN`; a sealed length is at least 1 and never changes
//!    until the reader releases the slot. Slots outside that range are released.
//! 4. Bytes in `[head, tail)` are initialised and only read; bytes from the writer's position
//!    onwards (to the end of its chunk) belong to the writer. Unflushed bytes in `[tail,
//!    writer position)` are never visible to the reader.
//! 5. `WRITER_COMPLETED` and `READER_COMPLETED` are monotonic until a reset; whichever side
//!    completes second releases every slot still open, exactly once.
//! 6. (R1) No slot whose every byte the reader has consumed stays open while the reader is
//!    parked: the reader releases consumed, sealed slots in `advance_to`, before it parks and
//!    again after announcing its wait; a writer that seals a slot the parked reader has wholly
//!    consumed wakes it to release it; and no side calls a wait for such a slot a deadlock.
//!
//! # Orderings
//!
//! Each synchronising pair, with the tag used at the call sites:
//!
//! * **P1** writer `tail.store(Release)` (commit) ↔ reader `tail.load(Acquire)` (read): the
//!   committed bytes, the storage of the slots they live in and their `OPEN` lengths.
//! * **P2** writer `lens[slot].store(Release)` (seal) ↔ reader `lens[slot].load(Acquire)`: the
//!   slot is finished; the reader may release it once consumed.
//! * **P3** reader `released.store(Release)` ↔ writer `released.load(Acquire)`: the reader is
//!   done with the slots (and released their storage); the writer may reuse them.
//! * **P4** reader `head.store(Release)` / `examined.store(Release)` ↔ writer `Acquire` loads:
//!   byte room and backpressure. `head` is stored before `examined`.
//! * **W1** (no lost wake-up, store-buffering): a side that parks registers its waker, sets its
//!   `*_WAITING` bit (RMW), issues the heavy half of a fence and re-checks the other side's
//!   cursor; the other side stores its cursor, issues the light half and then loads `state`.
//!   The two halves act as two `fence(SeqCst)`: at least one of the two sides sees the other's
//!   store. Which halves a side uses is the ring's *fence mode* at that moment (below).
//! * **R1** (held slots, invariant 6) the writer's seal (`lens` store) is followed by the light
//!   half and a load of `state`; the reader's `READER_WAITING` RMW by the heavy half and a
//!   re-check of the slot lengths: the same store-buffering pair as W1, so either the writer
//!   sees the parked reader (and wakes it) or the reader sees the seal (and releases).
//! * **C1** completion: `state.fetch_or(COMPLETED, AcqRel)`; the completing side's stores
//!   before it (final commit, error value, opened count) are visible to whoever observes the
//!   bit with an `Acquire` load.
//! * **Wake-ups come last.** Every operation makes all its changes to the shared state (and
//!   frees what it frees) before it calls a waker, so a waker that panics leaves a consistent
//!   pipe behind (`tests/misuse.rs`). A side registers its waker before it announces its wait
//!   and re-checks after, so a wake that finds no waker (between `take` and `register`, see
//!   `sync::waker_slot::WakerSlot::register`) is never the one it needed.
//! * **D1** (deadlock detection) the reader stores `wait_pos` with `Release` before its
//!   `READER_WAITING` RMW; the writer loads it with `Acquire` *before* re-trying its grant, so
//!   whichever of the reader's waits the value comes from, every head the reader stored before
//!   that wait is visible to the grant. Symmetrically the writer stores `need_head` /
//!   `need_released` with `Release` after its last commit, and the reader, having loaded them
//!   with `Acquire`, re-reads `tail` before it calls the situation a deadlock. A `state` bit and
//!   the value next to it may come from different waits; these pairs make that harmless.
//!
//! # Fence modes
//!
//! W1 costs a full barrier on one side or the other. The ring is in one of two modes, the bit
//! `SYM_FENCES` of `state`:
//!
//! * **asymmetric** (bit clear): a publisher's light half is a compiler fence
//!   ([`Wakeup::fence_light`], no instruction) and a parker's heavy half is
//!   [`Wakeup::fence_heavy`] (`membarrier(2)`: a system call, and an interrupt of the other
//!   side's CPU if it is running). Publishing is as cheap as it gets; parking is dear.
//! * **symmetric** (bit set): both halves are `fence(SeqCst)`. Publishing pays a fence
//!   instruction; parking is cheap.
//!
//! A ring's [`FencePolicy`] says which modes it may be in. An `Adaptive` ring starts
//! asymmetric; a side that parks sets the bit in the same RMW that sets its `*_WAITING` bit
//! (so a ring whose sides park goes symmetric), and a publisher that has fenced a run of
//! publishes in a row without seeing the other side wait or waiting itself clears it (so a
//! ring whose sides stop parking goes back). The run is at least about one `membarrier` worth
//! of fences, like the ski-rental rule, and grows while the switches back are undone soon
//! after (a `membarrier` each): see `quiet.rs`.
//!
//! Why the switches lose no wake-up. A publisher stores its cursor, issues the light half,
//! loads `state` and, if the bit is set there, issues `fence(SeqCst)` and loads `state` again
//! (it decides on that second value). A parker decides which heavy half to issue on the value
//! its own `*_WAITING` RMW read (`old`), never on an earlier load:
//!
//! 1. `old` is asymmetric: the parker issues the heavy half, which pairs with the light half
//!    every publisher issued, whatever mode it went on to see.
//! 2. `old` is symmetric and the publisher's load saw the bit: both issued `fence(SeqCst)`.
//! 3. `old` is symmetric and the publisher's load did not see the bit: its value precedes the
//!    parker's RMW in the modification order of `state` (it lacks the parker's `*_WAITING`
//!    bit too, or the publisher would wake it), so a switch to symmetric lies between them: an
//!    RMW that set the bit, by a side that parked. If that side is the parker, it issued the
//!    heavy half after that RMW (its `old` there was asymmetric) and before this wait, in
//!    program order, so case 1 covers this publish. If it is the publisher, its load precedes
//!    its own switch in program order, hence so does its cursor store, and the parker's RMW
//!    (`AcqRel`, reading from the switch's release sequence) then sees that store.
//!
//! Clearing the bit is an RMW too, so a publisher that sees the bit clear reads a value that
//! comes after the clear, and any parker whose RMW came before the clear (and saw the bit set)
//! has its `*_WAITING` bit in that value. loom checks the switches with runs of 2 publishes
//! and the asymmetric halves emulated by what `membarrier` guarantees (`sync::fences`).

mod consumer;
mod producer;
mod quiet;
mod slots;
mod storage;
mod wakeup;

pub(crate) use consumer::{Consumer, Need, Snap};
pub use producer::FlushResult;
pub(crate) use producer::{GrantFail, Producer};
pub(crate) use slots::SlotView;
pub(crate) use storage::{ErrorCells, Storage};
pub(crate) use wakeup::{Side, Wakeup};

use crate::error::CompletionError;
use crate::sync::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering, UnsafeCell};
use core::task::{Context, Poll};
use crossbeam_utils::CachePadded;

/// A slot's length while the writer fills it.
pub(crate) const OPEN: usize = usize::MAX;

// Bits of `Ring::state`.
const WRITER_COMPLETED: u32 = 1 << 0;
const READER_COMPLETED: u32 = 1 << 1;
const WRITER_FAILED: u32 = 1 << 2;
const READER_FAILED: u32 = 1 << 3;
/// Set by a canceller: the pending read, or the next one, returns canceled (one-shot).
pub(crate) const READ_CANCELED: u32 = 1 << 4;
/// Set by a canceller: the pending flush or wait for room, or the next one, ends (one-shot).
pub(crate) const FLUSH_CANCELED: u32 = 1 << 5;
/// The reader is parked until `tail >= wait_pos`.
const READER_WAITING: u32 = 1 << 6;
/// The writer is parked (in a flush, or for room when `WRITER_WAITING_SPACE` is also set).
const WRITER_WAITING: u32 = 1 << 7;
/// The writer is parked until `head >= need_head` and `released >= need_released`.
const WRITER_WAITING_SPACE: u32 = 1 << 8;
/// The reader's current read can never be satisfied (see [`crate::ReadError::WouldDeadlock`]).
/// Set by whichever side notices; cleared by the reader when it consumes or un-examines.
const STALLED: u32 = 1 << 9;
/// The reader moved `examined` back (un-examined); the writer's cached copy may be too high.
/// Set by the reader after storing `examined`, cleared by the writer when it reloads.
const EXAMINED_BACK: u32 = 1 << 10;
/// The ring is in symmetric fence mode (see "Fence modes").
const SYM_FENCES: u32 = 1 << 11;

use quiet::Quiet;

/// Which fence modes a ring may be in (see "Fence modes"); decided when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FencePolicy {
    /// Asymmetric while the sides do not park, symmetric while they do.
    Adaptive,
    /// Always symmetric: a fence on every publish.
    Symmetric,
    /// Always asymmetric: a `membarrier` on every park.
    Asymmetric,
}

/// What the reader publishes, on its own cache line.
#[repr(C)]
pub(crate) struct ReaderSide {
    /// Consumed position. Written by the reader only.
    pub(crate) head: AtomicU64,
    /// Examined position. Written by the reader only.
    pub(crate) examined: AtomicU64,
    /// Number of slots released (the sequence number of the slot holding `head`).
    pub(crate) released: AtomicU64,
    /// The tail position that would satisfy the parked reader.
    pub(crate) wait_pos: AtomicU64,
    /// The tail a stall was judged on (stored with Release before the `STALLED` RMW, by
    /// whichever side sets it): only a commit past it ends the stall.
    pub(crate) stall_tail: AtomicU64,
    /// The reader's words for the wake-up (see [`SideWords`]).
    pub(crate) wake: WakeWords,
}

/// What the writer publishes, on its own cache line.
#[repr(C)]
pub(crate) struct WriterSide {
    /// Committed position. Written by the writer only.
    pub(crate) tail: AtomicU64,
    /// The `head` that would give the parked writer the byte room it needs.
    pub(crate) need_head: AtomicU64,
    /// The `released` count that would give the parked writer a free slot.
    pub(crate) need_released: AtomicU64,
    /// The writer's words for the wake-up (see [`SideWords`]).
    pub(crate) wake: WakeWords,
}

/// A side's words for its [`Wakeup`], on the side's own cursor line (see [`SideWords`]).
#[repr(C)]
pub(crate) struct WakeWords {
    /// In process: the thread the side was last seen on (`pipe::local_wakeup`).
    pub(crate) tag: AtomicUsize,
    /// Across processes: the futex word a blocking call of the side waits on (`bell`).
    pub(crate) park: AtomicU32,
}

impl WakeWords {
    pub(crate) fn new() -> WakeWords {
        WakeWords {
            tag: AtomicUsize::new(0),
            park: AtomicU32::new(0),
        }
    }
}

/// The words the two sides share: each side's cursor line and the state bits, each on a cache
/// line of its own. `#[repr(C)]` and atomics only, so that a mapping two processes share can
/// hold them at a layout both agree on (an all-zero `Words` is a valid one: a new ring in
/// asymmetric fence mode). The slot lengths live beside them, in the same [`Storage`].
#[repr(C)]
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct Words {
    pub(crate) writer: CachePadded<WriterSide>,
    pub(crate) reader: CachePadded<ReaderSide>,
    pub(crate) state: CachePadded<AtomicU32>,
}

impl Words {
    /// The words of a new ring with fence policy `fences`.
    pub(crate) fn new(fences: FencePolicy) -> Words {
        Words {
            writer: CachePadded::new(WriterSide {
                tail: AtomicU64::new(0),
                need_head: AtomicU64::new(0),
                need_released: AtomicU64::new(0),
                wake: WakeWords::new(),
            }),
            reader: CachePadded::new(ReaderSide {
                head: AtomicU64::new(0),
                examined: AtomicU64::new(0),
                released: AtomicU64::new(0),
                wait_pos: AtomicU64::new(0),
                stall_tail: AtomicU64::new(0),
                wake: WakeWords::new(),
            }),
            state: CachePadded::new(AtomicU32::new(initial_state(fences))),
        }
    }

    /// `side`'s words for the wake-up.
    #[inline]
    pub(crate) fn wake_words(&self, side: Side) -> &WakeWords {
        match side {
            Side::Writer => &self.writer.wake,
            Side::Reader => &self.reader.wake,
        }
    }
}

/// Words on each side's own cache line ([`WakeWords`]), kept for the [`Wakeup`] to use as it
/// likes, on the slow paths only (parking, waking). The in-process wake-up records in `tag`
/// the thread a side was last seen on, so that the other side does not spin for a side
/// running on its own thread; the wake-up across processes keeps in `park` the futex word a
/// blocking call of the side waits on, which the other process wakes. On the side's own line,
/// a store to them costs nothing the side's cursor stores do not already pay, and the other
/// side reads them with the cursors it reads anyway.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct SideWords<'a> {
    /// The calling side's words.
    pub(crate) mine: &'a WakeWords,
    /// The other side's words.
    pub(crate) other: &'a WakeWords,
}

/// The sizes a ring is built with (checked by the front-end's options).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RingParams {
    /// Number of slots: a power of two, at least 2.
    pub(crate) slots: usize,
    /// The most bytes the ring holds unconsumed (flushed or not).
    pub(crate) capacity: u64,
    /// Pause threshold (0 = never pause).
    pub(crate) pause: u64,
    /// Resume threshold.
    pub(crate) resume: u64,
    /// The fence modes the ring may use.
    pub(crate) fences: FencePolicy,
}

/// The state the two halves share: cursors, state bits, slot lengths, completion errors, and
/// the ring's two homes.
pub(crate) struct Ring<S, W> {
    mask: u64,
    capacity: u64,
    chunk_size: usize,
    pause: u64,
    resume: u64,
    fences: FencePolicy,
    /// Number of slots the writer has opened; written by the writer before it completes.
    opened: UnsafeCell<u64>,
    /// Where the shared words, the slot lengths, the completion errors and the bytes of the
    /// slots live.
    storage: S,
    /// How the sides park and wake each other.
    wakeup: W,
}

// SAFETY: `opened` is accessed under the protocol above: by the writer before its completion
// RMW and by the other side after observing it (C1); the storage's memory as invariants 3 and
// 4 say. Everything else is atomic, and `S` and `W`
// are `Send + Sync`.
unsafe impl<S: Storage, W: Wakeup> Send for Ring<S, W> {}
// SAFETY: as above; shared access from both halves follows the protocol.
unsafe impl<S: Storage, W: Wakeup> Sync for Ring<S, W> {}

impl<S: Storage, W: Wakeup> Ring<S, W> {
    pub(crate) fn new(params: RingParams, storage: S, wakeup: W) -> Ring<S, W> {
        debug_assert!(params.slots.is_power_of_two() && params.slots >= 2);
        debug_assert_eq!(storage.lens().len(), params.slots);
        Ring {
            mask: (params.slots - 1) as u64,
            capacity: params.capacity,
            chunk_size: storage.chunk_size(),
            pause: params.pause,
            resume: params.resume,
            fences: params.fences,
            opened: UnsafeCell::new(0),
            storage,
            wakeup,
        }
    }

    /// The shared words (cursors and state), wherever the storage keeps them.
    #[inline]
    pub(crate) fn words(&self) -> &Words {
        self.storage.words()
    }

    /// The length word of slot `seq`.
    #[inline]
    fn len(&self, seq: u64) -> &AtomicUsize {
        let lens = self.storage.lens();
        let i = (seq & self.mask) as usize;
        debug_assert!(i < lens.len());
        // SAFETY: `lens().len() == mask + 1` (the storage's contract, checked in `new`), so
        // `seq & mask` is in bounds. (The bounds check this skips sat on every hot path.)
        unsafe { lens.get_unchecked(i) }
    }

    /// The number of slots.
    #[inline]
    fn slots(&self) -> u64 {
        self.mask + 1
    }

    /// The bytes of every slot.
    #[inline]
    pub(crate) fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The ring's capacity in bytes.
    #[inline]
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The largest size hint the ring can meet: the smaller of the slot size and the capacity.
    #[inline]
    pub(crate) fn max_hint(&self) -> usize {
        self.chunk_size
            .min(self.capacity.min(usize::MAX as u64) as usize)
    }

    /// The fence modes the ring may use.
    pub(crate) fn fence_policy(&self) -> FencePolicy {
        self.fences
    }

    /// Whether `side` has completed (a snapshot: once `true` it stays so until a reset).
    pub(crate) fn is_completed(&self, side: Side) -> bool {
        // Ordering: Relaxed; a snapshot, nothing is read on the strength of it.
        self.seen_state(self.words().state.load(Ordering::Relaxed)) & completed_bit(side) != 0
    }

    // --- Reads of the other side's values ------------------------------------------------
    //
    // Every value one side takes from the other's part of the ring goes through here (and
    // through the loads of `state`). On a ring whose other side is another, untrusted process
    // (`Storage::CHECKED`), this is where it is validated: a cursor out of the range the
    // protocol allows, or a slot length outside `1..=chunk_size`, is a violation; the storage
    // records it (from then on the other side reads as completed with an error: `seen_state`)
    // and the caller gets a value that keeps its own arithmetic and memory accesses in bounds.
    // What the other side can still do: make us read bytes it chose (garbage), wake us for
    // nothing, or not wake us at all (a peer that stops, as a live one may).

    /// `v` if it lies in `lo..=hi`; on a checked ring, anything else is a violation (`what`
    /// names the value) and gives `lo`, which callers pick as the value that changes nothing
    /// (the last one they saw).
    #[inline(always)]
    fn check(&self, v: u64, lo: u64, hi: u64, what: &'static str) -> u64 {
        if S::CHECKED && (v < lo || v > hi) {
            self.storage.violated(what, v, lo..=hi);
            lo
        } else {
            v
        }
    }

    /// `state` as this side sees it: on a checked ring, the other side's end as this side
    /// first saw it, kept ([`Storage::seen_state`]): a side that is gone or broke the protocol
    /// reads as completed with an error (unless it completed first), and an end once seen is
    /// not taken back by what the other process writes later (an error reported stays one).
    #[inline(always)]
    fn seen_state(&self, s: u32) -> u32 {
        if S::CHECKED {
            self.storage.seen_state(s)
        } else {
            s
        }
    }

    /// The reader's consumed position. Ordering: Acquire, pairs with P4.
    #[inline]
    fn head(&self) -> u64 {
        self.words().reader.head.load(Ordering::Acquire)
    }

    /// The reader's consumed position, for the writer's byte room: at least `seen` (the last
    /// one the writer saw) and at most `committed` (checked).
    #[inline]
    fn head_in(&self, seen: u64, committed: u64) -> u64 {
        self.check(
            self.head(),
            seen,
            committed,
            "the reader's consumed position",
        )
    }

    /// The reader's examined position. Ordering: Acquire, pairs with P4.
    #[inline]
    fn examined(&self) -> u64 {
        self.words().reader.examined.load(Ordering::Acquire)
    }

    /// Slots the reader has released. Ordering: Acquire, pairs with P3: the reader is done
    /// with them.
    #[inline]
    fn released(&self) -> u64 {
        self.words().reader.released.load(Ordering::Acquire)
    }

    /// Slots the reader has released, for the writer's slot room: at least `seen` (the last
    /// count the writer saw) and at most `current` (the writer's open slot is not released).
    #[inline]
    fn released_in(&self, seen: u64, current: u64) -> u64 {
        self.check(
            self.released(),
            seen,
            current,
            "the reader's released slots",
        )
    }

    /// What the parked reader waits for. Acquire: pairs with the reader's Release store before
    /// its `READER_WAITING` RMW (D1).
    #[inline]
    fn wait_pos(&self, order: Ordering) -> u64 {
        self.words().reader.wait_pos.load(order)
    }

    /// The tail a stall was judged on. Ordering: Acquire, pairs with the Release store before
    /// the `STALLED` RMW.
    #[inline]
    fn stall_tail(&self) -> u64 {
        self.words().reader.stall_tail.load(Ordering::Acquire)
    }

    /// The writer's committed position, which the reader has seen reach `seen` and which
    /// cannot pass `limit` (its consumed position plus the capacity; checked). Ordering:
    /// Acquire, pairs with P1.
    #[inline]
    fn tail(&self, seen: u64, limit: u64) -> u64 {
        let t = self.words().writer.tail.load(Ordering::Acquire);
        self.check(t, seen, limit, "the writer's committed position")
    }

    /// What the parked writer needs: `(head, released)`. Ordering: Acquire, pairs with the
    /// writer's Release stores of its needs, made after its last commit and seal before that
    /// wait (D1).
    #[inline]
    fn needs(&self) -> (u64, u64) {
        (
            self.words().writer.need_head.load(Ordering::Acquire),
            self.words().writer.need_released.load(Ordering::Acquire),
        )
    }

    /// Slot `seq`'s sealed length, or `None` while the writer fills it. Ordering: Acquire,
    /// pairs with P2 (seal).
    #[inline]
    pub(crate) fn sealed_len(&self, seq: u64) -> Option<usize> {
        let len = self.len(seq).load(Ordering::Acquire);
        if len == OPEN {
            return None;
        }
        if S::CHECKED && !(1..=self.chunk_size).contains(&len) {
            let bounds = 1..=self.chunk_size as u64;
            self.storage.violated("a slot's length", len as u64, bounds);
            return Some(self.chunk_size);
        }
        Some(len)
    }

    /// The state bits. Ordering: Acquire, pairs with every RMW on `state` (C1, cancels,
    /// waiting bits with the values stored before them).
    #[inline]
    fn state(&self) -> u32 {
        self.seen_state(self.words().state.load(Ordering::Acquire))
    }

    // --- The storage --------------------------------------------------------------------

    /// Where slot `seq`'s bytes start.
    ///
    /// # Safety
    /// As [`Storage::base`]: the slot is open and the caller may touch the bytes it will.
    #[inline]
    pub(crate) unsafe fn slot_base(&self, seq: u64) -> *mut u8 {
        // SAFETY: delegated to the caller.
        unsafe { self.storage.base(seq) }
    }

    /// Tells loom about a read of `len` bytes at `off` of slot `seq` (no-op elsewhere).
    ///
    /// # Safety
    /// As [`Ring::slot_base`].
    #[inline]
    pub(crate) unsafe fn track_read(&self, seq: u64, off: usize, len: usize) {
        // SAFETY: delegated to the caller.
        unsafe { self.storage.track_read(seq, off, len) }
    }

    // --- Steps both sides take -----------------------------------------------------------

    /// The wake-up words, seen from `side`.
    #[inline]
    fn side_words(&self, side: Side) -> SideWords<'_> {
        let words = self.words();
        SideWords {
            mine: words.wake_words(side),
            other: words.wake_words(side.other()),
        }
    }

    /// Runs a blocking call of `side` to its end on this thread, waiting as the wake-up does
    /// (only for a wake-up with [`Wakeup::OWN_BLOCK_ON`]).
    pub(crate) fn block_on<F: core::future::Future>(&self, side: Side, fut: F) -> F::Output {
        self.wakeup.block_on(side, self.side_words(side), fut)
    }

    /// `side.other()` wakes `side`, which it found waiting, after publishing what it waited
    /// for (last, after every change of state).
    fn wake(&self, side: Side) {
        self.wakeup.wake(side, self.side_words(side.other()));
    }

    /// `side` runs again after it parked (see [`Wakeup::resumed`]).
    fn resumed(&self, side: Side, state: &mut W::SpinState) {
        self.wakeup.resumed(side, self.side_words(side), state);
    }

    /// How `side` would spin before it parks now.
    #[inline]
    fn spin_plan(&self, side: Side) -> W::SpinPlan {
        self.wakeup.spin_plan(side, self.side_words(side))
    }

    /// Announces that `side` waits (W1, heavy half): registers with the wake-up, sets `bits`
    /// in `state` (RMW; on an adaptive ring, the symmetric mode bit with them), then the heavy
    /// half of the mode the RMW found (see "Fence modes", cases 1–3). Returns `state` before
    /// the RMW; restarts the side's run of quiet publishes (`quiet`, at its position `pos`).
    /// The caller re-checks what it waits for afterwards.
    fn announce_wait(
        &self,
        side: Side,
        cx: &mut Context<'_>,
        bits: u32,
        quiet: &mut Quiet,
        pos: u64,
    ) -> u32 {
        self.wakeup.register(side, self.side_words(side), cx);
        let set = if self.fences == FencePolicy::Adaptive {
            bits | SYM_FENCES
        } else {
            bits
        };
        // Ordering: AcqRel; Release publishes what the caller stored before (wait position or
        // needs, D1), Acquire sees the other side's RMWs (and, for case 3 of "Fence modes",
        // the cursor stores before a switch to symmetric).
        let old = self.words().state.fetch_or(set, Ordering::AcqRel);
        if old & SYM_FENCES != 0 {
            // Ordering: SeqCst, the parker's half of the symmetric pair.
            fence(Ordering::SeqCst);
        } else {
            self.wakeup.fence_heavy(side);
        }
        quiet.restart(pos);
        old
    }

    /// W1 and R1, publisher's half, right after `side` stored a cursor (or sealed a slot) that
    /// the other side may be parked on: the fence half of the ring's mode, then `state`
    /// (Acquire, pairs with the parker's RMW) for the caller to decide on. `quiet` is the
    /// caller's run of quiet publishes, `pos` its position (written or consumed).
    #[inline]
    fn state_after_publish(&self, side: Side, quiet: &mut Quiet, pos: u64) -> u32 {
        self.wakeup.fence_light(side.other());
        let s = self.state();
        if s & SYM_FENCES == 0 {
            return s;
        }
        self.state_after_full_fence(side, quiet, pos)
    }

    /// The symmetric mode of [`state_after_publish`](Self::state_after_publish): a full fence
    /// and `state` again; on an adaptive ring, counts the publishes in a row that find the
    /// other side not waiting and switches to asymmetric after a run of them (`quiet.rs`).
    fn state_after_full_fence(&self, side: Side, quiet: &mut Quiet, pos: u64) -> u32 {
        // Ordering: SeqCst, the publisher's half of the symmetric pair.
        fence(Ordering::SeqCst);
        let s = self.state();
        if self.fences == FencePolicy::Adaptive
            && quiet.publish(pos, s & waiting_bit(side.other()) != 0)
        {
            // Ordering: AcqRel, as every RMW on `state`; an RMW, so that a parker whose RMW
            // came first is seen by whoever sees the bit clear ("Fence modes").
            self.words().state.fetch_and(!SYM_FENCES, Ordering::AcqRel);
        }
        s
    }

    /// Clears `bits` in `state`.
    fn clear(&self, bits: u32) {
        // Ordering: AcqRel, as every RMW on `state`.
        self.words().state.fetch_and(!bits, Ordering::AcqRel);
    }

    /// A canceller sets `bit` (`READ_CANCELED` or `FLUSH_CANCELED`) and wakes the side it
    /// concerns.
    pub(crate) fn cancel(&self, bit: u32) {
        debug_assert!(bit == READ_CANCELED || bit == FLUSH_CANCELED);
        // Ordering: AcqRel RMW; the side observes it with an Acquire load (`state`).
        self.words().state.fetch_or(bit, Ordering::AcqRel);
        let side = if bit == READ_CANCELED {
            Side::Reader
        } else {
            Side::Writer
        };
        self.wakeup.wake_for_event(side);
    }

    /// Completes `side` (C1), with `error` if any; the writer passes the number of slots it
    /// opened. The side that completes second releases every slot still open (invariant 5).
    /// Wakes the other side last, so that a wake-up that panics finds the ring completed.
    fn complete(&self, side: Side, error: Option<CompletionError>, opened: Option<u64>) {
        let mut bits = completed_bit(side);
        if let Some(e) = error {
            // SAFETY: only `side` sets its error, once, before its completion RMW (C1); the
            // other side reads it only after observing the FAILED bit.
            unsafe { self.storage.set_error(side, e) };
            bits |= failed_bit(side);
        }
        if let Some(opened) = opened {
            // SAFETY: as for the error cell; read by `release_all` after C1.
            self.opened.with_mut(|p| unsafe { *p = opened });
        }
        // Ordering: AcqRel, C1: publishes the stores above; acquires the other side's if it
        // completed first (then we release everything).
        let s = self.words().state.fetch_or(bits, Ordering::AcqRel);
        if s & completed_bit(side.other()) != 0 {
            // SAFETY: both sides have completed and we completed second.
            unsafe { self.release_all() };
        }
        self.wakeup.wake_for_event(side.other());
    }

    /// `side`'s completion error. Present once `state` (loaded with Acquire) has its FAILED
    /// bit.
    fn error_of(&self, side: Side) -> CompletionError {
        // SAFETY: set before the FAILED bit was (C1), which the caller observed with Acquire;
        // not set again before a reset.
        unsafe { self.storage.error(side) }
    }

    /// Resolves when `side.other()` completes: `Ok(())`, or its error. Registers `side`'s
    /// waiter first (a completion wakes it).
    fn poll_completion_of_other(
        &self,
        side: Side,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), CompletionError>> {
        self.wakeup.register(side, self.side_words(side), cx);
        let other = side.other();
        let s = self.state();
        if s & completed_bit(other) == 0 {
            return Poll::Pending;
        }
        if s & failed_bit(other) != 0 {
            return Poll::Ready(Err(self.error_of(other)));
        }
        Poll::Ready(Ok(()))
    }

    /// Releases every slot still open. Called once, by the side that completes second.
    ///
    /// # Safety
    /// Both sides must have completed and the caller must be the one that completed second.
    unsafe fn release_all(&self) {
        // The reader has completed, so its count is final (P3).
        if S::CHECKED {
            // A storage shared with another process gives nothing back (its slots are fixed
            // ranges of the mapping), and its `released` count may come from anyone.
            return;
        }
        let released = self.released();
        // SAFETY: the writer wrote `opened` before its completion RMW, which we observed (C1).
        let opened = self.opened.with(|p| unsafe { *p });
        for seq in released..opened {
            // SAFETY: both sides completed; nobody touches the slots any more, and slots
            // `released .. opened` are open (invariant 3).
            unsafe { self.storage.release(seq) };
        }
        // SAFETY: as above; nobody waits for anything any more.
        unsafe { self.storage.idle(0, opened) };
    }

    /// Makes a ring whose both sides completed (and released everything) as new: no data, no
    /// completion, no error, no pending cancel.
    ///
    /// # Safety
    /// Both halves must have completed and be held (borrowed mutably) by the caller, so that
    /// only cancel handles (which touch `state` only) can reach the ring meanwhile.
    pub(crate) unsafe fn reset(&self) {
        debug_assert!(self.is_completed(Side::Writer) && self.is_completed(Side::Reader));
        // Ordering: Relaxed; published by the Release store of `state` below and by the halves
        // being handed back to their owners.
        let words = self.words();
        for cursor in [
            &words.writer.tail,
            &words.writer.need_head,
            &words.writer.need_released,
            &words.reader.head,
            &words.reader.examined,
            &words.reader.released,
            &words.reader.wait_pos,
            &words.reader.stall_tail,
        ] {
            cursor.store(0, Ordering::Relaxed);
        }
        // SAFETY: both sides completed and are held by the caller: nobody reads the errors or
        // `opened`.
        unsafe { self.storage.clear_errors() };
        // SAFETY: as above.
        self.opened.with_mut(|p| unsafe { *p = 0 });
        // Ordering: Relaxed, as the cursors above: published by the `state` store below.
        for len in self.storage.lens() {
            len.store(OPEN, Ordering::Relaxed);
        }
        for wake in [&words.writer.wake, &words.reader.wake] {
            // Ordering: Relaxed, as the cursors above: published by the `state` store below.
            wake.tag.store(0, Ordering::Relaxed);
            wake.park.store(0, Ordering::Relaxed);
        }
        self.wakeup.reset();
        // Ordering: Release; pairs with the Acquire loads of `state` by the halves and by
        // cancel handles.
        words
            .state
            .store(initial_state(self.fences), Ordering::Release);
    }
}

/// `state` of a new ring: a symmetric-only ring is in symmetric mode for good.
pub(crate) fn initial_state(fences: FencePolicy) -> u32 {
    match fences {
        FencePolicy::Symmetric => SYM_FENCES,
        FencePolicy::Adaptive | FencePolicy::Asymmetric => 0,
    }
}

/// The WAITING bit of `side` (set while it is parked, for data, for room or in a flush).
#[inline]
fn waiting_bit(side: Side) -> u32 {
    match side {
        Side::Writer => WRITER_WAITING,
        Side::Reader => READER_WAITING,
    }
}

/// The COMPLETED bit of `side`.
#[inline]
pub(crate) fn completed_bit(side: Side) -> u32 {
    match side {
        Side::Writer => WRITER_COMPLETED,
        Side::Reader => READER_COMPLETED,
    }
}

/// The FAILED bit of `side`.
#[inline]
pub(crate) fn failed_bit(side: Side) -> u32 {
    match side {
        Side::Writer => WRITER_FAILED,
        Side::Reader => READER_FAILED,
    }
}

#[cfg(all(test, not(loom)))]
mod fence_mode_tests {
    //! The fence-mode switches of "Fence modes", watched through the `SYM_FENCES` bit: a park
    //! switches an adaptive ring to symmetric, `quiet::MIN_QUIET` publishes that find nobody
    //! waiting switch it back, a publish that finds the other side parked restarts the count;
    //! the fixed policies never switch. (That no wake-up is lost across the switches is for
    //! loom, `loom-tests/tests/fence_modes.rs`, and the stress suite.)

    use super::*;
    use crate::pipe::chunks::PooledChunks;
    use crate::pipe::local_wakeup::LocalWakeup;
    use crate::pipe::options::PipeOptions;
    use crate::sync::Arc;
    use core::task::Waker;

    type TestRing = Ring<PooledChunks, LocalWakeup>;

    fn ring(
        fences: FencePolicy,
    ) -> (
        Producer<PooledChunks, LocalWakeup>,
        Consumer<PooledChunks, LocalWakeup>,
    ) {
        let options = PipeOptions::builder()
            .capacity(1 << 20)
            .spin_wait(crate::SpinWait::Never)
            .build()
            .unwrap();
        let params = RingParams {
            slots: options.slots,
            capacity: options.capacity as u64,
            pause: 0,
            resume: 0,
            fences,
        };
        let storage = PooledChunks::new(options.slots, options.pool.clone(), fences);
        let ring = Arc::new(TestRing::new(params, storage, LocalWakeup::new(&options)));
        (Producer::new(ring.clone()), Consumer::new(ring))
    }

    fn symmetric(c: &Consumer<PooledChunks, LocalWakeup>) -> bool {
        c.ring().words().state.load(Ordering::Relaxed) & SYM_FENCES != 0
    }

    /// Writes and commits one byte.
    fn publish(p: &mut Producer<PooledChunks, LocalWakeup>) {
        assert!(p.grant(1).is_ok());
        p.advance(1);
        p.commit();
    }

    /// Reads everything there is and consumes it (the reader publishes too).
    fn consume(c: &mut Consumer<PooledChunks, LocalWakeup>) {
        let Poll::Ready(Ok(Some(snap))) = c.poll_read(None, Need::More) else {
            panic!("data expected");
        };
        c.take(&snap);
        c.advance_to(snap.tail, snap.tail);
    }

    /// Parks the reader on an empty ring (a noop waker: nobody polls it again).
    #[allow(clippy::incompatible_msrv)] // Tests need Rust 1.88 (README); the library 1.75.
    fn park_reader(c: &mut Consumer<PooledChunks, LocalWakeup>) {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(c.poll_read(Some(&mut cx), Need::More).is_pending());
    }

    #[test]
    fn adaptive_ring_switches_on_a_park_and_back_after_quiet_publishes() {
        if !crate::sync::fences::asymmetric_available() {
            return; // Symmetric only here (no membarrier).
        }
        let (mut p, mut c) = ring(FencePolicy::Adaptive);
        assert!(!symmetric(&c), "an adaptive ring starts asymmetric");
        for _ in 0..3 * quiet::MIN_QUIET {
            publish(&mut p);
            consume(&mut c);
        }
        assert!(!symmetric(&c), "publishes alone never switch to symmetric");

        park_reader(&mut c);
        assert!(symmetric(&c), "a park switches to symmetric");
        // The commit that satisfies the parked reader saw it waiting: the writer's count
        // restarts there, the reader's restarted at its park. Each side counts its own
        // publishes; the first to count quiet::MIN_QUIET quiet ones switches back: here the
        // reader, whose advances come first.
        publish(&mut p);
        for i in 0..quiet::MIN_QUIET - 1 {
            consume(&mut c);
            publish(&mut p);
            assert!(symmetric(&c), "still symmetric after {i} quiet publishes");
        }
        consume(&mut c);
        assert!(
            !symmetric(&c),
            "back to asymmetric after {} quiet publishes",
            quiet::MIN_QUIET
        );

        // A park in the middle of a quiet run restarts it.
        park_reader(&mut c);
        for _ in 0..quiet::MIN_QUIET / 2 {
            publish(&mut p);
            consume(&mut c);
        }
        park_reader(&mut c);
        for _ in 0..quiet::MIN_QUIET / 2 + 1 {
            publish(&mut p);
            consume(&mut c);
        }
        assert!(symmetric(&c), "the second park restarted the counts");
        // The halves' front-ends complete them when dropped; these raw halves must be
        // completed by hand, or their chunks stay out of the pool.
        p.complete(None);
        c.complete(None);
    }

    #[test]
    fn fixed_policies_never_switch() {
        for (fences, sym) in [
            (FencePolicy::Symmetric, true),
            (FencePolicy::Asymmetric, false),
        ] {
            if !sym && !crate::sync::fences::asymmetric_available() {
                continue;
            }
            let (mut p, mut c) = ring(fences);
            assert_eq!(symmetric(&c), sym, "{fences:?} at creation");
            for _ in 0..2 * quiet::MIN_QUIET {
                publish(&mut p);
                consume(&mut c);
            }
            park_reader(&mut c);
            publish(&mut p);
            consume(&mut c);
            assert_eq!(symmetric(&c), sym, "{fences:?} after publishes and a park");
            p.complete(None);
            c.complete(None);
            // SAFETY: both halves completed and are held here.
            unsafe { c.ring().reset() };
            assert_eq!(symmetric(&c), sym, "{fences:?} after a reset");
        }
    }
}
