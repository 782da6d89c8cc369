//! The two halves of the store-buffering fence that keeps a parked side from being missed.

/// The two halves of an asymmetric store-buffering fence (see `protocol`, W1).
///
/// A side that publishes (commit, advance) issues [`fence_light`] between its cursor store and
/// its `state` load; a side that parks issues [`fence_heavy`] between setting its waiting bit
/// and re-reading the other cursor. Together they give the guarantee of two `fence(SeqCst)`:
/// at least one side sees the other's store.
///
/// Each pipe decides once, when it is created, which scheme its two halves use (`asym`, kept
/// in the pipe's wake-up (`LocalWakeup`) and never changed, so both halves always agree):
/// * symmetric (`asym == false`): both halves are `fence(SeqCst)`;
/// * asymmetric (`asym == true`, Linux only): the light half is a compiler fence, so the
///   publish path has no fence instruction, and the heavy half is
///   `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which makes every running thread of the
///   process execute a full barrier before it returns. A park then costs a system call and,
///   when the other side is running on another CPU, an inter-processor interrupt (measured on
///   a 2-vCPU KVM guest: ~0.3 µs when the other thread sleeps, 6–12 µs when it runs).
///
/// Under loom and Miri (which model `fence` but not `membarrier`) asymmetric fences are never
/// available, so every pipe is symmetric there.
///
/// Sources: the asymmetric Dekker pattern of Linux `membarrier(2)` ("Examples") and Folly's
/// `asymmetricLightBarrier` / `asymmetricHeavyBarrier`.
pub(crate) use asym::{asymmetric_available, fence_heavy, fence_light};

#[cfg(any(loom, miri, not(target_os = "linux")))]
mod asym {
    use crate::sync::{fence, Ordering};

    pub(crate) fn asymmetric_available() -> bool {
        false
    }

    #[inline]
    pub(crate) fn fence_light(_asym: bool) {
        fence(Ordering::SeqCst);
    }

    #[inline]
    pub(crate) fn fence_heavy(_asym: bool) {
        fence(Ordering::SeqCst);
    }
}

#[cfg(all(not(loom), not(miri), target_os = "linux"))]
mod asym {
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
    /// it is created, so the registration happens before any asymmetric pipe exists.
    pub(crate) fn asymmetric_available() -> bool {
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *OK.get_or_init(|| {
            membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
                && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
        })
    }

    #[inline]
    pub(crate) fn fence_light(asym: bool) {
        if asym {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    #[inline]
    pub(crate) fn fence_heavy(asym: bool) {
        // Symmetric: this fence is the whole heavy half. Asymmetric: it orders our waiting bit
        // before the system call, and the one after the call orders the call before our
        // re-check, as `membarrier(2)`'s own example does on both sides of the call; the
        // call makes every running thread of the process pass a full barrier, which is what
        // the publisher's compiler fence leans on.
        fence(Ordering::SeqCst);
        if asym {
            // It worked when the pipe was created (`asymmetric_available`); the kernel gives no
            // way for it to fail later short of a bug, and the light side could not recover
            // from it, so we do not go on.
            if !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
                panic!("ringpipe: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after it was registered");
            }
            fence(Ordering::SeqCst);
        }
    }
}
