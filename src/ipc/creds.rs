//! [`PeerCredentials`]: who is at the other end of a local connection, as the kernel says.

use super::sys;
use std::io;
use std::os::fd::RawFd;

/// The process at the other end of a connection, as the kernel recorded it (`SO_PEERCRED`):
/// for a server's connection, the client when it connected; for a client's, the server when
/// it started listening. The ids cannot be forged by the peer. The pid can outlive its
/// process: the peer may have exited since, and its pid been reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    /// The peer's process id.
    pub pid: i32,
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
}

impl PeerCredentials {
    /// The credentials of the peer of the connected socket `fd`.
    pub(crate) fn of(fd: RawFd) -> io::Result<PeerCredentials> {
        let c = sys::peer_credentials(fd)?;
        Ok(PeerCredentials {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        })
    }

    /// `Ok` if the peer runs as this process's effective user, else `PermissionDenied` naming
    /// both (the `current_user_only` check). `who` is "client" or "server".
    pub(crate) fn require_current_user(&self, who: &str) -> io::Result<()> {
        let me = sys::euid();
        if self.uid == me {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the {who} (pid {}) runs as uid {}, not as this process's uid {me}; \
                 refused by current_user_only",
                self.pid, self.uid
            ),
        ))
    }
}
