//! The only module that names the synchronisation primitives.
//!
//! Under `--cfg loom` everything here comes from [loom](https://docs.rs/loom) so that `loom-tests/` model-checks the
//! real protocol code; otherwise it comes from `core`/`std`. The std side is
//! given loom's API (`UnsafeCell::with`/`with_mut`) so that call sites never need a `cfg`.
//!
//! Built on these, each in a file of its own: the waker slot of a side ([`waker_slot`]), the
//! two halves of the store-buffering fence ([`fences`]) and the chunk pool's free list
//! ([`free_list`]).

pub(crate) mod fences;
pub(crate) mod free_list;
pub(crate) mod waker_slot;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
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
