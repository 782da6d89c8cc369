//! Helpers for the tests over real sockets: the byte a stream carries at each position, a
//! close that resets the connection, and descriptors passed by hand (`SCM_RIGHTS`).

use super::rng::splitmix64;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The byte at position `i` of a test stream: a hash of the position, so a byte lost,
/// repeated or moved shows up at once (a short periodic pattern can hide a shift by its period).
pub fn stream_byte(i: usize) -> u8 {
    (splitmix64(i as u64 >> 3) >> ((i & 7) * 8)) as u8
}

/// Sets `SO_LINGER` to zero seconds on `socket`, so that closing it sends a reset (RST)
/// instead of an orderly FIN: what a crashed or hostile peer looks like.
pub fn reset_on_close(socket: &impl AsRawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a `linger` of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER): {}",
        io::Error::last_os_error()
    );
}

/// A fresh socket path (`<tag>-<n>`) in a directory of this test process under the system's
/// temporary directory, for tests that bind named pipes.
pub fn fresh_path(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("ringpipe-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{tag}-{}", N.fetch_add(1, Ordering::Relaxed)))
}

/// Receives one message on `sock` into `buf` with the descriptors attached to it
/// (`SCM_RIGHTS`, at most `max_fds` of them, close-on-exec): a plain `recvmsg`, for the tests
/// whose peers do by hand what ringpipe does. `(0, [])` at the end of the stream.
///
/// # Panics
/// If `max_fds` is over 16.
pub fn recv_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    max_fds: usize,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    assert!(max_fds <= 16, "recv_fds: at most 16 descriptors");
    // Aligned for cmsghdr, room for 16 descriptors and a spare header.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    let room = unsafe { libc::CMSG_SPACE((max_fds * std::mem::size_of::<RawFd>()) as u32) };
    msg.msg_controllen = room as _;
    let n = loop {
        // SAFETY: `msg` names one iovec over `buf` and `room` bytes of `control` (at most 128,
        // its size), both alive for the call.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    // SAFETY: after recvmsg, `msg` describes the control data the kernel wrote into `control`.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR and CMSG_NXTHDR return only headers inside the control data.
        let (level, kind, len) = unsafe {
            (
                (*cmsg).cmsg_level,
                (*cmsg).cmsg_type,
                (*cmsg).cmsg_len as usize,
            )
        };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: as above; CMSG_LEN only computes a size.
            let (data, head) = unsafe { (libc::CMSG_DATA(cmsg), libc::CMSG_LEN(0) as usize) };
            for i in 0..len.saturating_sub(head) / std::mem::size_of::<RawFd>() {
                // SAFETY: `i` indexes a whole descriptor inside this header's data.
                let raw = unsafe {
                    std::ptr::read_unaligned(
                        data.add(i * std::mem::size_of::<RawFd>()).cast::<RawFd>(),
                    )
                };
                // SAFETY: the kernel installed `raw` in this process for this message: ours.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: `cmsg` is a header inside the control data described by `msg`.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok((n, fds))
}

/// Sends `bytes` on `sock` with `fds` attached (`SCM_RIGHTS`, at most 16), with `flags`
/// besides `MSG_NOSIGNAL` (a closed peer is `EPIPE`, not a signal). Returns the bytes sent.
pub fn send_fds(
    sock: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
    flags: libc::c_int,
) -> io::Result<usize> {
    assert!(fds.len() <= 16, "send_fds: at most 16 descriptors");
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data; all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let data_len = std::mem::size_of_val(fds) as u32;
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE only computes a size (at most 128 bytes for 16 descriptors).
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(data_len) } as _;
        // SAFETY: the control buffer holds one header and its data (CMSG_SPACE above), aligned
        // for cmsghdr; CMSG_FIRSTHDR points at its start.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(data_len) as _;
            let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
            for (i, fd) in fds.iter().enumerate() {
                std::ptr::write_unaligned(data.add(i), fd.as_raw_fd());
            }
        }
    }
    // SAFETY: `msg` names one iovec over `bytes` and the control data above, alive for the call.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL | flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}
