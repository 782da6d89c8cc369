//! The wake-up by bells: how the sides of a ring wake each other when each lives in a process
//! of its own. The [`Wakeup`] of the shared-memory pipe (`shm::wakeup`, whose bell is the
//! ring's socket), and of the loom model that checks it (`loom_shm`, whose bells are loom's).
//!
//! Each process holds a [`BellWakeup`] for its own side: a waiting side leaves its task's waker
//! in its [`WakerSlot`] and sets its `*_WAITING` bit (the protocol); the other process, having
//! published what it waited for and found the bit, rings the side's bell. In the waiting
//! process a watcher waits on the bell and, for every ring, first takes the rings (drains
//! the bell) and then wakes the waker in the slot. In that order no ring is lost: a ring that
//! comes after the drain keeps the bell rung, so the watcher goes round again; one that came
//! before it found the waker registered (a side registers before it sets its bit), and the
//! wake that follows the drain reaches it. loom checks this with the protocol
//! (`loom-tests/tests/shm_wakeup.rs`).
//!
//! Events of the local process (a cancel, the local side's own completion) wake the local
//! waker directly. Fences: symmetric for good (a `membarrier` reaches this process's threads
//! only), so the light half is a compiler fence, and the heavy half (used only if the other
//! process cleared the mode bit) a full fence.

use crate::pipe::options::SpinWait;
use crate::pipe::wait::Spinner;
use crate::protocol::{Side, SideWords, Wakeup};
use crate::sync::waker_slot::WakerSlot;
use crate::sync::{fence, Arc, Ordering};
use core::sync::atomic::compiler_fence;
use core::task::Context;

/// A bell the other process rings.
pub trait Bell: Send + Sync {
    /// Rings it (never blocks; a bell rung several times before its watcher looks counts as
    /// rung).
    fn ring(&self);
}

/// One process's side of a ring woken by bells (see the module docs). `X` is the watcher's
/// handle: dropping it stops the watcher.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct BellWakeup<B, X> {
    local: Side,
    spin: SpinWait,
    /// The other side's bell.
    peer_bell: B,
    /// The local side's waker; the watcher wakes it.
    waker: Arc<WakerSlot>,
    /// Declared last: dropped (the watcher stopped) after the rest is no longer used.
    _watcher: X,
}

impl<B: Bell, X: Send + Sync> BellWakeup<B, X> {
    /// The wake-up of side `local`, ringing `peer_bell`; `waker` is the slot its watcher
    /// (`watcher`) wakes.
    pub(crate) fn new(
        local: Side,
        spin: SpinWait,
        peer_bell: B,
        waker: Arc<WakerSlot>,
        watcher: X,
    ) -> Self {
        BellWakeup {
            local,
            spin,
            peer_bell,
            waker,
            _watcher: watcher,
        }
    }

    fn ring(&self, side: Side) {
        if side == self.local {
            self.waker.wake();
        } else {
            self.peer_bell.ring();
        }
    }
}

/// What a watcher does for every ring it sees: `drain` takes the rings, then the waker is
/// woken (in this order: see the module docs).
pub(crate) fn deliver(drain: impl FnOnce(), waker: &WakerSlot) {
    drain();
    waker.wake();
}

impl<B: Bell, X: Send + Sync> Wakeup for BellWakeup<B, X> {
    type SpinState = Spinner;
    type SpinPlan = SpinWait;

    #[inline]
    fn fence_light(&self, _parker: Side) {
        compiler_fence(Ordering::SeqCst);
    }

    fn fence_heavy(&self, _parker: Side) {
        // Ordering: SeqCst; the parker's half, should the other process have cleared the
        // symmetric bit (both halves are then full fences on our side).
        fence(Ordering::SeqCst);
    }

    #[inline]
    fn spin_plan(&self, _side: Side, _words: SideWords<'_>) -> SpinWait {
        self.spin
    }

    #[inline]
    fn spin<T>(plan: SpinWait, state: &mut Spinner, ready: impl FnMut() -> Option<T>) -> Option<T> {
        // The other side runs in another process: never on this thread.
        state.spin(plan, false, ready)
    }

    fn register(&self, side: Side, _words: SideWords<'_>, cx: &mut Context<'_>) {
        debug_assert_eq!(side, self.local);
        self.waker.register(cx.waker());
    }

    fn wake(&self, side: Side, _words: SideWords<'_>) {
        self.ring(side);
    }

    fn resumed(&self, _side: Side, _words: SideWords<'_>, _state: &mut Spinner) {}

    fn wake_for_event(&self, side: Side) {
        self.ring(side);
    }

    fn reset(&self) {}
}
