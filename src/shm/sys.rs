//! The system calls under the shared-memory pipe, each wrapped once: a sealed memfd mapped by
//! two processes ([`Region`]), an eventfd to wake a thread of this process ([`EventFd`]), a
//! wait on several descriptors at once ([`wait_any`]), and descriptors passed over a Unix
//! socket ([`send_with_fds`], [`recv_with_fds`]).
//!
//! The process on the other side is not trusted: a memfd it hands over is mapped only once the
//! kernel guarantees that its size can never change (a peer that shrank a mapped file would
//! kill us with `SIGBUS`), and what arrives on the socket is bounded and never leaks a
//! descriptor. (No eventfd is shared with it: its flags would be the other process's to
//! change, see `wakeup.rs`.) Everything returns `io::Result` with the OS error or a message
//! naming the problem; nothing here knows the ring protocol.

use crate::ipc::sys::{cvt, invalid};
use std::ffi::CString;
use std::fmt;
use std::io;
use std::mem::{size_of, zeroed, MaybeUninit};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// The seals a shared region must carry before it is mapped: its size can neither shrink (the
/// other mapper would fault with `SIGBUS` on the lost pages) nor grow, and no seal can be added
/// or the set changed (`F_SEAL_SEAL`).
const REQUIRED_SEALS: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

/// The longest memfd name the kernel takes, in bytes: `NAME_MAX` (255) less the `memfd:`
/// prefix it adds.
const MAX_MEMFD_NAME: usize = 249;

/// `SCM_PIDFD` (Linux 6.5, `include/linux/socket.h`, the same on every architecture; not in
/// `libc` yet): the control message `SO_PASSPIDFD` adds, which carries a pidfd the kernel
/// installed in this process.
const SCM_PIDFD: libc::c_int = 0x04;

/// The most descriptors one `SCM_RIGHTS` message carries (`SCM_MAX_FD` in the kernel).
const SCM_MAX_FD: usize = 253;

/// Room in a received control buffer beyond the descriptors asked for: the credentials
/// (`SO_PASSCRED`), a pidfd (`SO_PASSPIDFD`) and a security label (`SO_PASSSEC`) the socket's
/// options may add, so that they do not truncate the descriptors.
const CONTROL_SPARE: usize = 512;

