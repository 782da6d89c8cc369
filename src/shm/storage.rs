//! The [`Storage`] of a shared ring: its words, slot lengths, errors and bytes at fixed offsets
//! of a region both processes map ([`Layout`]). Nothing is ever taken or given back: a slot is
//! `chunk_size` bytes at `data_off + (seq & mask) * chunk_size`, whatever `seq` is, so no value
//! the other process writes can send an access outside the region.

use super::layout::{ErrorRecord, Layout, ERROR_BYTES};
use super::status::{PeerEnd, PeerError, PeerStatus};
use super::sys::{futex_wait, futex_wake, Region};
use crate::bell::Mapping;
use crate::error::CompletionError;
use crate::protocol::{
    completed_bit, failed_bit, initial_state, FencePolicy, Side, Storage, Words, OPEN,
};
use crate::sync::{AtomicU32, AtomicUsize, Ordering};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

/// A shared ring's memory, seen from the process that holds side `local`.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct MappedRing {
    /// Shared with the wake-up (its futex words) and its blocking calls' wakers.
    region: Arc<Region>,
    layout: Layout,
    mask: u64,
    local: Side,
    /// The other side's COMPLETED and FAILED bits.
    peer_completed: u32,
    peer_failed: u32,
    status: Arc<PeerStatus>,
}

impl MappedRing {
    /// The ring in `region` (of `layout.len` bytes), for side `local`. A new region (all
    /// zero) must be [`init`](Self::init)ed by its creator before the other process gets it.
    pub(crate) fn new(
        region: Arc<Region>,
        layout: Layout,
        local: Side,
        status: Arc<PeerStatus>,
    ) -> MappedRing {
        assert!(
            region.len() >= layout.len,
            "ringpipe: region smaller than its layout"
        );
        MappedRing {
            region,
            layout,
            mask: layout.slots as u64 - 1,
            local,
            peer_completed: completed_bit(local.other()),
            peer_failed: failed_bit(local.other()),
            status,
        }
    }

    /// Makes a fresh (zeroed) region a new ring with symmetric fences: a ring two processes
    /// share cannot pair `membarrier(2)` (which reaches this process's threads only) with the
    /// other side.
    pub(crate) fn init(&self) {
        // Ordering: Relaxed; nobody else can see the region before `create` returns the
        // `PeerEnd`, whose hand-over to the other process (a system call) publishes it.
        self.words()
            .state
            .store(initial_state(FencePolicy::Symmetric), Ordering::Relaxed);
        for len in self.lens() {
            len.store(OPEN, Ordering::Relaxed);
        }
    }

    /// [`Storage::seen_state`] once the other side's end shows (a bit of it, or its loss):
    /// keeps the first end seen, and gives the state with that end.
    #[cold]
    #[inline(never)]
    fn peer_end(&self, s: u32) -> u32 {
        let seen = if s & self.peer_failed != 0 {
            PeerEnd::Failed
        } else if s & self.peer_completed != 0 {
            PeerEnd::Completed
        } else {
            PeerEnd::Lost
        };
        let bits = match self.status.keep_end(seen) {
            PeerEnd::Completed => self.peer_completed,
            PeerEnd::Failed | PeerEnd::Lost => self.peer_completed | self.peer_failed,
        };
        (s & !(self.peer_completed | self.peer_failed)) | bits
    }

    fn record(&self, side: Side) -> &ErrorRecord {
        let off = self.layout.errors_off + side as usize * std::mem::size_of::<ErrorRecord>();
        // SAFETY: `Layout::new` put two records at `errors_off`, aligned and inside the region
        // (`new` checked its length); a record is atomics only, valid for any bytes.
        unsafe { &*(self.region.as_ptr().add(off) as *const ErrorRecord) }
    }
}

// A region is at least a page long (`Region`), so it holds the words.
const _: () = assert!(std::mem::size_of::<Words>() <= 4096);

/// How long a blocking call waits on its futex word before it looks again, woken or not: the
/// longest a peer that puts the word back (see `bell`) can hold it.
const FUTEX_RECHECK: Duration = Duration::from_millis(50);

impl Mapping for Region {
    #[inline]
    fn words(&self) -> &Words {
        // SAFETY: `Words` is at offset 0 of the page-aligned region (aligned for it; every
        // region is at least a page, asserted above to hold it), and is atomics only: valid
        // whatever the bytes.
        unsafe { &*(self.as_ptr() as *const Words) }
    }

