//! Handing a file descriptor to the child by inheritance: the parent clears its close-on-exec
//! flag just before the spawn and passes its number as an argument; the child takes ownership
//! of that number. The parent closes its copy right after the spawn (else a reader would never
//! see the end of the stream).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::harness::{fail, Result};

/// Clears `FD_CLOEXEC` on `fd`, so that the next spawned child inherits it, and returns the
/// number to pass to that child.
pub fn inheritable(fd: &impl AsRawFd) -> Result<String> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl with F_GETFD/F_SETFD only reads and writes the descriptor flags of `raw`,
    // which `fd` keeps open for the duration of the call; no memory is passed.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFD) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(raw, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(raw.to_string())
}

/// In the child: takes ownership of the inherited descriptor whose number the parent passed.
/// Call it once per number.
pub fn adopt(arg: &str) -> Result<OwnedFd> {
    let raw: RawFd = arg.parse()?;
    if raw <= 2 {
        return fail(format!(
            "fd {raw} is a standard stream, not an inherited end"
        ));
    }
    // SAFETY: F_GETFD reads the flags of descriptor `raw` (no memory is passed); it fails with
    // EBADF if no such descriptor is open, which we report instead of adopting it.
    if unsafe { libc::fcntl(raw, libc::F_GETFD) } < 0 {
        return fail(format!(
            "fd {raw} was not inherited: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `raw` is open (checked above) and was inherited from the parent for this child
    // alone: nothing else in this process knows its number or owns it, and the caller adopts
    // each number once, so the OwnedFd is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