/// As [`cvt`], retrying `EINTR`.
fn cvt_retry(mut f: impl FnMut() -> libc::c_int) -> io::Result<libc::c_int> {
    loop {
        match cvt(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// As [`cvt_retry`] for the calls that return an `ssize_t` (`read`, `write`, `sendmsg`, ...).
fn cvt_retry_size(mut f: impl FnMut() -> libc::ssize_t) -> io::Result<usize> {
    loop {
        let n = f();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The size of a memory page in bytes.
fn page_size() -> usize {
    // SAFETY: sysconf only reads a system value.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // _SC_PAGESIZE cannot fail on Linux; 4096 keeps the arithmetic sane if it ever did.
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// Checks that `len` can be the length of a region: above zero and a whole number of pages.
fn check_region_len(len: usize) -> io::Result<()> {
    let page = page_size();
    if len == 0 || len % page != 0 {
        return Err(invalid(format!(
            "a shared region of {len} bytes: the length must be a non-zero multiple of the \
             page size ({page} bytes)"
        )));
    }
    Ok(())
}

/// `fstat(fd)`.
fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a whole `struct stat` into the buffer we pass, or fails; `fd` is open
    // (it is borrowed).
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it initialised the struct.
    Ok(unsafe { st.assume_init() })
}

/// The file type in `mode`, for an error message.
fn kind_of(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFIFO => "a pipe",
        libc::S_IFSOCK => "a socket",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFLNK => "a symbolic link",
        0 => "an anonymous inode",
        _ => "of an unknown file type",
    }
}

/// A memfd mapped shared, readable and writable, whose size is sealed: the memory of the pipe
/// that two processes share. Unmapped (and the descriptor closed) when dropped; the memory
/// itself lives until the last process holding the memfd or a mapping of it lets go.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct Region {
    /// The first byte of the mapping (page-aligned).
    ptr: NonNull<u8>,
    /// The length of the mapping and of the memfd, in bytes.
    len: usize,
    /// The memfd, kept so that it can be handed to another process.
    fd: OwnedFd,
}

// SAFETY: a Region is raw shared memory that another process may write at any time, so it
// promises nothing about its bytes to any thread: the mapping itself (a pointer and a length
// fixed for its life, unmapped only by Drop, which takes it by value) is as valid from any
// thread as from the one that made it, and the users of `as_ptr` access the memory through
// atomics or their own protocol, which must already cope with a concurrent writer elsewhere.
unsafe impl Send for Region {}
// SAFETY: as for Send: `&Region` gives out only the pointer, the length and the descriptor,
// none of which `&self` can change.
unsafe impl Sync for Region {}

impl Region {
    /// A new region of `len` bytes, zeroed: a memfd named `name` (shown in `/proc/<pid>/maps`
    /// and `/proc/<pid>/fd`; it lives in no file system, so nothing is left in `/dev/shm`),
    /// close-on-exec, sized to `len`, sealed so that no process can ever shrink or grow it or
    /// change its seals, then mapped.
    ///
    /// # Errors
    /// `InvalidInput` if `len` is zero or not a multiple of the page size, or `name` holds a
    /// NUL or is over 249 bytes; otherwise the OS error of the call that failed.
    pub(crate) fn create(name: &str, len: usize) -> io::Result<Region> {
        check_region_len(len)?;
        if name.len() > MAX_MEMFD_NAME {
            return Err(invalid(format!(
                "a memfd name is at most {MAX_MEMFD_NAME} bytes; {name:?} is {}",
                name.len()
            )));
        }
        let c_name = CString::new(name)
            .map_err(|_| invalid(format!("a memfd name cannot contain a NUL byte: {name:?}")))?;
        let size = libc::off_t::try_from(len)
            .map_err(|_| invalid(format!("a shared region of {len} bytes is too large")))?;
        let fd = memfd_create(&c_name)?;
        // SAFETY: plain system call on a descriptor we own.
        cvt_retry(|| unsafe { libc::ftruncate(fd.as_raw_fd(), size) })?;
        // SAFETY: F_ADD_SEALS takes an int argument; `fd` is ours.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, REQUIRED_SEALS) })?;
        Region::map(fd, len)
    }

    /// Maps the memfd `fd`, received from a process that is **not trusted**, if it is safe to:
    /// it must be a regular file that is sealable (a memfd), carry the seals against shrinking,
    /// growing and further sealing (else its sender could truncate it under our mapping and
    /// kill us with `SIGBUS`), be `expected_len` bytes long (checked after the seals, when the
    /// size can no longer change), not be sealed against writing, and be open for reading and
    /// writing.
    ///
    /// # Errors
    /// `InvalidInput` naming the first check that failed (or `expected_len` not a non-zero
    /// multiple of the page size); otherwise the OS error of the call that failed. `fd` is
    /// closed on error.
    pub(crate) fn open(fd: OwnedFd, expected_len: usize) -> io::Result<Region> {
        check_region_len(expected_len)?;
        let st = fstat(fd.as_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(invalid(format!(
                "the shared region's descriptor is {}, not a memfd",
                kind_of(st.st_mode)
            )));
        }
        // SAFETY: F_GET_SEALS takes no argument; `fd` is ours.
        let seals =
            match cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) }) {
                Ok(seals) => seals,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Err(invalid(
                    "the shared region's descriptor is a file that cannot be sealed, not a memfd",
                )),
                Err(e) => return Err(e),
            };
        if seals & REQUIRED_SEALS != REQUIRED_SEALS {
            return Err(invalid(format!(
                "the shared region's memfd is not sealed against {}: its sender could \
                 truncate it under our mapping (a SIGBUS here)",
                missing_seals(seals)
            )));
        }
        if seals & (libc::F_SEAL_WRITE | libc::F_SEAL_FUTURE_WRITE) != 0 {
            return Err(invalid(
                "the shared region's memfd is sealed against writing, so it cannot be shared \
                 read-write",
            ));
        }
        // The size again, now that the seals have fixed it: one read before them could be
        // stale.
        let st = fstat(fd.as_fd())?;
        if u64::try_from(st.st_size).ok() != Some(expected_len as u64) {
            return Err(invalid(format!(
                "the shared region's memfd is {} bytes, not the {expected_len} expected",
                st.st_size
            )));
        }
        // SAFETY: F_GETFL takes no argument; `fd` is ours.
        let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
        if flags & libc::O_ACCMODE != libc::O_RDWR {
            return Err(invalid(
                "the shared region's memfd is not open for reading and writing",
            ));
        }
        Region::map(fd, expected_len)
    }

    /// Maps `len` bytes of `fd` shared, readable and writable.
    fn map(fd: OwnedFd, len: usize) -> io::Result<Region> {
        // SAFETY: a new mapping at an address the kernel picks, so no existing memory is
        // replaced; `fd` is open and `len` non-zero.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| {
            // Not MAP_FIXED, so the kernel never places a mapping at address zero; if it did,
            // give it back rather than hold a null pointer.
            // SAFETY: the mapping just made, `len` bytes.
            unsafe { libc::munmap(p, len) };
            io::Error::other("mmap returned a null address")
        })?;
        Ok(Region { ptr, len, fd })
    }

    /// The first byte of the shared memory, valid for [`len`](Region::len) bytes until the
    /// region is dropped. The other process may read and write any of it at any time: access
    /// it through atomics or a protocol that expects that, never through `&`/`&mut` references
    /// that assume no one else writes.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The length of the region in bytes (a non-zero multiple of the page size).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The memfd, to hand to the other process (with [`send_with_fds`]).
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Region {
    /// Unmaps the memory and closes the memfd.
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are exactly the mapping `map` made, unmapped nowhere else;
        // pointers from `as_ptr` are documented to be valid only until the region is dropped.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl fmt::Debug for Region {
    /// The address, the length and the descriptor; never the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .field("fd", &self.fd)
            .finish()
    }
}

