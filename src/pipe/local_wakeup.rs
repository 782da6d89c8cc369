//! How the two halves of an in-process pipe park and wake each other: the [`Wakeup`] of
//! [`pipe`](crate::pipe()).
//!
//! A side that waits leaves its task's waker in its [`WakerSlot`]; the other side, having
//! published what it waited for, takes the waker and wakes it. A blocking call is the same
//! wait driven by a waker that unparks the thread (`wait::block_on`). Before it parks, a wait
//! spins as the pipe's [`SpinWait`] says. Which half pays for the store-buffering fence W1 is
//! the pipe's [`WakeFences`], resolved once when the pipe is created.

use super::options::{PipeOptions, SpinWait, WakeFences};
use super::wait::{block_on, seen_here, thread_tag, Spinner};
use crate::protocol::{FencePolicy, Side, SideWords, Wakeup};
use crate::sync::fences::{asymmetric_available, AsymmetricFence};
use crate::sync::waker_slot::WakerSlot;
use crate::sync::Ordering;
use core::future::Future;
use core::task::Context;
use crossbeam_utils::CachePadded;

/// The in-process wake-up: a waker slot per side, the spin policy and the fence scheme.
///
/// Each side's wake-up word ([`SideWords`], on the side's own cursor line) holds the thread the
/// side is expected to run on next (`wait::thread_tag`; 0 = unknown): the other side does not
/// spin-wait while running on that same thread (see `wait::Spinner::spin`), since the side it
/// waits for cannot run there before it stops. A side writes its word when it parks, when it
/// wakes the other side and when it runs again after a wait.
///
/// Each side also learns, when it runs again after it parked, whether it was resumed on the
/// thread that woke it (`lands_on_waker`). A task woken from inside a task of a work-stealing
/// runtime is queued on that worker (tokio's LIFO slot, which other workers do not steal) and
/// runs there once the waker's task stops: parking is then cheap, and it puts both halves on
/// one worker, where they hand batches to each other as on a single-threaded runtime. Spinning
/// there keeps them on two workers exchanging every write across cores (measured on tokio's
/// multi-thread runtime with 2 workers: Framed 1 KiB frames at 0.56x of `tokio::io::duplex`
/// with spinning, 0.93-1.13x without). So a side that has once been resumed on its waker's thread
/// does not spin again, and the side that wakes it writes its own thread in the woken side's
/// word (it will run here, after us). A side whose wake-ups land elsewhere (a thread of its
/// own, a runtime per core) spins as its policy says, and parks once in a while instead
/// (`wait::Spinner`'s probes) to find out.
/// Hints only, kept by adaptive pipes and written and read on the slow paths (parking, waking,
/// spinning, resuming), never on a publish.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct LocalWakeup {
    reader: CachePadded<SideSlot>,
    writer: CachePadded<SideSlot>,
    spin: SpinWait,
    /// The asymmetric halves of W1.
    fence: AsymmetricFence,
}

/// One side's waker slot, and whether its wake-ups land on its waker's thread.
struct SideSlot {
    waker: WakerSlot,
    /// Whether the side, running again after it parked, has ever found itself on the thread
    /// that woke it (set for good; the side keeps its own copy in its `Spinner`). Read by the
    /// other side when it wakes this one. A std atomic under loom too: a hint that orders
    /// nothing (the thread tags are 0 there, so it stays unset).
    lands_on_waker: core::sync::atomic::AtomicBool,
}

impl SideSlot {
    fn new() -> CachePadded<SideSlot> {
        CachePadded::new(SideSlot {
            waker: WakerSlot::new(),
            lands_on_waker: core::sync::atomic::AtomicBool::new(false),
        })
    }
}

/// What a side needs for its spin: the policy, and whether the other side was last seen on
/// the calling thread.
#[derive(Clone, Copy, Debug)]
pub struct SpinPlan {
    policy: SpinWait,
    other_side_here: bool,
}

impl LocalWakeup {
    pub(crate) fn new(options: &PipeOptions) -> LocalWakeup {
        LocalWakeup {
            reader: SideSlot::new(),
            writer: SideSlot::new(),
            spin: options.spin,
            fence: AsymmetricFence::new(),
        }
    }

