//! The system calls under the inter-process pipes, each wrapped once: Unix socket addresses
//! (paths and the abstract namespace), a socket made, given its mode and bound in that order,
//! connects with a kernel-side timeout, peer credentials, open-file-description locks, and
//! inotify. Everything returns `io::Result` with the OS error; nothing here decides policy.

use std::ffi::{CString, OsStr};
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

/// `-1` → the OS error (`errno`); anything else → the value. Async-signal-safe.
pub(crate) fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// As [`cvt`], retrying `EINTR`.
fn cvt_retry(mut f: impl FnMut() -> libc::c_int) -> io::Result<libc::c_int> {
    loop {
        match cvt(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// The most bytes of a path in `sun_path`, without its terminating NUL.
pub(crate) const SUN_PATH_MAX: usize = {
    // SAFETY: sockaddr_un is plain data; only its field's size is read.
    let addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_path.len() - 1
};

/// A Unix socket address: a path (up to [`SUN_PATH_MAX`] bytes) or an abstract name.
pub(crate) struct UnixAddr {
    addr: libc::sockaddr_un,
    len: libc::socklen_t,
}

impl UnixAddr {
    /// The address of `path`; `InvalidInput` if it is longer than `sun_path` takes or holds
    /// a NUL.
    pub(crate) fn path(path: &OsStr) -> io::Result<UnixAddr> {
        let bytes = path.as_bytes();
        if bytes.contains(&0) {
            return Err(invalid("a socket path cannot contain a NUL byte"));
        }
        if bytes.len() > SUN_PATH_MAX {
            return Err(invalid(format!(
                "the socket path is {} bytes, over sun_path's {SUN_PATH_MAX}",
                bytes.len()
            )));
        }
        Ok(UnixAddr::from_bytes(bytes, 0))
    }

    /// The abstract-namespace address `name` (`sun_path` starts with a NUL; no file).
    pub(crate) fn abstract_name(name: &[u8]) -> io::Result<UnixAddr> {
        if name.len() > SUN_PATH_MAX {
            return Err(invalid(format!(
                "the abstract name is {} bytes, over sun_path's {SUN_PATH_MAX}",
                name.len()
            )));
        }
        Ok(UnixAddr::from_bytes(name, 1))
    }

    fn from_bytes(bytes: &[u8], offset: usize) -> UnixAddr {
        // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
        let mut addr: libc::sockaddr_un = unsafe { zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, &b) in addr.sun_path[offset..].iter_mut().zip(bytes) {
            *dst = b as libc::c_char;
        }
        let base = size_of::<libc::sa_family_t>();
        // A path's length counts its NUL terminator (zeroed above); an abstract name's is
        // exactly its bytes after the leading NUL.
        let len = base + offset + bytes.len() + usize::from(offset == 0);
        UnixAddr {
            addr,
            len: len as libc::socklen_t,
        }
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.addr as *const libc::sockaddr_un).cast()
    }
}

/// A new `AF_UNIX` stream socket, close-on-exec.
pub(crate) fn unix_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain system call; the returned descriptor is new and ours.
    let fd =
        cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just returned by socket(2) and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets the mode the socket's file will have when it is bound: on Linux, `fchmod` before
/// `bind` is what the file gets, whatever the umask (after `bind` it has no effect).
pub(crate) fn fchmod(fd: &OwnedFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain system call on a descriptor we own.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// `bind(2)`.
pub(crate) fn bind(fd: &OwnedFd, addr: &UnixAddr) -> io::Result<()> {
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr(), addr.len) }).map(drop)
}

/// `listen(2)`.
pub(crate) fn listen(fd: &OwnedFd, backlog: i32) -> io::Result<()> {
    // SAFETY: plain system call on a descriptor we own.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) }).map(drop)
}

/// `connect(2)`, waiting at most `timeout` (via `SO_SNDTIMEO`, which bounds a Unix socket's
/// wait for room in a full backlog) or forever (`None`). A timeout is `TimedOut`.
pub(crate) fn connect(fd: &OwnedFd, addr: &UnixAddr, timeout: Option<Duration>) -> io::Result<()> {
    if let Some(t) = timeout {
        set_send_timeout(fd, Some(t.max(Duration::from_micros(1))))?;
    }
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
    let r = cvt_retry(|| unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.len) });
    if timeout.is_some() {
        set_send_timeout(fd, None)?;
    }
    match r {
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && timeout.is_some() => Err(
            io::Error::new(io::ErrorKind::TimedOut, "the server's backlog stayed full"),
        ),
        other => other.map(drop),
    }
}

