//! How the two halves of an in-process pipe park and wake each other: the [`Wakeup`] of
//! [`pipe`](crate::pipe()).
//!
//! A side that waits leaves its task's waker in its [`WakerSlot`]; the other side, having
//! published what it waited for, takes the waker and wakes it. A blocking call is the same
//! wait driven by a waker that unparks the thread (`wait::block_on`). Before it parks, a wait
//! spins as the pipe's [`SpinWait`] says. Which half pays for the store-buffering fence W1 is
//! the pipe's [`WakeFences`], resolved once when the pipe is created.

use super::options::{PipeOptions, SpinWait, WakeFences};
use super::wait::{seen_here, thread_tag, Spinner};
use crate::protocol::{FencePolicy, Side, SideWords, Wakeup};
use crate::sync::fences::{asymmetric_available, AsymmetricFence};
use crate::sync::waker_slot::WakerSlot;
use crate::sync::Ordering;
use core::task::Context;
use crossbeam_utils::CachePadded;

/// The in-process wake-up: a waker slot per side, the spin policy and the fence scheme.
///
/// Each side's wake-up word ([`SideWords`], on the side's own cursor line) holds the thread the
/// side was last on when it parked or woke the other side (`wait::thread_tag`; 0 = never): the
/// other side does not spin-wait while running on that same thread (see
/// `wait::Spinner::spin`). A hint only, kept by adaptive pipes and written and read on the slow
/// paths (parking, waking, spinning), never on a publish.
pub(crate) struct LocalWakeup {
    reader: CachePadded<WakerSlot>,
    writer: CachePadded<WakerSlot>,
    spin: SpinWait,
    /// The asymmetric halves of W1.
    fence: AsymmetricFence,
}

/// What a side needs for its spin: the policy, and whether the other side was last seen on
/// the calling thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpinPlan {
    policy: SpinWait,
    other_side_here: bool,
}

impl LocalWakeup {
    pub(crate) fn new(options: &PipeOptions) -> LocalWakeup {
        LocalWakeup {
            reader: CachePadded::new(WakerSlot::new()),
            writer: CachePadded::new(WakerSlot::new()),
            spin: options.spin,
            fence: AsymmetricFence::new(),
        }
    }

    fn waker(&self, side: Side) -> &WakerSlot {
        match side {
            Side::Reader => &self.reader,
            Side::Writer => &self.writer,
        }
    }

    /// Records the calling thread in the caller's word, for the other side's adaptive spin.
    /// Only an adaptive pipe asks for it, so the others skip the store.
    fn note_seen(&self, words: SideWords<'_>) {
        if matches!(self.spin, SpinWait::Adaptive { .. }) {
            // Ordering: Relaxed; a hint for the spin, not part of any protocol.
            words.mine.store(thread_tag(), Ordering::Relaxed);
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
        // Looked at only for an adaptive spin (the others do not ask).
        let other_side_here = matches!(self.spin, SpinWait::Adaptive { .. }) && {
            // Ordering: Relaxed; a hint for the spin, not part of any protocol.
            seen_here(words.other.load(Ordering::Relaxed))
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
        self.waker(side).wake();
    }

    fn wake_for_event(&self, side: Side) {
        self.waker(side).wake();
    }

    fn reset(&self) {
        drop(self.reader.take());
        drop(self.writer.take());
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