    fn slot(&self, side: Side) -> &SideSlot {
        match side {
            Side::Reader => &self.reader,
            Side::Writer => &self.writer,
        }
    }

    fn waker(&self, side: Side) -> &WakerSlot {
        &self.slot(side).waker
    }

    /// Only an adaptive spin looks at the thread hints, so the other pipes skip them.
    fn adaptive(&self) -> bool {
        matches!(self.spin, SpinWait::Adaptive { .. })
    }

    /// Whether `side`'s wake-ups land on its waker's thread.
    fn lands_on_waker(&self, side: Side) -> bool {
        // Ordering: Relaxed; a hint for the spin, not part of any protocol.
        self.slot(side).lands_on_waker.load(Ordering::Relaxed)
    }

    /// Records the calling thread in the caller's word, for the other side's adaptive spin.
    fn note_seen(&self, words: SideWords<'_>) {
        if self.adaptive() {
            // Ordering: Relaxed; a hint for the spin, not part of any protocol.
            words.mine.tag.store(thread_tag(), Ordering::Relaxed);
        }
    }
}

impl Wakeup for LocalWakeup {
    type SpinState = Spinner;
    type SpinPlan = SpinPlan;

    #[inline]
    fn fence_light(&self, parker: Side) {
        self.fence.light(parker as usize);
    }

    fn fence_heavy(&self, parker: Side) {
        self.fence.heavy(parker as usize);
    }

    #[inline]
    fn spin_plan(&self, _side: Side, words: SideWords<'_>) -> SpinPlan {
        // Looked at only for an adaptive spin (the others do not ask). (Whether this side's
        // wake-ups land on its waker's thread is in its own `Spinner`: no shared line here.)
        let other_side_here = self.adaptive() && {
            // Ordering: Relaxed; a hint for the spin, not part of any protocol.
            seen_here(words.other.tag.load(Ordering::Relaxed))
        };
        SpinPlan {
            policy: self.spin,
            other_side_here,
        }
    }

    #[inline]
    fn spin<T>(plan: SpinPlan, state: &mut Spinner, ready: impl FnMut() -> Option<T>) -> Option<T> {
        state.spin(plan.policy, plan.other_side_here, ready)
    }

    fn register(&self, side: Side, words: SideWords<'_>, cx: &mut Context<'_>) {
        self.note_seen(words);
        self.waker(side).register(cx.waker());
    }

    fn wake(&self, side: Side, words: SideWords<'_>) {
        self.note_seen(words);
        if self.adaptive() && self.lands_on_waker(side) {
            // The woken side will most likely run here, after us.
            // Ordering: Relaxed; a hint for the spin, not part of any protocol.
            words.other.tag.store(thread_tag(), Ordering::Relaxed);
        }
        self.waker(side).wake();
    }

    fn resumed(&self, side: Side, words: SideWords<'_>, state: &mut Spinner) {
        if self.adaptive() {
            // Ordering: Relaxed (all three); hints for the spin, not part of any protocol.
            // (The waker left its thread in its own word when it woke us.)
            if seen_here(words.other.tag.load(Ordering::Relaxed)) {
                state.resumed_on_waker();
                self.slot(side)
                    .lands_on_waker
                    .store(true, Ordering::Relaxed);
            }
            words.mine.tag.store(thread_tag(), Ordering::Relaxed);
        }
    }

    fn wake_for_event(&self, side: Side) {
        self.waker(side).wake();
    }

    fn reset(&self) {
        for slot in [&self.reader, &self.writer] {
            drop(slot.waker.take());
            // Ordering: Relaxed; a hint (the halves' own records start afresh too).
            slot.lands_on_waker.store(false, Ordering::Relaxed);
        }
    }

    /// A blocking call parks its thread.
    const OWN_BLOCK_ON: bool = false;

    fn block_on<F: Future>(&self, _side: Side, _words: SideWords<'_>, fut: F) -> F::Output {
        block_on(fut)
    }
}