/// The seals of [`REQUIRED_SEALS`] that `seals` lacks, in words, for an error message.
fn missing_seals(seals: libc::c_int) -> String {
    let names = [
        (libc::F_SEAL_SHRINK, "shrinking"),
        (libc::F_SEAL_GROW, "growing"),
        (libc::F_SEAL_SEAL, "changing its seals"),
    ];
    names
        .iter()
        .filter(|(seal, _)| seals & seal == 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A new memfd named `name`, close-on-exec and sealable. Also never executable
/// (`MFD_NOEXEC_SEAL`) where the kernel knows that flag (Linux 6.3; older ones refuse it with
/// `EINVAL`, and are asked again without it): a kernel with `vm.memfd_noexec = 2` refuses a
/// memfd without it, and others log a warning.
fn memfd_create(name: &CString) -> io::Result<OwnedFd> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: a valid C string; the returned descriptor is new and ours.
    let fd = match cvt(unsafe { libc::memfd_create(name.as_ptr(), base | libc::MFD_NOEXEC_SEAL) }) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // SAFETY: as above.
            cvt(unsafe { libc::memfd_create(name.as_ptr(), base) })?
        }
        other => other?,
    };
    // SAFETY: `fd` was just returned by memfd_create and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// An eventfd, non-blocking and close-on-exec, of this process only: one thread
/// [`signal`](EventFd::signal)s, another waits for it to be readable (with [`wait_any`]).
#[derive(Debug)]
pub(crate) struct EventFd(OwnedFd);

impl EventFd {
    /// A new eventfd, its counter at zero (`EFD_CLOEXEC | EFD_NONBLOCK`).
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: plain system call; the returned descriptor is new and ours.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `fd` was just returned by eventfd and nobody else owns it.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Adds one to the counter, making the eventfd readable. A counter already at its maximum
    /// (`EAGAIN`) is already signalled, so that is success too; `EINTR` is retried.
    pub(crate) fn signal(&self) -> io::Result<()> {
        let one: u64 = 1;
        // SAFETY: `one` is 8 readable bytes, the size an eventfd write takes.
        let r = cvt_retry_size(|| unsafe {
            libc::write(
                self.0.as_raw_fd(),
                (&one as *const u64).cast(),
                size_of::<u64>(),
            )
        });
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for EventFd {
    /// The eventfd, to wait on or to hand to the other process.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Waits while the futex word `word` holds `expected`, for at most `timeout`: returns when
/// woken, at once if the word holds another value, at the timeout, or on a signal. The word may
/// be in memory another process maps (no `FUTEX_PRIVATE_FLAG`: the kernel finds the waiters
/// by the page, whoever maps it).
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a live, aligned 32-bit word (an atomic: the kernel reads it as one),
    // `ts` a valid relative timeout; FUTEX_WAIT only reads them. Every outcome (woken,
    // EAGAIN, ETIMEDOUT, EINTR) means "look again", so the result is not needed.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        )
    };
}

/// Wakes every thread waiting on the futex word `word`, in any process that maps it.
pub(crate) fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, aligned 32-bit word; FUTEX_WAKE does not access its value (the
    // address names the futex). It cannot fail for a valid address.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            libc::c_int::MAX,
        )
    };
}

/// `timeout` in whole milliseconds for poll, rounded up (a wait never ends before its time)
/// and capped at the longest poll takes; `-1` (no limit) for `None`.
fn poll_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        Some(t) => t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int,
        None => -1,
    }
}

