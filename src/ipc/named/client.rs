//! [`NamedPipeClient`] (.NET `NamedPipeClientStream` on Unix): connect to a named pipe now, or
//! wait for its server to appear, without spinning.
//!
//! Waiting: before its first attempt, the client watches the socket's directory with inotify
//! (entries created, renamed in, or changed); after each failed attempt (no file, or a stale
//! file nobody listens on) it sleeps in `poll(2)` until the directory changes or the timeout
//! ends. A server appears by renaming its listening socket into place (see the server's
//! docs), which the watch sees. A full backlog (the server accepts too slowly) is waited out
//! in the kernel, bounded by what is left of the timeout. No CPU is burnt meanwhile. Abstract
//! names have no directory to watch: the client retries at growing intervals (1 ms, doubling up
//! to 50 ms).

use super::super::creds::PeerCredentials;
use super::super::sys;
use super::super::PipeDirection;
use super::name::PipeName;
use super::stream::NamedPipeStream;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// How a [`NamedPipeClient`] connects. Secure by default: a server of another user is
/// refused.
#[derive(Clone, Debug)]
pub struct NamedPipeClientOptions {
    direction: PipeDirection,
    current_user_only: bool,
}

impl Default for NamedPipeClientOptions {
    fn default() -> NamedPipeClientOptions {
        NamedPipeClientOptions {
            direction: PipeDirection::InOut,
            current_user_only: true,
        }
    }
}

impl NamedPipeClientOptions {
    /// The defaults: [`InOut`](PipeDirection::InOut), current user only.
    pub fn new() -> NamedPipeClientOptions {
        NamedPipeClientOptions::default()
    }

    /// Which way the connection carries data, seen from the client: `In` (it reads; its
    /// write side is shut down), `Out` (it writes), or both.
    pub fn direction(mut self, direction: PipeDirection) -> NamedPipeClientOptions {
        self.direction = direction;
        self
    }

    /// Refuse a server that runs as another user than this process (default on; .NET's
    /// `PipeOptions.CurrentUserOnly`), checked with the kernel's peer credentials of the
    /// listening socket.
    pub fn current_user_only(mut self, on: bool) -> NamedPipeClientOptions {
        self.current_user_only = on;
        self
    }
}

/// Connects to named pipe servers (.NET `NamedPipeClientStream.Connect`).
#[derive(Debug)]
pub struct NamedPipeClient(());

impl NamedPipeClient {
    /// Connects to the server at `name` now (waiting only while the server's backlog is
    /// full).
    ///
    /// # Errors
    /// `NotFound` if no server has the name, `ConnectionRefused` if only a stale socket does;
    /// `PermissionDenied` for a server of another user under `current_user_only`, or a socket
    /// we may not connect to; the OS error otherwise.
    pub fn connect(
        name: impl Into<PipeName>,
        options: &NamedPipeClientOptions,
    ) -> io::Result<NamedPipeStream> {
        let resolved = name.into().resolve(false)?;
        let fd = sys::unix_socket()?;
        sys::connect(&fd, &resolved.addr, None)?;
        finish(fd, options)
    }

    /// Connects to the server at `name`, waiting up to `timeout` for it to appear (and for
    /// room in its backlog) without spinning: see the module docs.
    ///
    /// # Errors
    /// `TimedOut` when the time is up, naming what the last attempt found; otherwise as
    /// [`connect`](Self::connect).
    pub fn connect_timeout(
        name: impl Into<PipeName>,
        options: &NamedPipeClientOptions,
        timeout: Duration,
    ) -> io::Result<NamedPipeStream> {
        let name = name.into();
        let deadline = Instant::now() + timeout;
        let resolved = name.resolve(false)?;
        // Watch first, then try: a server that appears between a failed attempt and the
        // wait is seen.
        let watch = match resolved.path.as_deref().and_then(Path::parent) {
            Some(dir) => watch_dir(dir)?,
            None => None,
        };
        let mut backoff = Duration::from_millis(1);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let fd = sys::unix_socket()?;
            let err = match sys::connect(&fd, &resolved.addr, Some(left)) {
                Ok(()) => return finish(fd, options),
                Err(e) => e,
            };
            let waitable = matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            );
            let left = deadline.saturating_duration_since(Instant::now());
            if !waitable || left.is_zero() {
                if waitable || err.kind() == io::ErrorKind::TimedOut {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no server took the connection to {name:?} within {timeout:?} (last attempt: {err})"),
                    ));
                }
                return Err(err);
            }
            match &watch {
                Some(w) => {
                    if sys::wait_readable(w.as_fd(), Some(left))? {
                        sys::drain(w);
                    }
                }
                None => {
                    std::thread::sleep(backoff.min(left));
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
            }
        }
    }

    /// [`connect_timeout`](Self::connect_timeout) from async code (feature `tokio`): the wait
    /// runs on tokio's blocking pool (asleep in `poll(2)`, not spinning), so the runtime's
    /// workers stay free. Dropping the future leaves that wait to end by itself within
    /// `timeout` (a connection it makes then is closed).
    ///
    /// # Errors
    /// As [`connect_timeout`](Self::connect_timeout).
    #[cfg(feature = "tokio")]
    pub async fn connect_async(
        name: impl Into<PipeName>,
        options: &NamedPipeClientOptions,
        timeout: Duration,
    ) -> io::Result<NamedPipeStream> {
        let (name, options) = (name.into(), options.clone());
        tokio::task::spawn_blocking(move || {
            NamedPipeClient::connect_timeout(name, &options, timeout)
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// An inotify descriptor watching `dir`; `None` if the directory does not exist (yet): the
/// caller then retries at intervals.
fn watch_dir(dir: &Path) -> io::Result<Option<OwnedFd>> {
    let ino = sys::inotify()?;
    match sys::inotify_watch_dir(&ino, dir.as_os_str()) {
        Ok(()) => Ok(Some(ino)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("watching {} for the server: {e}", dir.display()),
        )),
    }
}

/// Checks the server and sets the connection's direction.
fn finish(fd: OwnedFd, options: &NamedPipeClientOptions) -> io::Result<NamedPipeStream> {
    let socket = UnixStream::from(fd);
    let peer = PeerCredentials::of(socket.as_raw_fd())?;
    if options.current_user_only {
        peer.require_current_user("server")?;
    }
    match options.direction {
        PipeDirection::In => socket.shutdown(Shutdown::Write)?,
        PipeDirection::Out => socket.shutdown(Shutdown::Read)?,
        PipeDirection::InOut => {}
    }
    Ok(NamedPipeStream::new(socket, peer, None))
}
