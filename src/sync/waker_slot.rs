//! The waker slot of one side of a pipe: where a pending read or flush leaves its task's
//! `Waker`, and where the other side finds it to wake it.

use super::{AtomicUsize, Ordering, UnsafeCell};

/// The waker slot of one side: the atomic-waker algorithm (a three-state lock word next to an
/// `Option<Waker>`), written here over this file's primitives so that loom checks it with the
/// rest of the protocol, and changed in one respect: the slot takes an **owned** waker. The
/// caller clones before the slot is locked and the replaced waker is dropped after it is
/// unlocked, so a waker whose `clone` or `drop` panics cannot leave the slot locked (with
/// atomic-waker's `register(&Waker)` the clone and the drop run while it holds `REGISTERING`,
/// and a panic there leaves that state set for good: every later wake of the side is lost,
/// `tests/misuse.rs`). It also takes three atomic read-modify-writes to register where taking
/// the old waker out of an `atomic_waker::AtomicWaker` first, for the same safety, took seven
/// (measured: 40 ns of a 310 ns async ping-pong on one thread).
///
/// One thread registers at a time (each side registers only its own slot, through `&mut`);
/// any number may wake.
pub(crate) struct WakerSlot {
    state: AtomicUsize,
    waker: UnsafeCell<Option<core::task::Waker>>,
}

/// Nobody holds the slot.
const WAITING: usize = 0;
/// The registering side holds the slot.
const REGISTERING: usize = 0b01;
/// A waking side holds the slot (or asked the registering side to wake for it).
const WAKING: usize = 0b10;

// SAFETY: the cell is only accessed by whoever moved `state` from WAITING to REGISTERING or
// WAKING (an exclusive lock, acquired and released with the orderings below); `Waker` is Send
// and Sync.
unsafe impl Send for WakerSlot {}
// SAFETY: as above.
unsafe impl Sync for WakerSlot {}

impl core::fmt::Debug for WakerSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WakerSlot")
    }
}

impl WakerSlot {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Registers `waker`, replacing the previous one; a wake that races with this call wakes
    /// `waker`.
    pub(crate) fn register(&self, waker: &core::task::Waker) {
        // Before the lock: a clone that panics changes nothing.
        let new = waker.clone();
        // Ordering: Acquire, pairs with the Release that unlocked the slot (the last waker
        // stored or taken is visible).
        match self.state.compare_exchange(
            WAITING,
            REGISTERING,
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // SAFETY: REGISTERING: we hold the slot.
                let old = self.waker.with_mut(|p| unsafe { (*p).replace(new) });
                // Ordering: AcqRel; Release publishes the new waker to the next waker-taker,
                // Acquire (on failure too) sees a waking side's flag.
                match self.state.compare_exchange(
                    REGISTERING,
                    WAITING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => drop(old),
                    Err(actual) => {
                        // A wake came while we held the slot (it set WAKING and left): it is
                        // ours to deliver, to the waker just registered.
                        debug_assert_eq!(actual, REGISTERING | WAKING);
                        // SAFETY: still REGISTERING: we hold the slot.
                        let now = self.waker.with_mut(|p| unsafe { (*p).take() });
                        // Ordering: AcqRel, as above; clears our lock and the WAKING flag.
                        self.state.swap(WAITING, Ordering::AcqRel);
                        // After the unlock: a drop or wake that panics leaves a usable slot.
                        drop(old);
                        if let Some(w) = now {
                            w.wake();
                        }
                    }
                }
            }
            // A wake is in progress and may have taken the old waker: deliver it to the new
            // one ourselves. The waking side holds the slot for a few instructions; a caller
            // that re-polls at once should let it finish (under loom: must, or loom explores
            // a schedule where the waking side never runs again).
            Err(WAKING) => {
                #[cfg(loom)]
                loom::thread::yield_now();
                #[cfg(not(loom))]
                core::hint::spin_loop();
                new.wake();
            }
            // Another registration is in progress: not possible with one registering thread
            // per slot; like atomic-waker, leave the slot to it.
            Err(_) => drop(new),
        }
    }

    /// Wakes the registered waker, if any (it is removed).
    pub(crate) fn wake(&self) {
        if let Some(w) = self.take() {
            w.wake();
        }
    }

    /// Removes and returns the registered waker. `None` if there is none, or if another side
    /// is waking it, or if it is being registered (the registering side then wakes it).
    pub(crate) fn take(&self) -> Option<core::task::Waker> {
        // Ordering: AcqRel; Acquire pairs with the registering side's Release (its waker is
        // visible), Release lets a registering side that sees WAKING see what we did before.
        match self.state.fetch_or(WAKING, Ordering::AcqRel) {
            WAITING => {
                // SAFETY: WAITING -> WAKING: we hold the slot.
                let w = self.waker.with_mut(|p| unsafe { (*p).take() });
                // Ordering: Release, unlocks the slot (the cell is empty now).
                self.state.fetch_and(!WAKING, Ordering::Release);
                w
            }
            _ => None,
        }
    }
}