/// Waits until one of `fds` is readable (or hung up, or in error) or `timeout` passes
/// (`None`: no limit): the index of the first such descriptor in `fds`, or `None` on timeout.
/// A signal does not end the wait early: it goes on for what is left of `timeout`.
///
/// # Errors
/// `InvalidInput` for no descriptors and no timeout (a wait nothing could end); otherwise the
/// OS error of `poll`.
pub(crate) fn wait_any<const N: usize>(
    fds: &[BorrowedFd<'_>; N],
    timeout: Option<Duration>,
) -> io::Result<Option<usize>> {
    if N == 0 && timeout.is_none() {
        return Err(invalid("wait_any needs a descriptor or a timeout"));
    }
    // On the stack: the watcher calls this for every ring.
    let mut pfds: [libc::pollfd; N] = core::array::from_fn(|i| libc::pollfd {
        fd: fds[i].as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    // A deadline too far to represent is no deadline.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // SAFETY: `pfds` holds `pfds.len()` valid pollfds, whose descriptors are borrowed and
        // so open.
        let r = cvt(unsafe {
            libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, poll_ms(left))
        });
        match r {
            Ok(0) => {
                // Over only at the deadline: a timeout above poll's longest was capped.
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
            }
            // Any event counts: POLLIN, and POLLHUP and POLLERR, which poll reports whatever
            // was asked (a wait for them would otherwise spin).
            Ok(_) => {
                if let Some(i) = pfds.iter().position(|p| p.revents != 0) {
                    return Ok(Some(i));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `CMSG_SPACE(bytes)`: the room a control message with `bytes` of data takes in a buffer.
fn cmsg_space(bytes: usize) -> usize {
    // SAFETY: CMSG_SPACE is arithmetic on its argument; it touches no memory.
    unsafe { libc::CMSG_SPACE(bytes as libc::c_uint) as usize }
}

/// `CMSG_LEN(bytes)`: the `cmsg_len` of a control message with `bytes` of data.
fn cmsg_len(bytes: usize) -> usize {
    // SAFETY: CMSG_LEN is arithmetic on its argument; it touches no memory.
    unsafe { libc::CMSG_LEN(bytes as libc::c_uint) as usize }
}

/// A zeroed control buffer of at least `bytes` bytes, aligned for `cmsghdr` (it is made of
/// them) as the `CMSG_*` macros require.
fn control_buffer(bytes: usize) -> Vec<libc::cmsghdr> {
    // SAFETY: cmsghdr is plain data; all zeroes is a valid value.
    let zero: libc::cmsghdr = unsafe { zeroed() };
    vec![zero; bytes.div_ceil(size_of::<libc::cmsghdr>())]
}

/// Sends all of `data` on the connected Unix socket `sock`, with `fds` as one `SCM_RIGHTS`
/// control message (none if `fds` is empty), in one `sendmsg` (`MSG_NOSIGNAL`: a peer that has
/// gone is `EPIPE`, not a signal). The receiver gets duplicates of the descriptors; ours stay
/// open. `EINTR` before anything was sent is retried.
///
/// # Errors
/// `InvalidInput` if `data` is empty (the descriptors travel with its first byte) or there are
/// more than 253 descriptors; an error if the socket took only part of `data` (the descriptors
/// went with that part); otherwise the OS error (`WouldBlock` on a full non-blocking socket).
pub(crate) fn send_with_fds(
    sock: BorrowedFd<'_>,
    data: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<()> {
    if data.is_empty() {
        return Err(invalid(
            "send_with_fds needs at least one byte of data (the descriptors travel with it)",
        ));
    }
    if fds.len() > SCM_MAX_FD {
        return Err(invalid(format!(
            "{} descriptors in one message; the kernel takes at most {SCM_MAX_FD}",
            fds.len()
        )));
    }
    let fd_bytes = fds.len() * size_of::<RawFd>();
    let mut control = if fds.is_empty() {
        Vec::new()
    } else {
        control_buffer(cmsg_space(fd_bytes))
    };
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; all zeroes is a valid value (no name, no control) and
    // clears the padding fields some C libraries have.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = cmsg_space(fd_bytes) as _;
        // SAFETY: msg_control points at a buffer of at least msg_controllen bytes (made for
        // it above), aligned for cmsghdr, so the first header is in it.
        let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        debug_assert!(!cmsg.is_null());
        // SAFETY: `cmsg` is the first header of the buffer, which has room for the header
        // and `fd_bytes` of data after it (CMSG_SPACE); the fds are copied as bytes, so their
        // alignment does not matter.
        unsafe {
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = cmsg_len(fd_bytes) as _;
            let dst = libc::CMSG_DATA(cmsg);
            for (i, fd) in fds.iter().enumerate() {
                let raw: RawFd = fd.as_raw_fd();
                ptr::copy_nonoverlapping(
                    (&raw as *const RawFd).cast::<u8>(),
                    dst.add(i * size_of::<RawFd>()),
                    size_of::<RawFd>(),
                );
            }
        }
    }
    // SAFETY: `msg` names one iovec over `data` and, if any, the control buffer filled above;
    // all outlive the call, and sendmsg only reads them.
    let n =
        cvt_retry_size(|| unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) })?;
    if n != data.len() {
        return Err(io::Error::other(format!(
            "the socket took {n} of {} bytes of a message with descriptors",
            data.len()
        )));
    }
    Ok(())
}

/// Receives into `buf` from the Unix socket `sock`, which a process that is **not trusted**
/// writes, with at most `max_fds` descriptors: `(bytes, descriptors)`, the descriptors
/// close-on-exec (`MSG_CMSG_CLOEXEC`) and owned by the caller. `(0, [])` is the end of the
/// stream. `EINTR` is retried; a non-blocking socket with nothing to read is `WouldBlock`.
///
/// Whatever the peer sent, no descriptor is left open behind the caller's back: on any error
/// every descriptor that arrived is closed, and control messages other than `SCM_RIGHTS`
/// (credentials, security labels, a pidfd the kernel adds for `SO_PASSPIDFD`, which is closed)
/// are skipped.
///
/// # Errors
/// `InvalidInput` if `buf` is empty; `InvalidData` if the peer sent more than `max_fds`
/// descriptors, if the control data was truncated (more descriptors than fit, or this process
/// at its descriptor limit: the kernel closes what it could not deliver) or if a datagram was
/// longer than `buf`; otherwise the OS error.
pub(crate) fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    max_fds: usize,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    recv_with_fds_flags(sock, buf, max_fds, 0)
}

/// [`recv_with_fds`] with `flags` for `recvmsg` besides `MSG_CMSG_CLOEXEC` (`MSG_DONTWAIT`:
/// `WouldBlock` instead of waiting when nothing is queued).
pub(crate) fn recv_with_fds_flags(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    max_fds: usize,
    flags: libc::c_int,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    if buf.is_empty() {
        return Err(invalid(
            "recv_with_fds needs a non-empty buffer (an empty read cannot tell the end of the \
             stream)",
        ));
    }
    // Room for one descriptor beyond the limit, so that one too many is told apart from a
    // truncation, and for the other control messages the socket's options may add.
    let wanted = max_fds.min(SCM_MAX_FD) + 1;
    let control_len = cmsg_space(wanted * size_of::<RawFd>()) + CONTROL_SPARE;
    let mut control = control_buffer(control_len);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    let n = cvt_retry_size(|| {
        // Reset on each try: a call the kernel interrupted may have changed them.
        msg.msg_controllen = control_len as _;
        msg.msg_flags = 0;
        // SAFETY: `msg` names one iovec over `buf` and a control buffer of `control_len`
        // bytes, aligned for cmsghdr; both outlive the call.
        unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC | flags) }
    })?;

    // Take ownership of every descriptor that arrived before judging anything, so that each
    // is closed on every path that does not hand it to the caller.
    let mut fds = Vec::new();
    let mut stray = Vec::new();
    let control_start = control.as_ptr() as usize;
    let control_end = control_start + (msg.msg_controllen as usize).min(control_len);
    // SAFETY: after recvmsg, msg_control and msg_controllen describe the control data the
    // kernel wrote into our buffer.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR and CMSG_NXTHDR return only headers that lie inside the
        // control data, and the buffer is aligned for cmsghdr.
        let (level, kind, len) = unsafe {
            (
                (*cmsg).cmsg_level,
                (*cmsg).cmsg_type,
                (*cmsg).cmsg_len as usize,
            )
        };
        // SAFETY: the data of a header inside the buffer starts inside or just past it.
        let data = unsafe { libc::CMSG_DATA(cmsg) };
        // The data the header claims, clipped to the control data (the kernel writes these
        // headers, but a bad length must still not read outside the buffer).
        let data_len = len
            .saturating_sub(cmsg_len(0))
            .min(control_end.saturating_sub(data as usize));
        let carries_fds =
            level == libc::SOL_SOCKET && (kind == libc::SCM_RIGHTS || kind == SCM_PIDFD);
        if carries_fds {
            for i in 0..data_len / size_of::<RawFd>() {
                // SAFETY: `i` indexes a whole int inside the control data; read unaligned as
                // CMSG_DATA promises no alignment for it.
                let raw = unsafe {
                    ptr::read_unaligned(data.add(i * size_of::<RawFd>()).cast::<RawFd>())
                };
                if raw < 0 {
                    continue;
                }
                // SAFETY: the kernel installed `raw` in this process for this message; nothing
                // else knows of it, so it is ours to own (and close).
                let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                if kind == libc::SCM_RIGHTS {
                    fds.push(fd);
                } else {
                    stray.push(fd);
                }
            }
        }
        // SAFETY: `cmsg` is a header inside the control data described by `msg`.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    drop(stray);

    let peer_error = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(peer_error(format!(
            "the peer's control data was truncated (more than {max_fds} descriptors, or this \
             process is at its descriptor limit); the {} that arrived are closed",
            fds.len()
        )));
    }
    if fds.len() > max_fds {
        return Err(peer_error(format!(
            "the peer sent {} descriptors, over the {max_fds} expected; all are closed",
            fds.len()
        )));
    }
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Err(peer_error(format!(
            "the peer's message was longer than the {}-byte buffer",
            buf.len()
        )));
    }
    if n == 0 {
        return Ok((0, Vec::new()));
    }
    Ok((n, fds))
}