fn set_send_timeout(fd: &OwnedFd, t: Option<Duration>) -> io::Result<()> {
    let tv = match t {
        Some(t) => libc::timeval {
            tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_usec: t.subsec_micros() as libc::suseconds_t,
        },
        None => libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
    };
    // SAFETY: a valid timeval of the size passed.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// The credentials of the process at the other end of a connected Unix socket, as the kernel
/// recorded them when the connection (or, for a client, the server's `listen`) was made.
pub(crate) fn peer_credentials(fd: RawFd) -> io::Result<libc::ucred> {
    // SAFETY: ucred is plain data.
    let mut cred: libc::ucred = unsafe { zeroed() };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a ucred of `len` bytes.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok(cred)
}

/// This process's effective user id.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// `path` as a C string; `InvalidInput` if it holds a NUL.
pub(crate) fn c_path(path: &OsStr) -> io::Result<CString> {
    CString::new(path.as_bytes()).map_err(|_| invalid("a path cannot contain a NUL byte"))
}

/// Opens (creating, mode 0600) the lock file at `path` for reading and writing, refusing a
/// symbolic link at the last component.
pub(crate) fn open_lock_file(path: &OsStr) -> io::Result<OwnedFd> {
    let c = c_path(path)?;
    // SAFETY: a valid C string; the returned descriptor is new and ours.
    let fd = cvt_retry(|| unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o600 as libc::c_uint,
        )
    })?;
    // SAFETY: `fd` was just returned by open(2) and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Takes a write lock on byte `byte` of the file behind `fd`, owned by that open file
/// description (`F_OFD_SETLK`): it conflicts with every other open file description of the
/// file, in this process or another, and goes away when the description is closed, so a
/// crashed holder never leaves it behind. Waits for it if `wait`; otherwise `Ok(false)` when
/// someone else holds it.
pub(crate) fn ofd_lock(fd: &OwnedFd, byte: u64, wait: bool) -> io::Result<bool> {
    // SAFETY: flock is plain data.
    let mut fl: libc::flock = unsafe { zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    let cmd = if wait {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    // SAFETY: a valid flock for fcntl's lock commands.
    match cvt_retry(|| unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &fl) }) {
        Ok(_) => Ok(true),
        Err(e) if !wait && matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Releases the lock [`ofd_lock`] took on `byte`.
pub(crate) fn ofd_unlock(fd: &OwnedFd, byte: u64) -> io::Result<()> {
    // SAFETY: flock is plain data.
    let mut fl: libc::flock = unsafe { zeroed() };
    fl.l_type = libc::F_UNLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    // SAFETY: a valid flock for fcntl's lock commands.
    cvt_retry(|| unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &fl) }).map(drop)
}

/// A new inotify instance, non-blocking and close-on-exec.
pub(crate) fn inotify() -> io::Result<OwnedFd> {
    // SAFETY: plain system call; the returned descriptor is new and ours.
    let fd = cvt(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
    // SAFETY: `fd` was just returned by inotify_init1 and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Watches the directory `dir` for entries created, moved in or changed (a socket file appears
/// by creation, or by rename).
pub(crate) fn inotify_watch_dir(ino: &OwnedFd, dir: &OsStr) -> io::Result<()> {
    let c = c_path(dir)?;
    let mask = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_ATTRIB | libc::IN_ONLYDIR;
    // SAFETY: a valid C string and inotify descriptor.
    cvt(unsafe { libc::inotify_add_watch(ino.as_raw_fd(), c.as_ptr(), mask) }).map(drop)
}

/// Discards the events queued on an inotify descriptor (the caller only needs to know that
/// something happened).
pub(crate) fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
    }
}

/// Waits until `fd` is readable or `timeout` passes (`None`: no limit). `Ok(false)` on timeout.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = match timeout {
        // Rounded up, so a wait never ends before its time.
        Some(t) => t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int,
        None => -1,
    };
    // SAFETY: one valid pollfd.
    let n = cvt(unsafe { libc::poll(&mut pfd, 1, ms) });
    match n {
        Ok(n) => Ok(n > 0),
        // A signal: the caller recomputes what is left of its timeout and waits again.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(e),
    }
}

