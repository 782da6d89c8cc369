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