/// The fence modes a pipe built with `options` may use (see [`WakeFences`]): what it asks
/// for, where `membarrier(2)` is available; symmetric only where it is not.
pub(crate) fn fence_policy(options: &PipeOptions) -> FencePolicy {
    match options.fences {
        _ if !asymmetric_available() => FencePolicy::Symmetric,
        WakeFences::Auto => FencePolicy::Adaptive,
        WakeFences::Symmetric => FencePolicy::Symmetric,
        WakeFences::Asymmetric => FencePolicy::Asymmetric,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::protocol::WakeWords;
    use std::sync::atomic::Ordering::Relaxed;

    /// The wake-up words of a ring: (writer's, reader's).
    fn words() -> (WakeWords, WakeWords) {
        (WakeWords::new(), WakeWords::new())
    }

    fn seen_from(side: Side, w: &(WakeWords, WakeWords)) -> SideWords<'_> {
        match side {
            Side::Writer => SideWords {
                mine: &w.0,
                other: &w.1,
            },
            Side::Reader => SideWords {
                mine: &w.1,
                other: &w.0,
            },
        }
    }

    /// Whether `side`, with its record `state`, would spin-wait now.
    fn would_spin(
        wk: &LocalWakeup,
        side: Side,
        w: &(WakeWords, WakeWords),
        state: &mut Spinner,
    ) -> bool {
        let plan = wk.spin_plan(side, seen_from(side, w));
        let mut spun = false;
        LocalWakeup::spin(plan, state, || {
            spun = true;
            Some(())
        });
        spun
    }

    #[test]
    fn a_side_resumed_on_its_wakers_thread_stops_spinning() {
        // Adaptive spelled out: the default is `Never` under Miri.
        let adaptive = PipeOptions::builder()
            .spin_wait(SpinWait::Adaptive {
                max: core::time::Duration::from_micros(20),
            })
            .build()
            .unwrap();
        let wk = LocalWakeup::new(&adaptive);
        let w = words();
        let (mut reader, mut writer) = (Spinner::default(), Spinner::default());
        // (The first adaptive wait of each side is a probe, which parks without spinning.)
        assert!(!would_spin(&wk, Side::Reader, &w, &mut reader));
        assert!(!would_spin(&wk, Side::Writer, &w, &mut writer));
        // The reader parked on a thread of its own; the writer wakes it from another one.
        std::thread::scope(|s| {
            s.spawn(|| wk.note_seen(seen_from(Side::Reader, &w)));
        });
        wk.wake(Side::Reader, seen_from(Side::Writer, &w));
        assert!(would_spin(&wk, Side::Writer, &w, &mut writer));
        // Resumed elsewhere (a runtime of its own): it keeps spinning.
        std::thread::scope(|s| {
            s.spawn(|| {
                wk.resumed(Side::Reader, seen_from(Side::Reader, &w), &mut reader);
                assert!(would_spin(&wk, Side::Reader, &w, &mut reader));
            });
        });
        assert!(!wk.lands_on_waker(Side::Reader));
        // Resumed on the thread that woke it (a work-stealing runtime's LIFO slot): it stops
        // spinning for good, and its waker, which it now shares a thread with, does not spin
        // for it either.
        wk.wake(Side::Reader, seen_from(Side::Writer, &w));
        wk.resumed(Side::Reader, seen_from(Side::Reader, &w), &mut reader);
        assert!(wk.lands_on_waker(Side::Reader));
        std::thread::scope(|s| {
            s.spawn(|| assert!(!would_spin(&wk, Side::Reader, &w, &mut reader)));
        });
        assert!(!would_spin(&wk, Side::Writer, &w, &mut writer));
        // From now on, whoever wakes it expects it on its own thread.
        std::thread::scope(|s| {
            s.spawn(|| {
                wk.wake(Side::Reader, seen_from(Side::Writer, &w));
                assert_eq!(w.1.tag.load(Relaxed), thread_tag());
            });
        });
        // A pipe that does not spin adaptively keeps no hints.
        let never = PipeOptions::builder()
            .spin_wait(SpinWait::Never)
            .build()
            .unwrap();
        let wk = LocalWakeup::new(&never);
        let w = words();
        let mut reader = Spinner::default();
        wk.wake(Side::Reader, seen_from(Side::Writer, &w));
        wk.resumed(Side::Reader, seen_from(Side::Reader, &w), &mut reader);
        assert!(!wk.lands_on_waker(Side::Reader));
        assert_eq!((w.0.tag.load(Relaxed), w.1.tag.load(Relaxed)), (0, 0));
    }
}