    fn futex_wait(&self, word: &AtomicU32, expected: u32) {
        futex_wait(word, expected, FUTEX_RECHECK);
    }

    fn futex_wake(&self, word: &AtomicU32) {
        futex_wake(word);
    }
}

// SAFETY: every pointer handed out is inside the region (the offsets come from the checked
// `Layout`, slot `seq & mask` of `slots`); the region is mapped for as long as `self` lives;
// `lens` has `slots` words. The bytes are shared with the other process, which may write them
// at any time: the protocol (and this type's `CHECKED` validation) keeps this process's own
// accesses to its own side's bytes; what the other process does can change the bytes read,
// never where they are read.
unsafe impl Storage for MappedRing {
    const CHECKED: bool = true;

    #[inline]
    fn words(&self) -> &Words {
        Mapping::words(&*self.region)
    }

    #[inline]
    fn lens(&self) -> &[AtomicUsize] {
        // SAFETY: `slots` aligned words at `lens_off`, inside the region (`Layout`); atomics.
        unsafe {
            core::slice::from_raw_parts(
                self.region.as_ptr().add(self.layout.lens_off) as *const AtomicUsize,
                self.layout.slots,
            )
        }
    }

    unsafe fn set_error(&self, side: Side, error: CompletionError) {
        let message = error.to_string();
        let mut end = message.len().min(ERROR_BYTES);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; ERROR_BYTES];
        bytes[..end].copy_from_slice(&message.as_bytes()[..end]);
        let record = self.record(side);
        for (word, chunk) in record.words.iter().zip(bytes.chunks_exact(8)) {
            // Ordering: Relaxed; published by the Release store of the length below and by the
            // completion RMW after it (C1).
            word.store(
                u64::from_le_bytes(chunk.try_into().expect("8 bytes")),
                Ordering::Relaxed,
            );
        }
        record.len.store(end as u32, Ordering::Release);
    }

    unsafe fn error(&self, side: Side) -> CompletionError {
        // The end kept tells a real completion with an error from the loss this process
        // recorded (whatever the state word says now). Its Acquire (in `end`), with the one of
        // the load that saw the FAILED bit, makes the record visible (C1).
        if side == self.local || self.status.end() != Some(PeerEnd::Failed) {
            return Arc::new(self.status.error());
        }
        let record = self.record(side);
        let len = (record.len.load(Ordering::Acquire) as usize).min(ERROR_BYTES);
        let mut bytes = [0u8; ERROR_BYTES];
        for (word, chunk) in record.words.iter().zip(bytes.chunks_exact_mut(8)) {
            chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        let message = String::from_utf8_lossy(&bytes[..len]).into_owned();
        Arc::new(PeerError::Failed(message))
    }

    unsafe fn clear_errors(&self) {
        // A shared ring is never reset (its halves live in two processes).
    }

    fn violated(&self, what: &'static str, value: u64, allowed: RangeInclusive<u64>) {
        self.status.violated(what, value, allowed);
    }

    #[inline(always)]
    fn seen_state(&self, s: u32) -> u32 {
        // The common case: the other side runs (none of its end bits, no end kept, not lost).
        if s & (self.peer_completed | self.peer_failed) == 0 && !self.status.settled() {
            return s;
        }
        self.peer_end(s)
    }

    fn chunk_size(&self) -> usize {
        self.layout.chunk_size
    }

    #[inline]
    unsafe fn open(&self, seq: u64) -> *mut u8 {
        // SAFETY: delegated to the caller.
        unsafe { self.base(seq) }
    }

    #[inline]
    unsafe fn base(&self, seq: u64) -> *mut u8 {
        let off = self.layout.data_off + (seq & self.mask) as usize * self.layout.chunk_size;
        // SAFETY: slot `seq & mask` of `slots` lies inside the region (`Layout`), whatever
        // `seq` is.
        unsafe { self.region.as_ptr().add(off) }
    }

    unsafe fn release(&self, _seq: u64) {}

    unsafe fn idle(&self, _from: u64, _released: u64) {}

    #[inline]
    unsafe fn track_write(&self, _seq: u64, _off: usize, _len: usize) {}

    #[inline]
    unsafe fn track_read(&self, _seq: u64, _off: usize, _len: usize) {}
}
