//! How an in-process wait spins before it parks, and how a blocking call waits: it drives the
//! same future an async caller awaits, with a waker that unparks the calling thread. One core,
//! three ways to wait.

use super::options::SpinWait;
use crate::protocol::{Ring, Side, Storage, Wakeup};
use crate::sync::Arc;
use core::future::Future;
use core::time::Duration;
use std::time::Instant;

/// One side's memory of how its spins before parking went ([`SpinWait::Adaptive`]). Local to
/// the side: nothing shared, no atomics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spinner {
    /// Waits left that park without spinning.
    skip: u32,
    /// Adaptive spins left before the next probe (0: the next one is). A probe is a wait that
    /// parks at once instead of spinning, so that the side learns again where its wake-ups
    /// land: a side whose spins succeed never parks otherwise.
    probe_left: u32,
    /// Spins in a row that ended in a park (capped at `MAX_MISSES`).
    misses: u8,
    /// The spins between two probes are `PROBE_MIN << probe_shift`, doubled after each probe
    /// (up to `PROBE_MAX_SHIFT`): a side whose wake-ups keep landing elsewhere (a thread of
    /// its own) soon pays one park in a million waits.
    probe_shift: u8,
    /// The side has been resumed on the thread that woke it (see `LocalWakeup`): parking is
    /// cheap, and puts both halves on one worker, so it no longer spins. Set for good.
    lands_on_waker: bool,
}

/// Checks between two looks at the clock in an adaptive spin (about 0.8 µs at 25 ns a
/// `spin_loop`).
const CLOCK_EVERY: u32 = 32;
/// After this many failed spins in a row, one wait in `2^MAX_MISSES` spins.
const MAX_MISSES: u8 = 10;
/// The fewest adaptive spins between two probes.
const PROBE_MIN: u32 = 1024;
/// The most adaptive spins between two probes are `PROBE_MIN << PROBE_MAX_SHIFT` (about a
/// million).
const PROBE_MAX_SHIFT: u8 = 10;

impl Spinner {
    /// Spins under `policy` until `ready` gives a value (returned) or the spin is over
    /// (`None`: the caller parks).
    ///
    /// An adaptive spin does not start when `other_side_here` (the other side was last seen on
    /// this thread, see `LocalWakeup::spin_plan`): two tasks of one single-threaded executor
    /// (or one thread driving both halves) cannot make progress for each other while one of
    /// them spins. Nor once the side's wake-ups have landed on its waker's thread
    /// ([`resumed_on_waker`](Self::resumed_on_waker)). Neither counts as a failed spin.
    #[inline]
    pub(crate) fn spin<T>(
        &mut self,
        policy: SpinWait,
        other_side_here: bool,
        ready: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        match policy {
            SpinWait::Never => None,
            SpinWait::Fixed(n) => {
                let mut ready = ready;
                for _ in 0..n {
                    core::hint::spin_loop();
                    if let Some(r) = ready() {
                        return Some(r);
                    }
                }
                None
            }
            SpinWait::Adaptive { max } => {
                if self.skip > 0 {
                    self.skip -= 1;
                    return None;
                }
                if other_side_here || self.lands_on_waker {
                    return None;
                }
                if max.is_zero() {
                    self.missed();
                    return None;
                }
                if self.probe_left == 0 {
                    self.probe_left = PROBE_MIN << self.probe_shift;
                    self.probe_shift = (self.probe_shift + 1).min(PROBE_MAX_SHIFT);
                    return None;
                }
                self.probe_left -= 1;
                // Every spin, probes after failures included, lasts the full `max`: a probe
                // succeeds only if it outlasts the other side's wake-up (when both sides park
                // at every wait, each one's wait includes the other's wake-up latency, tens
                // of µs on a VM). Shorter probes could never leave that state: 16 KiB async
                // streaming stayed at 2-5 GB/s instead of 45.
                let r = spin_for(max, ready);
                if r.is_some() {
                    self.misses = 0;
                } else {
                    self.missed();
                }
                r
            }
        }
    }

    /// The side ran again, after it parked, on the thread that woke it.
    pub(crate) fn resumed_on_waker(&mut self) {
        self.lands_on_waker = true;
    }

    /// A spin that ended in a park: back off.
    fn missed(&mut self) {
        self.misses = (self.misses + 1).min(MAX_MISSES);
        self.skip = (1u32 << self.misses) - 1;
    }

    /// A spinner whose next probe is far away (for the tests of everything else).
    #[cfg(test)]
    fn without_probes() -> Spinner {
        Spinner {
            probe_left: u32::MAX,
            ..Spinner::default()
        }
    }
}

/// A number that identifies the calling thread among the live ones (the address of a
/// thread-local), never 0. Each side records it when it parks or wakes the other side
/// (`seen_on`), so the other side can tell that spinning would only hold up the thread both
/// run on.
#[cfg(not(loom))]
#[inline]
pub(crate) fn thread_tag() -> usize {
    thread_local! {
        static TAG: u8 = const { 0 };
    }
    TAG.with(|t| t as *const u8 as usize)
}

