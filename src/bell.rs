//! The wake-up by bells and futex words: how the sides of a ring wake each other when each
//! lives in a process of its own. The [`Wakeup`] of the shared-memory pipe (`shm::wakeup`,
//! whose bell is the ring's socket and whose futex calls are the kernel's), and of the loom
//! model that checks it (`loom_shm`, where loom's mutex and condition variable stand in for
//! both).
//!
//! Each process holds a [`BellWakeup`] for its own side. A waiting side leaves its task's waker
//! in its [`WakerSlot`], says in its futex word (`WakeWords::park`) where it waits, and sets
//! its `*_WAITING` bit (the protocol); the other process, having published what it waited for
//! and found the bit, wakes it there. Two ways to wait:
//!
//! - **A blocking call** ([`BellWakeup::block_on`]) waits on its futex word, with the word's
//!   `PARKED` bit set. The other process bumps the word and wakes it with `FUTEX_WAKE`: one
//!   system call, and the waiting thread runs. No ring is lost: the waiter reads the word
//!   before its poll (whose `*_WAITING` RMW comes before the other side's look at the bit), so
//!   a bump made for this wait either changes the word before the waiter's `FUTEX_WAIT` (which
//!   then returns at once) or comes with a wake that finds it waiting.
//! - **Any other waiter** (an async task, on any executor) is woken through the side's bell: the
//!   other process rings it, and a watcher thread in the waiting process, for every ring,
//!   first takes the rings (drains the bell) and then wakes the waker in the slot. In that
//!   order no ring is lost: a ring that comes after the drain keeps the bell rung, so the
//!   watcher goes round again; one that came before it found the waker registered (a side
//!   registers before it sets its bit), and the wake that follows the drain reaches it.
//!
//! Why an async waiter is not woken by its executor's reactor directly (say tokio's `AsyncFd`
//! on the socket): a half is not tied to one runtime (it can move, or be polled by any
//! executor), a reactor nobody drives (an idle current-thread runtime) would never deliver the
//! ring, and registering with a runtime built without its IO driver panics inside tokio. The
//! watcher costs an async wake-up one more thread hand-off; blocking calls have none.
//!
//! loom checks both with the protocol (`loom-tests/tests/shm_wakeup.rs`). Events of the local
//! process (a cancel, the local side's own completion) wake the local waker directly; a
//! completion rings the other side's bell, and its watcher wakes whatever waits (a blocking
//! call's waker bumps its futex word). Fences: symmetric for good (a `membarrier` reaches this
//! process's threads only), so the light half is a compiler fence, and the heavy half (used
//! only if the other process cleared the mode bit) a full fence.
//!
//! The other process may write anything in the words: it can wake a blocking call for nothing
//! (it polls again), steer its own wakes to the wrong place, or put the word back to the value
//! a blocking call is about to wait on; so that the last cannot hold the call for good (say,
//! past the other process's death), a blocking call's wait ends after at most
//! [`Mapping::futex_wait`]'s bound and polls again.

use crate::pipe::options::SpinWait;
use crate::pipe::wait::Spinner;
use crate::protocol::{Side, SideWords, Wakeup, Words};
use crate::sync::waker_slot::WakerSlot;
use crate::sync::{fence, Arc, AtomicU32, Ordering};
use core::future::Future;
use core::pin::pin;
use core::sync::atomic::compiler_fence;
use core::task::{Context, Poll, Waker};

/// A bell the other process rings.
pub trait Bell: Send + Sync {
    /// Rings it (never blocks; a bell rung several times before its watcher looks counts as
    /// rung).
    fn ring(&self);
}

/// The memory both processes map, as the wake-up sees it: the ring's words, and the futex
/// calls on them.
pub trait Mapping: Send + Sync + 'static {
    /// The ring's words.
    fn words(&self) -> &Words;

    /// Waits while `word` (one of [`words`](Self::words)) holds `expected`: returns once woken,
    /// at once if it holds another value, and in any case after a bounded time (the other
    /// process is not trusted to wake); may return for no reason.
    fn futex_wait(&self, word: &AtomicU32, expected: u32);

    /// Wakes whoever waits on `word` (one of [`words`](Self::words)), in any process.
    fn futex_wake(&self, word: &AtomicU32);
}

/// The bit of a futex word (`WakeWords::park`) that says its side's waiter is a blocking call
/// waiting on the word (clear: wake it by its bell). Written by the side, in `register`.
const PARKED: u32 = 1;
/// What a wake adds to a futex word (above `PARKED`; it wraps).
const BUMP: u32 = 2;

