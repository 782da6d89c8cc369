//! Helpers for the tests over real sockets: the byte a stream carries at each position, and a
//! close that resets the connection.

use super::rng::splitmix64;
use std::os::fd::AsRawFd;

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
        std::io::Error::last_os_error()
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