#[cfg(all(test, not(miri)))]
// Not under Miri: memfds, eventfds, futexes and descriptor passing are system
// calls its isolation refuses (CI runs the library's tests there).
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn page() -> usize {
        page_size()
    }

    /// A second, independent descriptor for `fd`'s open file.
    fn dup(fd: BorrowedFd<'_>) -> OwnedFd {
        fd.try_clone_to_owned().unwrap()
    }

    /// The word at `offset` of `region`, as an atomic.
    fn word(region: &Region, offset: usize) -> &AtomicU64 {
        assert!(offset + 8 <= region.len() && offset % 8 == 0);
        // SAFETY: in bounds and aligned (checked above; the mapping is page-aligned), and
        // every access to the shared memory in these tests is atomic.
        unsafe { &*region.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// A memfd that nobody sealed, `len` bytes long, with `seals` added.
    fn memfd_with_seals(len: usize, seals: libc::c_int) -> OwnedFd {
        let fd = memfd_create(&CString::new("ringpipe-test").unwrap()).unwrap();
        // SAFETY: plain system calls on a descriptor we own.
        unsafe {
            cvt(libc::ftruncate(fd.as_raw_fd(), len as libc::off_t)).unwrap();
            if seals != 0 {
                cvt(libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals)).unwrap();
            }
        }
        fd
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        crate::ipc::fd::pipe().unwrap()
    }

    fn assert_refused<T: fmt::Debug>(r: io::Result<T>, needle: &str) {
        let e = r.expect_err("should have been refused");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
    }

    /// Whether every copy of a pipe's write end is closed: its read end reports a hang-up
    /// (within a generous time, so a descriptor a parallel test's fork holds until exec does
    /// not fail the test).
    fn write_end_closed(read: &OwnedFd) -> bool {
        let mut pfd = libc::pollfd {
            fd: read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 10_000) };
        n == 1 && pfd.revents & libc::POLLHUP != 0
    }

    /// Resets `ev`'s counter to zero without waiting; `true` if it was signalled (above zero).
    /// An eventfd we own fails a read only with `EAGAIN` (not signalled) or `EINTR`
    /// (retried); any other error counts as not signalled.
    fn drain(ev: &EventFd) -> bool {
        let mut count: u64 = 0;
        // SAFETY: `count` is 8 writable bytes, the size an eventfd read takes.
        let r = cvt_retry_size(|| unsafe {
            libc::read(
                ev.as_fd().as_raw_fd(),
                (&mut count as *mut u64).cast(),
                size_of::<u64>(),
            )
        });
        matches!(r, Ok(n) if n == size_of::<u64>())
    }

    /// The 32-bit word at `offset` of `region` (a futex word).
    fn word32(region: &Region, offset: usize) -> &AtomicU32 {
        assert!(offset + 4 <= region.len() && offset % 4 == 0);
        // SAFETY: as for `word`.
        unsafe { &*region.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    #[test]
    fn a_futex_wait_is_woken_through_another_mapping_and_bounded_otherwise() {
        let a = Region::create("ringpipe-test", page()).unwrap();
        let b = Region::open(dup(a.fd()), page()).unwrap();
        let (wa, wb) = (word32(&a, 64), word32(&b, 64));
        // A word that no longer holds the expected value: no wait at all.
        wa.store(5, Ordering::Relaxed);
        let t = Instant::now();
        futex_wait(wa, 4, Duration::from_secs(10));
        assert!(t.elapsed() < Duration::from_secs(5));
        // Nobody wakes it: it ends at its bound.
        let t = Instant::now();
        futex_wait(wa, 5, Duration::from_millis(30));
        assert!(t.elapsed() >= Duration::from_millis(30));
        // Woken through the other mapping of the page (as by the other process): well before
        // its bound.
        let t = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                while wa.load(Ordering::Relaxed) == 5 {
                    futex_wait(wa, 5, Duration::from_secs(20));
                }
            });
            std::thread::sleep(Duration::from_millis(50));
            wb.store(7, Ordering::Relaxed);
            futex_wake(wb);
        });
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[test]
    fn two_mappings_of_one_memfd_share_memory() {
        let a = Region::create("ringpipe-test", 2 * page()).unwrap();
        let b = Region::open(dup(a.fd()), 2 * page()).unwrap();
        assert_eq!(b.len(), 2 * page());
        assert_ne!(a.as_ptr(), b.as_ptr(), "two mappings");
        assert_eq!(word(&b, 0).load(Ordering::Relaxed), 0, "zeroed");
        word(&a, 8).store(0xfeed, Ordering::Release);
        assert_eq!(word(&b, 8).load(Ordering::Acquire), 0xfeed);
        let last = 2 * page() - 8;
        word(&b, last).store(7, Ordering::Release);
        assert_eq!(word(&a, last).load(Ordering::Acquire), 7);
        // The memory outlives either mapping.
        drop(a);
        assert_eq!(word(&b, 8).load(Ordering::Acquire), 0xfeed);
    }

    #[test]
    fn create_seals_and_checks_its_arguments() {
        let r = Region::create("sealed", page()).unwrap();
        // SAFETY: F_GET_SEALS takes no argument.
        let seals = unsafe { libc::fcntl(r.fd().as_raw_fd(), libc::F_GET_SEALS) };
        assert_eq!(seals & REQUIRED_SEALS, REQUIRED_SEALS);
        // SAFETY: plain system call; it must fail.
        let rc = unsafe { libc::ftruncate(r.fd().as_raw_fd(), 0) };
        assert_eq!(rc, -1, "a sealed memfd cannot shrink");
        assert_refused(Region::create("x", 0), "page size");
        assert_refused(Region::create("x", page() + 1), "page size");
        assert_refused(Region::create("a\0b", page()), "NUL");
        assert_refused(Region::create(&"n".repeat(250), page()), "249");
        // The name is not a file anywhere.
        assert!(!std::path::Path::new("/dev/shm/sealed").exists());
    }

    #[test]
    fn open_refuses_what_is_unsafe_to_map() {
        let len = page();
        assert_refused(Region::open(memfd_with_seals(len, 0), len), "not sealed");
        // One seal missing is enough to refuse.
        let no_grow = libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
        assert_refused(Region::open(memfd_with_seals(len, no_grow), len), "growing");
        let no_seal = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
        assert_refused(
            Region::open(memfd_with_seals(len, no_seal), len),
            "its seals",
        );
        // Sealed against writes: cannot be shared read-write.
        let write_sealed = REQUIRED_SEALS | libc::F_SEAL_FUTURE_WRITE;
        assert_refused(
            Region::open(memfd_with_seals(len, write_sealed), len),
            "writing",
        );
        // The wrong size, either way.
        let r = Region::create("size", 2 * len).unwrap();
        assert_refused(Region::open(dup(r.fd()), len), "not the");
        assert_refused(Region::open(dup(r.fd()), 4 * len), "not the");
        assert_refused(Region::open(dup(r.fd()), 0), "page size");
        // A read-only descriptor of a good memfd (reopened through /proc).
        let path = CString::new(format!("/proc/self/fd/{}", r.fd().as_raw_fd())).unwrap();
        // SAFETY: a valid C string; the returned descriptor is new and ours.
        let ro =
            cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }).unwrap();
        // SAFETY: just opened.
        let ro = unsafe { OwnedFd::from_raw_fd(ro) };
        assert_refused(Region::open(ro, 2 * len), "reading and writing");
        // Not a memfd: a pipe, an eventfd, a regular file.
        let (read, _write) = pipe();
        assert_refused(Region::open(read, len), "a pipe, not a memfd");
        let ev = EventFd::new().unwrap();
        assert_refused(Region::open(dup(ev.as_fd()), len), "not a memfd");
        let path = std::env::temp_dir().join(format!("ringpipe-shm-test-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(len as u64).unwrap();
        std::fs::remove_file(&path).unwrap();
        // On a disk file system the seal query fails; on tmpfs it succeeds with F_SEAL_SEAL
        // alone (a file that was never a memfd cannot be sealed).
        let e = Region::open(OwnedFd::from(file), len).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(
            e.to_string().contains("cannot be sealed") || e.to_string().contains("not sealed"),
            "{e}"
        );
    }

    #[test]
    fn eventfd_signal_drain_and_wait() {
        let ev = EventFd::new().unwrap();
        let other = EventFd::new().unwrap();
        assert!(!drain(&ev), "starts unsignalled");
        let t = Duration::from_millis(30);
        let begin = Instant::now();
        assert_eq!(
            wait_any(&[other.as_fd(), ev.as_fd()], Some(t)).unwrap(),
            None
        );
        assert!(begin.elapsed() >= t, "no early timeout");
        ev.signal().unwrap();
        ev.signal().unwrap();
        let long = Some(Duration::from_secs(10));
        assert_eq!(
            wait_any(&[other.as_fd(), ev.as_fd()], long).unwrap(),
            Some(1)
        );
        assert!(drain(&ev));
        assert!(!drain(&ev), "drained by one read");
        assert_eq!(wait_any(&[ev.as_fd()], Some(Duration::ZERO)).unwrap(), None);
        // From another thread, while waiting.
        let waker = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                other.signal().unwrap();
            });
            wait_any(&[ev.as_fd(), other.as_fd()], long).unwrap()
        });
        assert_eq!(waker, Some(1));
        // A saturated counter still signals (EAGAIN is success).
        let max: u64 = u64::MAX - 1;
        // SAFETY: 8 readable bytes.
        let n = unsafe { libc::write(ev.as_fd().as_raw_fd(), (&max as *const u64).cast(), 8) };
        assert_eq!(n, 8);
        ev.signal().unwrap();
        assert!(drain(&ev));
        // Nothing to wait on and no limit is refused; no descriptors and a limit is a sleep.
        assert_refused(wait_any(&[], None), "timeout");
        assert_eq!(wait_any(&[], Some(Duration::from_millis(1))).unwrap(), None);
    }

    #[test]
    fn descriptors_pass_over_a_socket_and_work() {
        let (a, b) = UnixStream::pair().unwrap();
        let region = Region::create("passed", page()).unwrap();
        let ev = EventFd::new().unwrap();
        send_with_fds(a.as_fd(), b"hello", &[region.fd(), ev.as_fd()]).unwrap();
        let mut buf = [0u8; 64];
        let (n, fds) = recv_with_fds(b.as_fd(), &mut buf, 4).unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(fds.len(), 2);
        for fd in &fds {
            // SAFETY: F_GETFD takes no argument.
            let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert_ne!(fl & libc::FD_CLOEXEC, 0, "close-on-exec");
        }
        let mut fds = fds.into_iter();
        let theirs = Region::open(fds.next().unwrap(), page()).unwrap();
        let their_ev = EventFd(fds.next().unwrap());
        word(&theirs, 16).store(42, Ordering::Release);
        their_ev.signal().unwrap();
        assert_eq!(
            wait_any(&[ev.as_fd()], Some(Duration::from_secs(10))).unwrap(),
            Some(0)
        );
        assert!(drain(&ev));
        assert_eq!(word(&region, 16).load(Ordering::Acquire), 42);

        // Data without descriptors; no descriptors accepted.
        send_with_fds(a.as_fd(), b"plain", &[]).unwrap();
        let (n, fds) = recv_with_fds(b.as_fd(), &mut buf, 0).unwrap();
        assert_eq!((&buf[..n], fds.len()), (&b"plain"[..], 0));

        assert_refused(send_with_fds(a.as_fd(), b"", &[ev.as_fd()]), "one byte");
        let many = vec![ev.as_fd(); 254];
        assert_refused(send_with_fds(a.as_fd(), b"x", &many), "253");
        assert_refused(recv_with_fds(b.as_fd(), &mut [], 1), "non-empty");

        // The end of the stream.
        drop(a);
        let (n, fds) = recv_with_fds(b.as_fd(), &mut buf, 4).unwrap();
        assert_eq!((n, fds.len()), (0, 0));
    }

    #[test]
    fn too_many_descriptors_are_all_closed() {
        // Each descriptor sent is a copy of a pipe's write end: once the sender's copies are
        // closed, the read end hangs up only if the receiver kept none.
        for (sent, max_fds) in [
            (2, 1),
            (3, 0),
            (5, 2),
            (60, 3),
            (253, 252),
            (253, 3),
            (200, 0),
        ] {
            let (a, b) = UnixStream::pair().unwrap();
            let (read, write) = pipe();
            let copies = vec![write.as_fd(); sent];
            send_with_fds(a.as_fd(), b"fds", &copies).unwrap();
            drop(write);
            let mut buf = [0u8; 16];
            let e = recv_with_fds(b.as_fd(), &mut buf, max_fds).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
            assert!(e.to_string().contains("closed"), "{e}");
            assert!(
                write_end_closed(&read),
                "{sent} sent, {max_fds} allowed: a descriptor leaked"
            );
        }
        // Exactly the limit is fine.
        let (a, b) = UnixStream::pair().unwrap();
        let ev = EventFd::new().unwrap();
        send_with_fds(a.as_fd(), b"ok", &[ev.as_fd(); 3]).unwrap();
        let (n, fds) = recv_with_fds(b.as_fd(), &mut [0u8; 8], 3).unwrap();
        assert_eq!((n, fds.len()), (2, 3));
    }

    /// The descriptors open in this process.
    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }

    #[test]
    fn other_control_messages_are_skipped_without_leaks() {
        let (a, b) = UnixStream::pair().unwrap();
        let on: libc::c_int = 1;
        let set = |opt| {
            // SAFETY: an int option of the size passed.
            cvt(unsafe {
                libc::setsockopt(
                    b.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&on as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                )
            })
        };
        set(libc::SO_PASSCRED).unwrap();
        // SO_PASSPIDFD (Linux 6.5; not in libc yet): each message then carries a pidfd of the
        // sender, which must be closed. Older kernels refuse the option; credentials alone then.
        const SO_PASSPIDFD: libc::c_int = 76;
        let pidfds = set(SO_PASSPIDFD).is_ok();
        let (read, write) = pipe();
        let rounds = 200;
        let before = open_fds();
        for _ in 0..rounds {
            send_with_fds(a.as_fd(), b"c", &[write.as_fd()]).unwrap();
            let (n, fds) = recv_with_fds(b.as_fd(), &mut [0u8; 4], 1).unwrap();
            assert_eq!((n, fds.len()), (1, 1));
            drop(fds);
            // Without descriptors, the credentials (and pidfd) still come.
            send_with_fds(a.as_fd(), b"d", &[]).unwrap();
            let (n, fds) = recv_with_fds(b.as_fd(), &mut [0u8; 4], 0).unwrap();
            assert_eq!((n, fds.len()), (1, 0));
        }
        // Parallel tests open and close a few descriptors meanwhile; a leak here would be one
        // or two per round.
        let after = open_fds();
        assert!(
            after < before + rounds / 2,
            "{before} descriptors before, {after} after (pidfds: {pidfds})"
        );
        drop(write);
        assert!(write_end_closed(&read));
    }
}
