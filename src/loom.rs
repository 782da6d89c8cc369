//! The only file that names the synchronisation primitives.
//!
//! Under `--cfg loom` everything here comes from [loom] so that `loom-tests/` model-checks the
//! real protocol code; otherwise it comes from `core`/`std` and `atomic-waker`. The std side is
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

/// The waker slot of one side: atomic-waker's `AtomicWaker`, registered so that a waker
/// whose `clone` or `drop` panics cannot leave it locked. (atomic-waker clones the new waker
/// and drops the old one while it holds its `REGISTERING` state; a panic there leaves that
/// state set for good, and every later `wake` of the side is silently lost.)
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct AtomicWaker(atomic_waker::AtomicWaker);

#[cfg(not(loom))]
impl AtomicWaker {
    pub(crate) fn new() -> Self {
        Self(atomic_waker::AtomicWaker::new())
    }

    /// Registers `waker`, replacing the previous one.
    ///
    /// The old waker is taken out first and dropped after the new one is in place, and the
    /// new one is cloned once before the slot is touched: a panicking `drop` then happens
    /// outside atomic-waker (the new waker is already registered), and a `clone` that panics
    /// panics before anything changed. (A waker whose clone succeeds once and then panics
    /// would still defeat this; no `Waker` from `std::task::Wake` or an executor does that.)
    /// A wake that comes between the take and the register finds no waker: harmless, since
    /// every waiting side registers *before* it announces its wait and re-checks after.
    pub(crate) fn register(&self, waker: &core::task::Waker) {
        let new = waker.clone();
        let old = self.0.take();
        self.0.register(&new);
        drop(new);
        drop(old);
    }

    pub(crate) fn wake(&self) {
        self.0.wake();
    }

    pub(crate) fn take(&self) -> Option<core::task::Waker> {
        self.0.take()
    }
}

/// loom's mock of `AtomicWaker`, presented with atomic-waker's method names.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct AtomicWaker(loom::future::AtomicWaker);

#[cfg(loom)]
impl AtomicWaker {
    pub(crate) fn new() -> Self {
        Self(loom::future::AtomicWaker::new())
    }
    /// The same sequence as the std build's `register` (take the old waker out, register,
    /// drop the old one), so that the models check it for lost wake-ups too.
    pub(crate) fn register(&self, waker: &core::task::Waker) {
        let old = self.0.take_waker();
        self.0.register_by_ref(waker);
        drop(old);
    }
    pub(crate) fn wake(&self) {
        self.0.wake();
    }
    pub(crate) fn take(&self) -> Option<core::task::Waker> {
        self.0.take_waker()
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