/// Wakes the blocking call of a side that waits on `word`: bumps the word (so that a wait about
/// to start on the old value does not), then `FUTEX_WAKE`.
fn bump_and_wake<M: Mapping>(memory: &M, word: &AtomicU32) {
    // Ordering: Relaxed; the word decides only whether the waiter sleeps, and what it waits
    // for it reads with the protocol's own orderings once it polls. (That the bump lands after
    // the waiter's read of the word is coherence: see the module docs.)
    word.fetch_add(BUMP, Ordering::Relaxed);
    memory.futex_wake(word);
}

/// The waker of a side's blocking call: wakes it on its futex word. Keeps the mapping alive,
/// since a waker may outlive the ring.
struct ParkWaker<M> {
    memory: Arc<M>,
    side: Side,
}

impl<M: Mapping> std::task::Wake for ParkWaker<M> {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let word = &self.memory.words().wake_words(self.side).park;
        bump_and_wake(&*self.memory, word);
    }
}

/// One process's side of a ring woken by bells and futex words (see the module docs). `X` is
/// the watcher's handle: dropping it stops the watcher.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct BellWakeup<B, X, M> {
    local: Side,
    spin: SpinWait,
    /// The other side's bell.
    peer_bell: B,
    /// The local side's waker; the watcher wakes it.
    waker: Arc<WakerSlot>,
    /// The memory of the futex words.
    memory: Arc<M>,
    /// The waker of the local side's blocking calls ([`ParkWaker`]).
    park: Waker,
    /// Declared last: dropped (the watcher stopped) after the rest is no longer used.
    _watcher: X,
}

impl<B: Bell, X: Send + Sync, M: Mapping> BellWakeup<B, X, M> {
    /// The wake-up of side `local`, ringing `peer_bell`; `waker` is the slot its watcher
    /// (`watcher`) wakes; `memory` holds the ring's words.
    pub(crate) fn new(
        local: Side,
        spin: SpinWait,
        peer_bell: B,
        waker: Arc<WakerSlot>,
        watcher: X,
        memory: Arc<M>,
    ) -> Self {
        let park = Waker::from(std::sync::Arc::new(ParkWaker {
            memory: memory.clone(),
            side: local,
        }));
        BellWakeup {
            local,
            spin,
            peer_bell,
            waker,
            memory,
            park,
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

impl<B: Bell, X: Send + Sync, M: Mapping> Wakeup for BellWakeup<B, X, M> {
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

    fn register(&self, side: Side, words: SideWords<'_>, cx: &mut Context<'_>) {
        debug_assert_eq!(side, self.local);
        self.waker.register(cx.waker());
        // Where the other process is to wake this wait: on the futex word if the caller is
        // this side's blocking call (`block_on`'s waker), by the bell otherwise. The bit stays
        // until a wait of the other kind: a blocking loop writes it once.
        let parked = cx.waker().will_wake(&self.park);
        let word = &words.mine.park;
        // Ordering: Relaxed (the load and both RMWs); the caller's `*_WAITING` RMW (Release)
        // publishes the bit, and the other process reads it after its Acquire load of `state`
        // found that RMW's bit (`wake`).
        if (word.load(Ordering::Relaxed) & PARKED != 0) != parked {
            if parked {
                word.fetch_or(PARKED, Ordering::Relaxed);
            } else {
                word.fetch_and(!PARKED, Ordering::Relaxed);
            }
        }
    }

    fn wake(&self, side: Side, words: SideWords<'_>) {
        debug_assert_eq!(side, self.local.other());
        let word = &words.other.park;
        // Ordering: Relaxed; read after our Acquire load of `state` found the side waiting,
        // which synchronizes with the side's `*_WAITING` RMW, after it wrote the bit
        // (`register`).
        if word.load(Ordering::Relaxed) & PARKED != 0 {
            bump_and_wake(&*self.memory, word);
        } else {
            self.peer_bell.ring();
        }
    }

    fn resumed(&self, _side: Side, _words: SideWords<'_>, _state: &mut Spinner) {}

    fn wake_for_event(&self, side: Side) {
        self.ring(side);
    }

    fn reset(&self) {}

    /// A blocking call waits on its side's futex word.
    const OWN_BLOCK_ON: bool = true;

    fn block_on<F: Future>(&self, side: Side, words: SideWords<'_>, fut: F) -> F::Output {
        debug_assert_eq!(side, self.local);
        let word = &words.mine.park;
        let mut cx = Context::from_waker(&self.park);
        let mut fut = pin!(fut);
        loop {
            // Read before the poll, whose `*_WAITING` RMW the other side sees before it bumps
            // the word for this wait: so the wait below either finds the bump or is woken.
            // Ordering: Relaxed; only the value matters (coherence, see the module docs).
            let seen = word.load(Ordering::Relaxed);
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            self.memory.futex_wait(word, seen);
        }
    }
}