/// An `InvalidInput` error with `msg`.
pub(crate) fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// What a connect to a socket file that seemed taken found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// A server accepted, or its backlog is full: the name is in use.
    Alive,
    /// Nobody listens: the file is stale (its server is gone).
    Refused,
    /// The file is gone.
    Missing,
}

/// Connects to `addr` without waiting, to learn whether a server listens there.
pub(crate) fn probe(addr: &UnixAddr) -> io::Result<Probe> {
    let fd = unix_socket()?;
    // SAFETY: plain fcntl calls on a descriptor we own.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
    match cvt_retry(|| unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.len) }) {
        Ok(_) => Ok(Probe::Alive),
        Err(e) => match e.raw_os_error() {
            Some(libc::EAGAIN | libc::EINPROGRESS) => Ok(Probe::Alive),
            Some(libc::ECONNREFUSED) => Ok(Probe::Refused),
            Some(libc::ENOENT) => Ok(Probe::Missing),
            _ => Err(e),
        },
    }
}

/// Renames `from` to `to` unless `to` exists (`renameat2(RENAME_NOREPLACE)`): `AlreadyExists`
/// then.
pub(crate) fn rename_noreplace(from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (f, t) = (c_path(from)?, c_path(to)?);
    // The raw system call: glibc's wrapper is missing from musl.
    // SAFETY: valid C strings; AT_FDCWD for both.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The listening Unix stream socket whose descriptor number is `handle` (a string a parent
/// passed), made close-on-exec again and owned by the caller.
///
/// # Errors
/// `InvalidInput` if `handle` is not a decimal descriptor number above 2, or the descriptor is
/// not open, not a Unix socket, not a stream socket, or not listening.
///
/// # Safety
/// The descriptor must be owned by nothing else in this process (it is closed when the
/// returned `OwnedFd` is dropped).
pub(crate) unsafe fn inherited_listener(handle: &str) -> io::Result<OwnedFd> {
    let fd: RawFd = match handle.parse::<u32>() {
        Ok(n) if n > 2 && n <= i32::MAX as u32 && handle.bytes().all(|b| b.is_ascii_digit()) => {
            n as RawFd
        }
        _ => {
            return Err(invalid(format!(
                "{handle:?} is not a listening socket's handle (a descriptor number above 2)"
            )))
        }
    };
    let int_opt = |opt| -> io::Result<libc::c_int> {
        let mut v: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `v` is an int of `len` bytes; a bad descriptor is an error, not UB.
        cvt(unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        })?;
        Ok(v)
    };
    let check = (|| -> io::Result<bool> {
        Ok(int_opt(libc::SO_DOMAIN)? == libc::AF_UNIX
            && int_opt(libc::SO_TYPE)? == libc::SOCK_STREAM
            && int_opt(libc::SO_ACCEPTCONN)? == 1)
    })();
    match check {
        Ok(true) => {}
        Ok(false) => {
            return Err(invalid(format!(
                "descriptor {fd} is not a listening Unix stream socket"
            )))
        }
        Err(e) => {
            return Err(invalid(format!(
                "descriptor {fd} is not a listening Unix stream socket: {e}"
            )))
        }
    }
    super::fd::set_cloexec(fd, true)?;
    // SAFETY: open and a socket (checked above), and ours alone (the caller's contract).
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets the permission bits of the socket file at `path` to exactly `mode`, without following
/// a symbolic link there, and only if it is a socket owned by this user: the file is opened
/// `O_PATH | O_NOFOLLOW`, checked, and changed through `/proc/self/fd` (Linux's `fchmodat`
/// cannot refuse links). `bind` applies the umask to the mode `fchmod` gave the socket; this
/// restores the bits it removed.
pub(crate) fn chmod_socket_nofollow(path: &OsStr, mode: u32) -> io::Result<()> {
    let c = c_path(path)?;
    // SAFETY: a valid C string; the returned descriptor is new and ours.
    let fd = cvt_retry(|| unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: `fd` was just returned by open(2) and nobody else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: stat is plain data, filled by fstat on a valid descriptor.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: as above.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK || st.st_uid != euid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the new socket file was replaced before its mode was set",
        ));
    }
    let proc_path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .expect("no NUL in a formatted number");
    // SAFETY: a valid C string.
    cvt(unsafe { libc::chmod(proc_path.as_ptr(), mode as libc::mode_t) }).map(drop)
}