/// Under loom: 0, "unknown", so no spin is ever skipped for it.
#[cfg(loom)]
#[inline]
pub(crate) fn thread_tag() -> usize {
    0
}

/// Whether a side whose other side was last seen on the thread tagged `other_seen_on` is
/// running on that same thread (0 = the other side was never seen).
#[inline]
pub(crate) fn seen_here(other_seen_on: usize) -> bool {
    other_seen_on != 0 && other_seen_on == thread_tag()
}

/// Checks `ready` until it gives a value or `max` has passed (looking at the clock every
/// `CLOCK_EVERY` checks, at least one round).
#[inline(never)]
fn spin_for<T>(max: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        for _ in 0..CLOCK_EVERY {
            core::hint::spin_loop();
            if let Some(r) = ready() {
                return Some(r);
            }
        }
        if start.elapsed() >= max {
            return None;
        }
    }
}

/// How a blocking call of one side of a ring waits: as [`block_on`] (parking its thread), or,
/// for a ring whose wake-up has its own way ([`Wakeup::OWN_BLOCK_ON`]: a futex word in memory
/// shared with another process), that way; then it holds the ring for the call (an `Arc`
/// clone: rings in process pay nothing).
pub(crate) struct Blocker<S, W>(Option<(Arc<Ring<S, W>>, Side)>);

impl<S: Storage, W: Wakeup> Blocker<S, W> {
    /// The blocking calls of `side` of `ring`.
    #[inline]
    pub(crate) fn new(ring: &Arc<Ring<S, W>>, side: Side) -> Self {
        Blocker(W::OWN_BLOCK_ON.then(|| (ring.clone(), side)))
    }

    /// Runs `fut` (a call of the side) to its end on this thread.
    #[inline]
    pub(crate) fn block_on<F: Future>(self, fut: F) -> F::Output {
        match self.0 {
            None => block_on(fut),
            Some((ring, side)) => ring.block_on(side, fut),
        }
    }
}

/// Runs `fut` to completion on the current thread, parking it while the future is pending.
/// (Spinning before parking happens inside the pipe's polls, for async callers too.)
#[cfg(not(loom))]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    use core::task::{Context, Poll};
    use std::sync::Arc;
    use std::task::{Wake, Waker};
    use std::thread::{self, Thread};

    struct Unparker(Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    thread_local! {
        // One waker per thread, made once: a blocking wait allocates nothing.
        static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
    }

    let mut fut = core::pin::pin!(fut);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            // A wake that raced ahead of this park leaves the unpark token set, so the park
            // returns at once: no wake-up is lost.
            thread::park();
        }
    })
}

