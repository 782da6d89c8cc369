//! The only file that names the synchronisation primitives.
//!
//! Under `--cfg loom` everything here comes from [loom] so that `loom-tests/` model-checks the
//! real protocol code; otherwise it comes from `core`/`std`. The std side is
//! given loom's API (`UnsafeCell::with`/`with_mut`) so that call sites never need a `cfg`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(not(loom))]
#[allow(unused_imports)] // `fence` is unused where the asymmetric fence is membarrier.
pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

/// `UnsafeCell` with loom's closure API, so that loom can track every access.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    #[inline]
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

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
pub(crate) struct AtomicWaker {
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
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

impl core::fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AtomicWaker")
    }
}

impl AtomicWaker {
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

/// The free list of a chunk pool: a lock-free bounded queue on std, a loom-visible mutex under
/// loom (so that loom sees the happens-before edge that hands a chunk from reader to writer).
#[cfg(not(loom))]
pub(crate) struct FreeList<T>(crossbeam_queue::ArrayQueue<T>);

#[cfg(not(loom))]
impl<T> FreeList<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Self(crossbeam_queue::ArrayQueue::new(cap.max(1)))
    }
    /// Returns the value back when the list is full.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.0.push(value)
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.0.pop()
    }
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(loom)]
pub(crate) struct FreeList<T> {
    cap: usize,
    items: loom::sync::Mutex<Vec<T>>,
}

#[cfg(loom)]
impl<T> FreeList<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            items: loom::sync::Mutex::new(Vec::new()),
        }
    }
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let mut items = self.items.lock().unwrap();
        if items.len() >= self.cap {
            return Err(value);
        }
        items.push(value);
        Ok(())
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.items.lock().unwrap().pop()
    }
    pub(crate) fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }
}

/// The two halves of an asymmetric store-buffering fence (see `ring.rs`, W1).
///
/// A side that publishes (commit, advance) issues [`fence_light`] between its cursor store and
/// its `state` load; a side that parks issues [`fence_heavy`] between setting its waiting bit
/// and re-reading the other cursor. Together they give the guarantee of two `fence(SeqCst)`:
/// at least one side sees the other's store.
///
/// Each pipe decides once, when it is created, which scheme its two halves use (`asym`, kept
/// in `Shared` and never changed, so both halves always agree):
/// * symmetric (`asym == false`): both halves are `fence(SeqCst)`;
/// * asymmetric (`asym == true`, Linux only): the light half is a compiler fence, so the
///   publish path has no fence instruction, and the heavy half is
///   `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which makes every running thread of the
///   process execute a full barrier before it returns. A park then costs a system call and,
///   when the other side is running on another CPU, an inter-processor interrupt (measured on
///   a 2-vCPU KVM guest: ~0.3 µs when the other thread sleeps, 6–12 µs when it runs).
///
/// Under loom and Miri (which model `fence` but not `membarrier`) asymmetric fences are never
/// available, so every pipe is symmetric there.
///
/// Sources: the asymmetric Dekker pattern of Linux `membarrier(2)` ("Examples") and Folly's
/// `asymmetricLightBarrier` / `asymmetricHeavyBarrier`.
pub(crate) use asym::{asymmetric_available, fence_heavy, fence_light};

#[cfg(any(loom, miri, not(target_os = "linux")))]
mod asym {
    use super::{fence, Ordering};

    pub(crate) fn asymmetric_available() -> bool {
        false
    }

    #[inline]
    pub(crate) fn fence_light(_asym: bool) {
        fence(Ordering::SeqCst);
    }

    #[inline]
    pub(crate) fn fence_heavy(_asym: bool) {
        fence(Ordering::SeqCst);
    }
}

#[cfg(all(not(loom), not(miri), target_os = "linux"))]
mod asym {
    use core::sync::atomic::{compiler_fence, fence, Ordering};

    // From <linux/membarrier.h>.
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn membarrier(cmd: libc::c_long) -> bool {
        // SAFETY: membarrier takes no pointers; an unsupported command just fails with -1.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_long,
                0 as libc::c_long,
            ) == 0
        }
    }

    /// Whether `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` works in this process; registers
    /// the process for it the first time (registration is permanent). A pipe asks this before
    /// it is created, so the registration happens before any asymmetric pipe exists.
    pub(crate) fn asymmetric_available() -> bool {
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *OK.get_or_init(|| {
            membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
                && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
        })
    }

    #[inline]
    pub(crate) fn fence_light(asym: bool) {
        if asym {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    #[inline]
    pub(crate) fn fence_heavy(asym: bool) {
        // Symmetric: this fence is the whole heavy half. Asymmetric: it orders our waiting bit
        // before the system call, and the one after the call orders the call before our
        // re-check, as `membarrier(2)`'s own example does on both sides of the call; the
        // call makes every running thread of the process pass a full barrier, which is what
        // the publisher's compiler fence leans on.
        fence(Ordering::SeqCst);
        if asym {
            // It worked when the pipe was created (`asymmetric_available`); the kernel gives no
            // way for it to fail later short of a bug, and the light side could not recover
            // from it, so we do not go on.
            if !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
                panic!("ringpipe: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after it was registered");
            }
            fence(Ordering::SeqCst);
        }
    }
}
