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

/// The waker slot of one side, with atomic-waker's API on both configurations.
#[cfg(not(loom))]
pub(crate) use atomic_waker::AtomicWaker;

/// loom's mock of `AtomicWaker`, presented with atomic-waker's method names.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct AtomicWaker(loom::future::AtomicWaker);

#[cfg(loom)]
impl AtomicWaker {
    pub(crate) fn new() -> Self {
        Self(loom::future::AtomicWaker::new())
    }
    pub(crate) fn register(&self, waker: &core::task::Waker) {
        self.0.register_by_ref(waker);
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
/// By default both halves are `fence(SeqCst)`. On Linux, a program that calls
/// [`crate::enable_asymmetric_fences`] before creating its first pipe (or runs with
/// `RINGPIPE_MEMBARRIER=1`) gets `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` as the heavy half
/// and a compiler fence as the light half: the publish path then has no fence instruction, and
/// every park pays a system call that interrupts every running thread of the process (measured
/// on a 2-vCPU VM: a park-heavy stream ran 5x slower, hence opt-in). Under loom and Miri (which
/// model `fence` but not `membarrier`) both halves are always `fence(SeqCst)`.
///
/// Sources: the asymmetric Dekker pattern of Linux `membarrier(2)` ("Examples") and Folly's
/// `asymmetricLightBarrier` / `asymmetricHeavyBarrier`.
pub(crate) use asym::{enable_asymmetric_fences, fence_heavy, fence_light, init_fences};

#[cfg(any(loom, miri, not(target_os = "linux")))]
mod asym {
    use super::{fence, Ordering};

    pub(crate) fn init_fences() {}

    pub(crate) fn enable_asymmetric_fences() -> bool {
        false
    }

    #[inline]
    pub(crate) fn fence_light() {
        fence(Ordering::SeqCst);
    }

    #[inline]
    pub(crate) fn fence_heavy() {
        fence(Ordering::SeqCst);
    }
}

#[cfg(all(not(loom), not(miri), target_os = "linux"))]
mod asym {
    use core::sync::atomic::{compiler_fence, fence, AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    const MEMBARRIER: u8 = 1;
    const FENCE: u8 = 2;

    /// Decided once, before the first pipe exists, and never changed afterwards, so both halves
    /// of every pipe always agree on which scheme is in use (a pipe's halves reach their threads
    /// through `spawn` or a channel, which orders them after this store).
    static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);

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

    /// Chooses the scheme once (when the first pipe is created, or when asked to).
    #[cold]
    fn decide(want_membarrier: bool) -> u8 {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let want = want_membarrier
                || std::env::var_os("RINGPIPE_MEMBARRIER").is_some_and(|v| v == "1");
            let ok = want
                && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
                && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
            MODE.store(if ok { MEMBARRIER } else { FENCE }, Ordering::Release);
        });
        MODE.load(Ordering::Acquire)
    }

    pub(crate) fn init_fences() {
        if MODE.load(Ordering::Acquire) == UNKNOWN {
            decide(false);
        }
    }

    pub(crate) fn enable_asymmetric_fences() -> bool {
        decide(true) == MEMBARRIER
    }

    #[inline]
    pub(crate) fn fence_light() {
        // Ordering: Relaxed; MODE was set before any pipe existed (see `MODE`).
        if MODE.load(Ordering::Relaxed) == MEMBARRIER {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    #[inline]
    pub(crate) fn fence_heavy() {
        if MODE.load(Ordering::Relaxed) == MEMBARRIER {
            fence(Ordering::SeqCst);
            // It worked when registered; the kernel gives no way for it to fail later short
            // of a bug, and the light side could not recover from it, so we do not go on.
            if !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
                panic!("ringpipe: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after it was registered");
            }
            fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }
}