/// Under loom, loom's executor parks the model thread.
#[cfg(loom)]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    loom::future::block_on(fut)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::time::Duration;

    const ADAPTIVE: SpinWait = SpinWait::Adaptive {
        max: Duration::from_micros(1),
    };

    /// Runs one wait whose condition never comes true; returns how often it was checked.
    fn failing_wait(sp: &mut Spinner, policy: SpinWait) -> u32 {
        let mut checks = 0;
        assert_eq!(
            sp.spin(policy, false, || {
                checks += 1;
                None::<()>
            }),
            None
        );
        checks
    }

    #[test]
    fn never_and_fixed() {
        let mut sp = Spinner::without_probes();
        assert_eq!(failing_wait(&mut sp, SpinWait::Never), 0);
        assert_eq!(failing_wait(&mut sp, SpinWait::Fixed(0)), 0);
        assert_eq!(failing_wait(&mut sp, SpinWait::Fixed(17)), 17);
        // A fixed spin ends as soon as the condition holds, with its value.
        let mut n = 0;
        let r = sp.spin(SpinWait::Fixed(100), false, || {
            n += 1;
            (n == 5).then_some("ready")
        });
        assert_eq!((r, n), (Some("ready"), 5));
        // Fixed spins never back off.
        for _ in 0..5 {
            assert_eq!(failing_wait(&mut sp, SpinWait::Fixed(3)), 3);
        }
    }

    #[test]
    fn adaptive_backs_off_exponentially_and_recovers_on_success() {
        let mut sp = Spinner::without_probes();
        // The n-th failed spin in a row is followed by 2^n - 1 waits that park at once (n
        // capped at MAX_MISSES).
        let mut spun_at = Vec::new();
        for wait in 0..3000u32 {
            if failing_wait(&mut sp, ADAPTIVE) > 0 {
                spun_at.push(wait);
            }
        }
        let mut expect = Vec::new();
        let (mut wait, mut misses) = (0u32, 0u32);
        while wait < 3000 {
            expect.push(wait);
            misses = (misses + 1).min(u32::from(MAX_MISSES));
            wait += 1 << misses;
        }
        assert_eq!(spun_at, expect);
        assert_eq!(&spun_at[..5], &[0, 2, 6, 14, 30]);
        // Steady state: one spin in 2^MAX_MISSES waits.
        let tail: Vec<u32> = spun_at.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(*tail.last().unwrap(), 1 << MAX_MISSES);

        // Once a spin pays off (the first wait that spins again), every wait spins again.
        while sp.skip > 0 {
            assert_eq!(failing_wait(&mut sp, ADAPTIVE), 0);
        }
        let mut checks = 0;
        let r = sp.spin(ADAPTIVE, false, || {
            checks += 1;
            (checks == 3).then_some(7)
        });
        assert_eq!(r, Some(7));
        assert!(
            failing_wait(&mut sp, ADAPTIVE) > 0,
            "spins right after a success"
        );
        assert_eq!(failing_wait(&mut sp, ADAPTIVE), 0, "then backs off again");
    }

    #[test]
    fn probes_after_failures_last_the_full_max() {
        // A probe must be able to outlast the other side's wake-up, so it is not shortened.
        let max = Duration::from_millis(2);
        let policy = SpinWait::Adaptive { max };
        let mut sp = Spinner::without_probes();
        for _ in 0..4 {
            while sp.skip > 0 {
                assert_eq!(failing_wait(&mut sp, policy), 0);
            }
            let t = std::time::Instant::now();
            assert!(failing_wait(&mut sp, policy) > 0);
            assert!(
                t.elapsed() >= max,
                "a probe after {} misses was cut short",
                sp.misses
            );
        }
        assert_eq!(sp.misses, 4);
    }

    #[test]
    fn no_adaptive_spin_when_the_other_side_is_here_or_wakes_land_here() {
        for lands in [false, true] {
            let mut sp = Spinner::without_probes();
            // One reason at a time: the other side here, or this side's wake-ups landing here.
            let other_side_here = !lands;
            if lands {
                sp.resumed_on_waker();
            }
            let mut checks = 0;
            let r = sp.spin(ADAPTIVE, other_side_here, || {
                checks += 1;
                Some(())
            });
            assert_eq!((r, checks), (None, 0));
            // Not counted as a failed spin: the next wait with nothing against it spins.
            assert_eq!((sp.skip, sp.misses), (0, 0));
            sp.lands_on_waker = false;
            assert!(failing_wait(&mut sp, ADAPTIVE) > 0);
            // A fixed spin is what the user asked for: it spins regardless.
            let r = sp.spin(SpinWait::Fixed(3), other_side_here, || Some(()));
            assert_eq!(r, Some(()));
        }

        // The thread tags behind it: stable on a thread, distinct across live threads, never 0.
        let here = thread_tag();
        assert_ne!(here, 0);
        assert_eq!(here, thread_tag());
        assert!(seen_here(here));
        assert!(!seen_here(0), "0 means the other side was never seen");
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(!seen_here(here));
                assert_ne!(thread_tag(), here);
            });
        });
    }

    #[test]
    fn probes_park_at_once_with_a_doubling_period() {
        let mut sp = Spinner::default();
        // The first adaptive wait is a probe: it parks without a look.
        assert_eq!(failing_wait(&mut sp, ADAPTIVE), 0);
        assert_eq!((sp.skip, sp.misses, sp.probe_shift), (0, 0, 1));
        // Then `PROBE_MIN` waits spin (successes keep the record clean), and the next probes.
        for _ in 0..PROBE_MIN {
            assert_eq!(sp.spin(ADAPTIVE, false, || Some(1)), Some(1));
        }
        assert_eq!(failing_wait(&mut sp, ADAPTIVE), 0);
        assert_eq!((sp.probe_left, sp.probe_shift), (2 * PROBE_MIN, 2));
        // Each probe doubles the period, up to the maximum.
        for shift in 3..=PROBE_MAX_SHIFT + 2 {
            sp.probe_left = 0;
            assert_eq!(failing_wait(&mut sp, ADAPTIVE), 0);
            assert_eq!(sp.probe_shift, shift.min(PROBE_MAX_SHIFT));
        }
        assert_eq!(sp.probe_left, PROBE_MIN << PROBE_MAX_SHIFT);
        // Waits that do not spin (the other side is here) do not count; fixed spins never
        // probe.
        assert_eq!(sp.spin(ADAPTIVE, true, || Some(1)), None);
        assert_eq!(sp.probe_left, PROBE_MIN << PROBE_MAX_SHIFT);
        let mut sp = Spinner::default();
        assert_eq!(failing_wait(&mut sp, SpinWait::Fixed(3)), 3);
        assert_eq!(sp.probe_left, 0);
    }

    #[test]
    fn adaptive_spins_at_most_about_max() {
        let mut sp = Spinner::without_probes();
        // A zero budget checks nothing (and still counts as a failed spin).
        let zero = SpinWait::Adaptive {
            max: Duration::ZERO,
        };
        assert_eq!(failing_wait(&mut sp, zero), 0);
        assert_eq!(sp.skip, 1);
        // A non-zero budget checks at least one round before it looks at the clock.
        let mut sp = Spinner::without_probes();
        assert!(failing_wait(&mut sp, ADAPTIVE) >= CLOCK_EVERY);
    }
}
