//! The asymmetric halves of the store-buffering fence that keeps a parked side from being
//! missed (see `protocol`, W1 and "Fence modes").
//!
//! A side that publishes (commit, advance) issues a *light* half between its cursor store and
//! its `state` load; a side that parks issues a *heavy* half between setting its waiting bit
//! and re-reading the other side's cursor. Together they give the guarantee of two
//! `fence(SeqCst)`: at least one side sees the other's store. The protocol uses these halves
//! while its ring is in asymmetric mode and two `fence(SeqCst)` (which need nothing from here)
//! while it is in symmetric mode.
//!
//! * Light half: a compiler fence. No instruction: the publish path pays nothing.
//! * Heavy half: `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` between two `fence(SeqCst)`.
//!   The call makes every running thread of the process execute a full barrier before it
//!   returns, which is what the publisher's compiler fence leans on. A park then costs a system
//!   call and, when the other side is running on another CPU, an inter-processor interrupt
//!   (measured on a 2-vCPU KVM guest: ~0.3 µs when the other thread sleeps, 6–12 µs when it
//!   runs).
//!
//! Under loom and Miri, which have no `membarrier`, the two halves are *emulated* with what
//! they guarantee: each half is an `AcqRel` read-modify-write of one word per parking side, so
//! that of any publisher's light half and any parker's heavy half, one happens before the
//! other: either the publisher's cursor store is visible to the parker's re-check, or the
//! parker's waiting bit is visible to the publisher's `state` load, exactly as with a barrier
//! the kernel runs on the publisher's CPU at some point during the call. A publisher that
//! skipped its fence while the parker used only `fence(SeqCst)` (a ring whose two sides
//! disagree on its mode) gets no such guarantee there, so loom finds that bug if the mode
//! protocol has it. There is one word per parking side so that the two sides' publishes do
//! not synchronise with each other through it (which could hide a bug).
//!
//! Sources: the asymmetric Dekker pattern of Linux `membarrier(2)` ("Examples") and Folly's
//! `asymmetricLightBarrier` / `asymmetricHeavyBarrier`.

pub(crate) use imp::{asymmetric_available, AsymmetricFence};

#[cfg(any(loom, miri))]
mod imp {
    use crate::sync::{AtomicUsize, Ordering};

    /// Emulated: available everywhere loom and Miri run.
    pub(crate) fn asymmetric_available() -> bool {
        true
    }

    /// The emulated halves: one word per parking side (0: writer, 1: reader).
    #[derive(Debug)]
    pub(crate) struct AsymmetricFence {
        words: [AtomicUsize; 2],
    }

    impl AsymmetricFence {
        pub(crate) fn new() -> AsymmetricFence {
            AsymmetricFence {
                words: [AtomicUsize::new(0), AtomicUsize::new(0)],
            }
        }

        /// The light half, by a publisher whom side `parker` may be waiting for.
        #[inline]
        pub(crate) fn light(&self, parker: usize) {
            // Ordering: AcqRel, pairs with the same RMW in `heavy` (see the module docs).
            self.words[parker].fetch_add(0, Ordering::AcqRel);
        }

        /// The heavy half, by side `parker` after its waiting bit.
        pub(crate) fn heavy(&self, parker: usize) {
            // Ordering: AcqRel, pairs with the same RMW in `light`.
            self.words[parker].fetch_add(0, Ordering::AcqRel);
        }
    }
}

#[cfg(all(not(loom), not(miri), target_os = "linux"))]
mod imp {
    use core::sync::atomic::{compiler_fence, fence, Ordering};

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

    /// Whether `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` works in this process; registers
    /// the process for it the first time (registration is permanent). A pipe asks this before
    /// it is created, so the registration happens before any pipe uses the heavy half.
    pub(crate) fn asymmetric_available() -> bool {
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *OK.get_or_init(|| {
            membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
                && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
        })
    }

    /// The halves over `membarrier(2)`; nothing to keep.
    #[derive(Debug)]
    pub(crate) struct AsymmetricFence;

    impl AsymmetricFence {
        /// Registers the process for `membarrier` if it is not yet (see
        /// [`asymmetric_available`]), so that a ring never issues the heavy half unregistered.
        pub(crate) fn new() -> AsymmetricFence {
            asymmetric_available();
            AsymmetricFence
        }

        /// The light half: a compiler fence (the kernel supplies the barrier when needed).
        #[inline]
        pub(crate) fn light(&self, _parker: usize) {
            compiler_fence(Ordering::SeqCst);
        }

        /// The heavy half: the fence orders our waiting bit before the system call, and the
        /// one after the call orders the call before our re-check, as `membarrier(2)`'s own
        /// example does on both sides of the call.
        pub(crate) fn heavy(&self, _parker: usize) {
            fence(Ordering::SeqCst);
            // It worked when the pipe was created (`asymmetric_available`); the kernel gives
            // no way for it to fail later short of a bug, and the light side could not recover
            // from it, so we do not go on.
            if !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
                panic!("ringpipe: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after it was registered");
            }
            fence(Ordering::SeqCst);
        }
    }
}

#[cfg(all(not(loom), not(miri), not(target_os = "linux")))]
mod imp {
    /// No `membarrier` here: every ring is symmetric.
    pub(crate) fn asymmetric_available() -> bool {
        false
    }

    /// Never used: rings stay in symmetric mode.
    #[derive(Debug)]
    pub(crate) struct AsymmetricFence;

    impl AsymmetricFence {
        pub(crate) fn new() -> AsymmetricFence {
            AsymmetricFence
        }

        #[inline]
        pub(crate) fn light(&self, _parker: usize) {
            core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        }

        pub(crate) fn heavy(&self, _parker: usize) {
            unreachable!("ringpipe: asymmetric fences without membarrier")
        }
    }
}
