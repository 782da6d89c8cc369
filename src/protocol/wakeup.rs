//! How a side waits and how it is woken: the second of the protocol's two homes.
//!
//! The protocol decides *when* a side must park (nothing to read, no room, paused) and *when*
//! the other side must wake it (its `*_WAITING` bit is set and what it waits for is there); a
//! [`Wakeup`] decides *how*. In process, a parked side leaves its task's waker in a slot and
//! the other side wakes it (`pipe::local_wakeup::LocalWakeup`); across processes, a blocking
//! call waits on a futex word in the shared region, an async one for a ring on the socket the
//! region came over (`bell`).

use super::SideWords;
use core::future::Future;
use core::task::Context;

/// One of the two halves of a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The producer: `get_memory` / `advance` / `commit` / `flush`.
    Writer = 0,
    /// The consumer: `read` / `advance_to`.
    Reader = 1,
}

impl Side {
    /// The other half.
    #[inline]
    pub(crate) fn other(self) -> Side {
        match self {
            Side::Writer => Side::Reader,
            Side::Reader => Side::Writer,
        }
    }
}

/// How the sides of a ring park and wake each other, and what the store-buffering pair W1
/// (see [`protocol`](crate::protocol)) costs each of them.
pub trait Wakeup: Send + Sync {
    /// What one side remembers of its spins before parking (local to the side).
    type SpinState: Copy + Default + Send + Unpin + core::fmt::Debug;

    /// What a side needs to know to spin: the policy, and whatever the wake-up knows of the
    /// other side (taken before the spin, so that the spin's re-check may borrow the side).
    type SpinPlan: Copy;

    /// The light half of W1 in asymmetric mode: between a publisher's cursor store and its
    /// load of `state`, when the side that may be waiting for it is `parker`. Together with
    /// [`fence_heavy`](Self::fence_heavy) it must act as two `fence(SeqCst)`; it should cost
    /// no fence instruction (the heavy half pays instead).
    fn fence_light(&self, parker: Side);

    /// The heavy half of W1 in asymmetric mode: between `parker`'s `*_WAITING` RMW and its
    /// re-check of the other side's cursor. Only called on a ring whose
    /// [`FencePolicy`](super::FencePolicy) is not `Symmetric`.
    fn fence_heavy(&self, parker: Side);

    /// How `side` would spin before it parks now (`words` seen from `side`).
    fn spin_plan(&self, side: Side, words: SideWords<'_>) -> Self::SpinPlan;

    /// Before a side parks: re-checks `ready` for as long as `plan` says (it may be not at
    /// all), and returns its value if it gave one. `state` is the side's own record.
    fn spin<T>(
        plan: Self::SpinPlan,
        state: &mut Self::SpinState,
        ready: impl FnMut() -> Option<T>,
    ) -> Option<T>;

    /// `side` is about to announce a wait: whoever wakes it from now on must reach the task of
    /// `cx`. Called before the `*_WAITING` RMW, so that a wake after it is never lost. `words`
    /// are seen from `side`.
    fn register(&self, side: Side, words: SideWords<'_>, cx: &mut Context<'_>);

    /// Wakes `side`, which the other side (the caller) found waiting, after publishing what it
    /// waited for. `words` are seen from the caller.
    fn wake(&self, side: Side, words: SideWords<'_>);

    /// `side` runs again after it parked (it was woken, or gives the wait up). `words` are
    /// seen from `side`; `state` is the side's own record.
    fn resumed(&self, side: Side, words: SideWords<'_>, state: &mut Self::SpinState);

    /// Wakes `side` for a completion or a cancel: the caller may be neither half.
    fn wake_for_event(&self, side: Side);

    /// Forgets any registered waiter of either side (the ring is being reset; both halves
    /// completed, so nobody waits).
    fn reset(&self);

    /// Whether a blocking call waits in [`block_on`](Self::block_on) (a futex word in memory
    /// shared with another process); if not, it parks its thread (`pipe::wait::block_on`).
    const OWN_BLOCK_ON: bool;

    /// Runs a blocking call of `side` (`words` seen from `side`) to its end on this thread:
    /// polls `fut`, and waits as this wake-up does while it is pending.
    fn block_on<F: Future>(&self, side: Side, words: SideWords<'_>, fut: F) -> F::Output;
}
