//! The descriptor calls and checks of the inter-process pipes: a close-on-exec pipe whose ends
//! are never standard streams, what a descriptor is (open? a pipe? which end?), and its
//! close-on-exec and blocking flags. Every call goes to the kernel with a plain integer and a
//! buffer of ours, so a descriptor number from another process can be checked before anything
//! trusts it.

use super::sys::cvt;
pub(crate) use super::sys::invalid;
use super::PipeDirection;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The lowest descriptor a pipe end gets: 0, 1 and 2 are the standard streams, which
/// `std::process::Command` replaces in the child, and which a client never takes.
pub(crate) const FIRST_NON_STDIO: RawFd = 3;

/// A new pipe, both ends close-on-exec and numbered from [`FIRST_NON_STDIO`] up (a process
/// started with a standard stream closed would otherwise get an end numbered 0, 1 or 2):
/// `(read end, write end)`.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: `fds` is an array of the two ints pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both are new descriptors that nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((above_stdio(read)?, above_stdio(write)?))
}

/// `fd` itself if it is numbered from [`FIRST_NON_STDIO`] up, else a close-on-exec duplicate
/// that is (and `fd` is closed).
pub(crate) fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() >= FIRST_NON_STDIO {
        return Ok(fd);
    }
    // SAFETY: fcntl on a descriptor we own; F_DUPFD_CLOEXEC takes an int argument.
    let dup = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, FIRST_NON_STDIO) })?;
    // SAFETY: fcntl succeeded, so `dup` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

/// What [`stat`] says of a descriptor: enough to recognise the same pipe end later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: libc::dev_t,
    ino: libc::ino_t,
    mode: libc::mode_t,
}

/// `fstat(fd)`: fails with the OS error (`EBADF` if `fd` is not open).
///
/// Async-signal-safe (fstat is on POSIX's list; nothing allocates), so a child may call it
/// between fork and exec.
pub(crate) fn stat(fd: RawFd) -> io::Result<Identity> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into the buffer we pass, or fails; any integer may be
    // passed as the descriptor (the kernel checks it).
    cvt(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it initialised the whole struct.
    let st = unsafe { st.assume_init() };
    Ok(Identity {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
    })
}

/// The access mode of `fd` (`O_RDONLY`, `O_WRONLY` or `O_RDWR`). Async-signal-safe.
pub(crate) fn access_mode(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL takes no argument; any integer may be passed as the descriptor.
    Ok(cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })? & libc::O_ACCMODE)
}

/// The access mode a pipe end of `direction` has: a reading end is `O_RDONLY`, a writing end
/// `O_WRONLY`.
pub(crate) fn mode_for(direction: PipeDirection) -> libc::c_int {
    match direction {
        PipeDirection::In => libc::O_RDONLY,
        PipeDirection::Out => libc::O_WRONLY,
        PipeDirection::InOut => libc::O_RDWR,
    }
}

/// Whether `fd` is still the pipe end it was when `then` was taken from it: the same pipe
/// and the access mode of `direction`. Async-signal-safe.
pub(crate) fn is_same_end(fd: RawFd, then: Identity, direction: PipeDirection) -> io::Result<bool> {
    Ok(stat(fd)? == then && access_mode(fd)? == mode_for(direction))
}

/// Checks that `fd` is an open pipe end (an anonymous pipe or a FIFO) of `direction`; the
/// errors are `InvalidInput`, each naming what is wrong. Only reads the descriptor's state.
pub(crate) fn check_pipe_end(fd: RawFd, direction: PipeDirection) -> io::Result<()> {
    let id = match stat(fd) {
        Ok(id) => id,
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
            return Err(invalid(format!(
                "descriptor {fd} is not open in this process (was it inherited?)"
            )))
        }
        Err(e) => return Err(e),
    };
    if id.mode & libc::S_IFMT != libc::S_IFIFO {
        return Err(invalid(format!(
            "descriptor {fd} is {}, not a pipe",
            kind_of(id.mode)
        )));
    }
    let have = access_mode(fd)?;
    let want = mode_for(direction);
    if have != want {
        return Err(invalid(format!(
            "descriptor {fd} is {}, but PipeDirection::{direction:?} needs {}",
            end_name(have),
            end_name(want)
        )));
    }
    Ok(())
}

/// The file type in `mode`, for an error message.
fn kind_of(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFSOCK => "a socket",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFLNK => "a symbolic link",
        _ => "of an unknown file type",
    }
}

/// A pipe end's access mode in words, for an error message.
fn end_name(mode: libc::c_int) -> &'static str {
    match mode {
        libc::O_RDONLY => "the read end of a pipe",
        libc::O_WRONLY => "the write end of a pipe",
        _ => "open for reading and writing (a one-way end is neither)",
    }
}

/// Sets or clears `FD_CLOEXEC` on `fd`. Async-signal-safe.
pub(crate) fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFD takes no argument; any integer may be passed as the descriptor.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    if new != flags {
        // SAFETY: F_SETFD takes an int argument; any integer may be passed as the descriptor.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, new) })?;
    }
    Ok(())
}

/// Clears `O_NONBLOCK` on `fd` (an end another process handed over may have it set), so that
/// a thread's reads and writes wait instead of failing with `WouldBlock`.
pub(crate) fn set_blocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument; `fd` is ours.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    if flags & libc::O_NONBLOCK != 0 {
        // SAFETY: F_SETFL takes an int argument; `fd` is ours.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) })?;
    }
    Ok(())
}

/// The capacity of the pipe `fd` is an end of, in bytes (`F_GETPIPE_SZ`).
pub(crate) fn pipe_size(fd: &OwnedFd) -> io::Result<usize> {
    // SAFETY: F_GETPIPE_SZ takes no argument; `fd` is ours.
    let n = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) })?;
    Ok(n as usize)
}

/// Asks for a pipe capacity of at least `bytes` (`F_SETPIPE_SZ`; the kernel rounds up to a
/// power-of-two number of pages) and returns the capacity it set.
pub(crate) fn set_pipe_size(fd: &OwnedFd, bytes: usize) -> io::Result<usize> {
    let bytes = libc::c_int::try_from(bytes)
        .map_err(|_| invalid(format!("a pipe buffer of {bytes} bytes is out of range")))?;
    // SAFETY: F_SETPIPE_SZ takes an int argument; `fd` is ours.
    let n = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, bytes) })?;
    Ok(n as usize)
}
