//! Where the two processes run (`--pin`). By default the scheduler decides; `same` puts both
//! on CPU 0, `split` the parent on CPU 0 and the child on CPU 1. On a VM the blocking
//! transports' round trips depend on it: a wake-up that crosses to an idle virtual CPU costs far
//! more than one on the same CPU. Busy-polling on one CPU makes no sense (each side spins
//! through the other's time slice), so `same` is for the blocking transports.

use std::sync::OnceLock;

use crate::harness::{fail, Result};

/// The environment variable that tells a child which CPU to pin itself to.
pub const CHILD_CPU_ENV: &str = "SHM_PEERS_CHILD_CPU";

/// Placement of the parent and the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin {
    /// The scheduler places both.
    None,
    /// Both on CPU 0.
    Same,
    /// Parent on CPU 0, child on CPU 1.
    Split,
}

impl Pin {
    pub fn parse(s: &str) -> Option<Pin> {
        match s {
            "none" => Some(Pin::None),
            "same" => Some(Pin::Same),
            "split" => Some(Pin::Split),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Pin::None => "not pinned",
            Pin::Same => "both pinned to CPU 0",
            Pin::Split => "parent pinned to CPU 0, child to CPU 1",
        }
    }
}

static CHILD_CPU: OnceLock<usize> = OnceLock::new();

/// In the parent: pins this process as `pin` says and records the child's CPU for
/// [`child_cpu`]. Call it once, before any child is spawned.
pub fn apply_in_parent(pin: Pin) -> Result<()> {
    let (parent, child) = match pin {
        Pin::None => return Ok(()),
        Pin::Same => (0, 0),
        Pin::Split => (0, 1),
    };
    pin_to(parent)?;
    if CHILD_CPU.set(child).is_err() {
        return fail("cpu::apply_in_parent called twice");
    }
    Ok(())
}

/// The CPU the parent wants its children on, if it pins them.
pub fn child_cpu() -> Option<usize> {
    CHILD_CPU.get().copied()
}

/// In the child: pins this process if the parent asked for it.
pub fn apply_in_child() -> Result<()> {
    match std::env::var(CHILD_CPU_ENV) {
        Ok(cpu) => pin_to(cpu.parse()?),
        Err(_) => Ok(()),
    }
}

/// In the parent, for a thread that stands in for the child (the in-process references): pins
/// the calling thread to the child's CPU if the parent pins its children.
pub fn apply_in_child_thread() -> Result<()> {
    match child_cpu() {
        Some(cpu) => pin_to(cpu),
        None => Ok(()),
    }
}

/// Pins the calling thread (the whole process when it is the only thread; threads spawned
/// later inherit the mask) to one CPU.
fn pin_to(cpu: usize) -> Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return fail(format!("no CPU {cpu}"));
    }
    // SAFETY: cpu_set_t is a plain bit array, for which all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET sets bit `cpu` of `set`; `cpu` is below CPU_SETSIZE (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t of the size passed, and
    // the kernel only reads it.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return fail(format!(
            "pinning to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
