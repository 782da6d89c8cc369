//! When an adaptive ring goes back to asymmetric fences: each side's count of quiet publishes
//! (see "Fence modes" in [`protocol`](super)).
//!
//! A side publishing in symmetric mode counts its publishes that find the other side not
//! waiting; after `limit` of them in a row it switches the ring back to asymmetric fences. The
//! limit adapts, like a back-off, to what the switch bought: a side that switched back and finds
//! the ring symmetric again (somebody parked, paying a `membarrier`) after fewer bytes than its
//! quiet run covered has paid a `membarrier` to save fewer fences than it took to earn it, so
//! it doubles its limit (up to [`MAX_QUIET`]); after an asymmetric period many times longer
//! than the quiet run it halves it (down to [`MIN_QUIET`]). A pipe whose sides park every few
//! thousand publishes (blocking streams) thus settles in symmetric mode, one whose sides never
//! park (busy-polling) in asymmetric mode after its first `MIN_QUIET` publishes. Bytes stand in
//! for publishes in that comparison (the side's own position, which it has at hand), so
//! nothing is counted while the ring is asymmetric: the publish path stays as it is.
//!
//! Only the side's own state lives here; the switches themselves are RMWs on `state`
//! (`Ring::state_after_full_fence`), whose correctness does not depend on when they happen.

/// The shortest quiet run before a switch back to asymmetric fences: about the cost of one
/// `membarrier` (6–12 µs when the other side runs) in fences (10–20 ns each). Small under
/// loom, so that the models switch back.
pub(crate) const MIN_QUIET: u32 = if cfg!(loom) { 2 } else { 1024 };

/// The longest quiet run (a side that keeps finding its switches undone stops at this).
pub(crate) const MAX_QUIET: u32 = if cfg!(loom) { 2 } else { 1 << 20 };

/// An asymmetric period longer than this many quiet runs (in bytes) halves the limit.
const LONG_PERIOD: u64 = 16;

/// One side's count of quiet publishes in symmetric mode, and what it learned of its switches.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Quiet {
    /// Quiet publishes left before the switch.
    left: u32,
    /// The current quiet run's length.
    limit: u32,
    /// The side's position when the current run started.
    from: u64,
    /// The bytes the last completed run covered.
    covered: u64,
    /// The side's position when it last switched the ring to asymmetric, until it sees the
    /// ring symmetric again; `u64::MAX` when there is no such switch to judge.
    switched_at: u64,
}

impl Quiet {
    pub(crate) fn new() -> Quiet {
        Quiet {
            left: MIN_QUIET,
            limit: MIN_QUIET,
            from: 0,
            covered: 0,
            switched_at: u64::MAX,
        }
    }

    /// Starts a new quiet run at position `pos` (this side parked, or saw the other side
    /// parked).
    pub(crate) fn restart(&mut self, pos: u64) {
        self.left = self.limit;
        self.from = pos;
    }

    /// A publish in symmetric mode at position `pos`, which found the other side waiting or
    /// not: returns whether to switch the ring back to asymmetric fences now.
    pub(crate) fn publish(&mut self, pos: u64, other_waiting: bool) -> bool {
        if self.switched_at != u64::MAX {
            // Our last switch was undone: judge it by how long its asymmetric period lasted.
            let period = pos.saturating_sub(self.switched_at);
            if self.covered > 0 {
                if period < 2 * self.covered {
                    self.limit = self.limit.saturating_mul(2).min(MAX_QUIET);
                } else if period > LONG_PERIOD * self.covered {
                    self.limit = (self.limit / 2).max(MIN_QUIET);
                }
            }
            self.switched_at = u64::MAX;
            self.restart(pos);
        }
        if other_waiting {
            self.restart(pos);
            return false;
        }
        if self.left > 1 {
            self.left -= 1;
            return false;
        }
        self.covered = pos.saturating_sub(self.from);
        self.switched_at = pos;
        self.restart(pos);
        true
    }

    /// The current quiet run's length (for tests).
    #[cfg(test)]
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Runs `n` quiet publishes of `step` bytes each from `pos`; returns the position and
    /// whether the last one switched.
    fn quiet_run(q: &mut Quiet, mut pos: u64, n: u32, step: u64) -> (u64, bool) {
        let mut switched = false;
        for _ in 0..n {
            pos += step;
            switched = q.publish(pos, false);
        }
        (pos, switched)
    }

    #[test]
    fn switches_after_the_limit_and_restarts_on_waiters() {
        let mut q = Quiet::new();
        let (pos, switched) = quiet_run(&mut q, 0, MIN_QUIET - 1, 64);
        assert!(!switched);
        assert!(!q.publish(pos + 64, true), "a waiter restarts the run");
        let (_, switched) = quiet_run(&mut q, pos + 64, MIN_QUIET, 64);
        assert!(switched, "a whole run after the waiter switches");
    }

    #[test]
    fn a_switch_undone_soon_doubles_the_limit_and_a_long_period_halves_it() {
        let mut q = Quiet::new();
        let (pos, switched) = quiet_run(&mut q, 0, MIN_QUIET, 64);
        assert!(switched);
        // Symmetric again after fewer bytes than the run covered: the switch did not pay.
        let (pos, _) = quiet_run(&mut q, pos + 64 * 100, 1, 64);
        assert_eq!(q.limit(), 2 * MIN_QUIET);
        let (pos, switched) = quiet_run(&mut q, pos, 2 * MIN_QUIET - 1, 64);
        assert!(switched, "the doubled run");
        // Then a long asymmetric period: halved.
        let period = LONG_PERIOD * 64 * 2 * u64::from(MIN_QUIET) + 64;
        quiet_run(&mut q, pos + period, 1, 64);
        assert_eq!(q.limit(), MIN_QUIET);
        // Doubled each time the switch is undone at once, never above the maximum. (Under
        // Miri only the first doublings: reaching the maximum takes 2^21 publishes.)
        let mut q = Quiet::new();
        let mut pos = 0;
        let rounds = if cfg!(miri) { 3 } else { 40 };
        for _ in 0..rounds {
            loop {
                pos += 1;
                if q.publish(pos, false) {
                    break;
                }
            }
            pos += 1;
            q.publish(pos, false);
        }
        let want = MIN_QUIET
            .checked_shl(rounds)
            .map_or(MAX_QUIET, |l| l.min(MAX_QUIET));
        assert_eq!(q.limit(), want);
    }
}
