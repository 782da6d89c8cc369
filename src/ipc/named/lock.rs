//! A named pipe's lock file, `<socket path>.lock`: who may bind the name, and the instance
//! slots that `max_instances` counts across processes.
//!
//! Both are open-file-description locks (`F_OFD_SETLK`) on single bytes of the file: they
//! conflict between any two opens of the file, in one process or two, and the kernel drops
//! them when their holder closes the file or dies, so a crashed server never leaves a name
//! locked or a slot taken.
//!
//! * Byte 0, the **bind lock**, is held while a server probes a name, reclaims a stale socket,
//!   binds and starts listening, and while it removes its socket at the end: two servers
//!   starting at once cannot both see the name free, and one cannot remove a socket its
//!   successor just bound.
//! * Bytes 1 ..= n, the **instance slots**: a connection holds one for its lifetime, so at
//!   most n are served at once, whatever processes serve them.
//!
//! The lock file itself stays (removing it would let two servers lock two different files);
//! it is empty and mode 0600.

use super::super::sys;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;

/// The open lock file of a name.
#[derive(Debug)]
pub(crate) struct NameLock {
    file: OwnedFd,
    path: OsString,
}

/// The bind lock, held until dropped.
pub(crate) struct BindGuard<'a>(&'a NameLock);

/// An instance slot, held until dropped (its own open of the lock file).
#[derive(Debug)]
pub(crate) struct Slot {
    _file: OwnedFd,
}

impl NameLock {
    /// Opens (creating) the lock file at `path`.
    pub(crate) fn open(path: &OsStr) -> io::Result<NameLock> {
        let file = sys::open_lock_file(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "opening the pipe's lock file {}: {e}",
                    path.to_string_lossy()
                ),
            )
        })?;
        Ok(NameLock {
            file,
            path: path.to_owned(),
        })
    }

    /// Waits for the bind lock.
    pub(crate) fn bind_guard(&self) -> io::Result<BindGuard<'_>> {
        sys::ofd_lock(&self.file, 0, true)?;
        Ok(BindGuard(self))
    }

    /// A free slot among `1 ..= max`, or `None` if all are held.
    pub(crate) fn take_slot(&self, max: usize) -> io::Result<Option<Slot>> {
        let file = sys::open_lock_file(&self.path)?;
        for byte in 1..=max as u64 {
            if sys::ofd_lock(&file, byte, false)? {
                return Ok(Some(Slot { _file: file }));
            }
        }
        Ok(None)
    }
}

impl Drop for BindGuard<'_> {
    fn drop(&mut self) {
        // Closing the file would release it too; a failed unlock leaves it to that.
        let _ = sys::ofd_unlock(&self.0.file, 0);
    }
}
