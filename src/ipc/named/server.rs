//! [`NamedPipeServer`] (.NET `NamedPipeServerStream` on Unix, without its holes): a Unix
//! stream socket bound at a [`PipeName`], safe to start and to stop.
//!
//! How a server takes a name, under the name's bind lock (`lock.rs`):
//! 1. a new socket is given its file mode (`fchmod`, 0600 unless asked otherwise) **before**
//!    it is bound, so its file never has wider permissions than asked (`bind` may still take
//!    bits off by the umask, never add any);
//! 2. it is bound at a temporary name beside the final one, listens, and gets exactly the
//!    mode asked (the umask's bits back, on the file checked to be our socket);
//! 3. it is renamed to the final name only if nothing is there (`RENAME_NOREPLACE`), so the
//!    name only ever points at a socket that already listens: a client never finds a bound
//!    socket that refuses it;
//! 4. if something is there: anything but a socket is an error and is never touched; a socket
//!    that answers a probe belongs to a live server, and binding fails "in use" (no hijack);
//!    a socket that refuses the probe is stale (its server died) and is removed, then step 3
//!    runs again.
//!
//! A client's probe of a live server is a real connection that ends at once: the live server
//! accepts a connection that reads end-of-stream immediately.
//!
//! When the server is dropped, it removes its socket file if the file is still its own (same
//! device and inode, checked under the bind lock), never a successor's.

use super::super::creds::PeerCredentials;
use super::super::sys::{self, Probe};
use super::super::PipeDirection;
use super::lock::NameLock;
use super::name::{PipeName, Resolved};
use super::stream::NamedPipeStream;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::net::Shutdown;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How a [`NamedPipeServer`] serves. Secure by default: the socket file is mode 0600 and a
/// peer of another user is refused.
#[derive(Clone, Debug)]
pub struct NamedPipeServerOptions {
    direction: PipeDirection,
    mode: u32,
    current_user_only: bool,
    max_instances: Option<NonZeroUsize>,
    backlog: i32,
}

impl Default for NamedPipeServerOptions {
    fn default() -> NamedPipeServerOptions {
        NamedPipeServerOptions {
            direction: PipeDirection::InOut,
            mode: 0o600,
            current_user_only: true,
            max_instances: None,
            backlog: 128,
        }
    }
}

impl NamedPipeServerOptions {
    /// The defaults: [`InOut`](PipeDirection::InOut), mode 0600, current user only, any
    /// number of instances, a backlog of 128.
    pub fn new() -> NamedPipeServerOptions {
        NamedPipeServerOptions::default()
    }

    /// Which way the server's connections carry data, seen from the server: `In` (the server
    /// reads; its write side is shut down), `Out` (it writes; its read side is shut down), or
    /// both.
    pub fn direction(mut self, direction: PipeDirection) -> NamedPipeServerOptions {
        self.direction = direction;
        self
    }

    /// The socket file's permission bits (default 0600; only the write bits decide who may
    /// connect). Ignored for abstract names, which have no file.
    pub fn mode(mut self, mode: u32) -> NamedPipeServerOptions {
        self.mode = mode & 0o777;
        self
    }

    /// Refuse clients that run as another user than this process (default on; .NET's
    /// `PipeOptions.CurrentUserOnly`), checked with the kernel's peer credentials. A refused
    /// connection is closed and [`wait_for_connection`](NamedPipeServer::wait_for_connection)
    /// returns `PermissionDenied`; the server goes on.
    pub fn current_user_only(mut self, on: bool) -> NamedPipeServerOptions {
        self.current_user_only = on;
        self
    }

    /// At most `n` connections served at once (.NET's `maxNumberOfServerInstances`), counted
    /// across every process that serves this name (each connection holds a lock on a slot of
    /// the name's lock file). When all are busy,
    /// [`wait_for_connection`](NamedPipeServer::wait_for_connection) fails at once with
    /// "all instances busy" (`ResourceBusy`-like; see [`is_all_instances_busy`]). Default:
    /// no limit.
    pub fn max_instances(mut self, n: NonZeroUsize) -> NamedPipeServerOptions {
        self.max_instances = Some(n);
        self
    }

    /// The listen backlog: connections the kernel completes before the server accepts them.
    pub fn backlog(mut self, backlog: u32) -> NamedPipeServerOptions {
        self.backlog = backlog.min(i32::MAX as u32) as i32;
        self
    }
}

/// Whether `e` is the "all instances busy" error of a server at its
/// [`max_instances`](NamedPipeServerOptions::max_instances).
pub fn is_all_instances_busy(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<AllInstancesBusy>())
}

#[derive(Debug)]
struct AllInstancesBusy(usize);

impl std::fmt::Display for AllInstancesBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "all {} pipe instances are busy", self.0)
    }
}

impl std::error::Error for AllInstancesBusy {}

/// A named pipe server: a listening Unix socket at a [`PipeName`] (see the crate docs'
/// "Named pipes"). Accept connections with [`wait_for_connection`](Self::wait_for_connection)
/// (blocking) or `wait_for_connection_async` (feature `tokio`), as many as you like, from any
/// number of threads (`&self`).
#[derive(Debug)]
pub struct NamedPipeServer {
    listener: UnixListener,
    options: NamedPipeServerOptions,
    lock: NameLock,
    /// The socket file and its (device, inode), to remove it at the end if still ours.
    file: Option<(PathBuf, (u64, u64))>,
    #[cfg(feature = "tokio")]
    reactor: std::sync::OnceLock<tokio::net::UnixListener>,
}

/// Makes temporary names unique within the process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl NamedPipeServer {
    /// Binds `name` and listens (see the module docs for how a name is taken safely).
    ///
    /// # Errors
    /// `AddrInUse` if a live server has the name; `AlreadyExists` if something other than a
    /// socket is at its path (left untouched); `PermissionDenied` for a per-user directory
    /// that is not private, or a path we may not use; `InvalidInput` for a bad name; the OS
    /// error of any step otherwise, with the step named.
    pub fn bind(
        name: impl Into<PipeName>,
        options: NamedPipeServerOptions,
    ) -> io::Result<NamedPipeServer> {
        let name = name.into();
        let resolved = name.resolve(true)?;
        let lock = NameLock::open(&resolved.lock_path)?;
        let (fd, file) = {
            let _guard = lock.bind_guard()?;
            match &resolved.path {
                None => (bind_abstract(&resolved, &options, &name)?, None),
                Some(path) => {
                    let fd = bind_path(&resolved, path, &options)?;
                    let meta = fs::symlink_metadata(path)?;
                    (fd, Some((path.clone(), (meta.dev(), meta.ino()))))
                }
            }
        };
        let listener = UnixListener::from(fd);
        // Non-blocking: a blocking accept waits in poll(2) first, an async one in tokio's
        // reactor, and both retry when another thread took the connection.
        listener.set_nonblocking(true)?;
        Ok(NamedPipeServer {
            listener,
            options,
            lock,
            file,
            #[cfg(feature = "tokio")]
            reactor: std::sync::OnceLock::new(),
        })
    }

    /// Lets a child process serve this name too (a pre-forked server): `cmd` will give the
    /// child this server's listening socket (only that descriptor loses close-on-exec, in the
    /// child), and the returned handle, passed to the child by any means, opens it there with
    /// [`from_inherited`](Self::from_inherited). Parent and child then accept from the same
    /// queue, and [`max_instances`](NamedPipeServerOptions::max_instances) counts the
    /// connections of both.
    ///
    /// # Errors
    /// None today; kept for descriptor duplication in a later form.
    pub fn inherit_into(&self, cmd: &mut std::process::Command) -> io::Result<String> {
        use std::os::unix::process::CommandExt;
        let fd = self.listener.as_raw_fd();
        // SAFETY: the closure runs in the child between fork and exec and only calls fcntl,
        // which is async-signal-safe, on a descriptor number it captured by value.
        unsafe {
            cmd.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(fd.to_string())
    }

    /// The server a parent handed over with [`inherit_into`](Self::inherit_into), in the
    /// child: `handle` is the string it returned, `name` and `options` as the parent's (the
    /// name finds the lock file the instance slots live in). The child never removes the
    /// socket file; the parent's server does when it is dropped.
    ///
    /// # Errors
    /// `InvalidInput` if `handle` is not a descriptor number, or the descriptor is not a
    /// listening Unix stream socket; the name's errors as in [`bind`](Self::bind).
    ///
    /// # Safety
    /// The descriptor `handle` names must be the one the parent handed over, owned by nothing
    /// else in this process, and used once: the server takes ownership of it and closes it
    /// (the checks above catch a wrong number, not a descriptor another object owns).
    pub unsafe fn from_inherited(
        handle: &str,
        name: impl Into<PipeName>,
        options: NamedPipeServerOptions,
    ) -> io::Result<NamedPipeServer> {
        // SAFETY: delegated to the caller: the descriptor is ours alone.
        let fd = unsafe { sys::inherited_listener(handle)? };
        let resolved = name.into().resolve(true)?;
        let lock = NameLock::open(&resolved.lock_path)?;
        let listener = UnixListener::from(fd);
        listener.set_nonblocking(true)?;
        Ok(NamedPipeServer {
            listener,
            options,
            lock,
            file: None,
            #[cfg(feature = "tokio")]
            reactor: std::sync::OnceLock::new(),
        })
    }

    /// The socket file (`None` for an abstract name).
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }

    /// Waits for a client and returns the connection (.NET `WaitForConnection`). With
    /// [`max_instances`](NamedPipeServerOptions::max_instances), takes an instance slot first
    /// and fails at once if none is free.
    ///
    /// # Errors
    /// "all instances busy" ([`is_all_instances_busy`]); `PermissionDenied` for a client of
    /// another user under `current_user_only` (the server goes on: call again); the OS error
    /// of `accept`.
    pub fn wait_for_connection(&self) -> io::Result<NamedPipeStream> {
        let slot = self.take_slot()?;
        loop {
            match self.listener.accept() {
                Ok((socket, _)) => return self.admit(socket, slot),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    sys::wait_readable(self.listener.as_fd(), None)?;
                }
                Err(e) if retryable_accept(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The async form of [`wait_for_connection`](Self::wait_for_connection) (feature
    /// `tokio`). The first call registers the listening socket with the reactor of the
    /// runtime it runs on; call it from that runtime afterwards. Cancel-safe: dropping the
    /// future loses no connection.
    ///
    /// # Errors
    /// As [`wait_for_connection`](Self::wait_for_connection), and registering the socket
    /// outside a runtime.
    #[cfg(feature = "tokio")]
    pub async fn wait_for_connection_async(&self) -> io::Result<NamedPipeStream> {
        let slot = self.take_slot()?;
        let listener = match self.reactor.get() {
            Some(l) => l,
            None => {
                let l = tokio::net::UnixListener::from_std(self.listener.try_clone()?)?;
                // A race with another first call: one registration wins, the other is dropped.
                let _ = self.reactor.set(l);
                self.reactor.get().expect("set above")
            }
        };
        loop {
            match listener.accept().await {
                Ok((socket, _)) => {
                    let socket = socket.into_std()?;
                    socket.set_nonblocking(false)?;
                    return self.admit(socket, slot);
                }
                Err(e) if retryable_accept(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn take_slot(&self) -> io::Result<Option<super::lock::Slot>> {
        let Some(max) = self.options.max_instances else {
            return Ok(None);
        };
        match self.lock.take_slot(max.get())? {
            Some(slot) => Ok(Some(slot)),
            None => Err(io::Error::other(AllInstancesBusy(max.get()))),
        }
    }

    /// Checks the client and sets the connection's direction.
    fn admit(
        &self,
        socket: std::os::unix::net::UnixStream,
        slot: Option<super::lock::Slot>,
    ) -> io::Result<NamedPipeStream> {
        let peer = PeerCredentials::of(socket.as_raw_fd())?;
        if self.options.current_user_only {
            peer.require_current_user("client")?;
        }
        match self.options.direction {
            PipeDirection::In => socket.shutdown(Shutdown::Write)?,
            PipeDirection::Out => socket.shutdown(Shutdown::Read)?,
            PipeDirection::InOut => {}
        }
        Ok(NamedPipeStream::new(socket, peer, slot))
    }
}

/// Errors of `accept` that concern one connection, not the server.
fn retryable_accept(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EINTR | libc::EPROTO)
    )
}

/// A new socket with the options' mode, bound at `addr`, listening.
fn listening_socket(addr: &sys::UnixAddr, mode: Option<u32>, backlog: i32) -> io::Result<OwnedFd> {
    let fd = sys::unix_socket()?;
    if let Some(mode) = mode {
        sys::fchmod(&fd, mode)?;
    }
    sys::bind(&fd, addr)?;
    sys::listen(&fd, backlog)?;
    Ok(fd)
}

fn bind_abstract(
    resolved: &Resolved,
    options: &NamedPipeServerOptions,
    name: &PipeName,
) -> io::Result<OwnedFd> {
    listening_socket(&resolved.addr, None, options.backlog).map_err(|e| {
        if e.raw_os_error() == Some(libc::EADDRINUSE) {
            in_use(&format!("{name:?}"))
        } else {
            e
        }
    })
}

fn bind_path(
    resolved: &Resolved,
    path: &Path,
    options: &NamedPipeServerOptions,
) -> io::Result<OwnedFd> {
    // Step 2: listen at a temporary name in the same directory (same file system, so the
    // rename below is atomic).
    let file = path
        .file_name()
        .ok_or_else(|| sys::invalid("a socket path needs a file name"))?;
    let mut temp_file = OsString::from(".");
    temp_file.push(file);
    // Ordering: Relaxed; only uniqueness matters (the RMW gives every call its own value).
    temp_file.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = path.with_file_name(&temp_file);
    let temp_addr = Resolved::for_path(temp.clone())?;
    let fd = listening_socket(&temp_addr.addr, Some(options.mode), options.backlog)
        .map_err(|e| with_step(e, "binding", &temp))?;
    // `bind` took the umask's bits off the mode (never adding any: no wider window); put
    // back the ones the caller asked for, before the socket is reachable by its name.
    let result = sys::chmod_socket_nofollow(temp.as_os_str(), options.mode)
        .map_err(|e| with_step(e, "setting the mode of", &temp))
        .and_then(|()| take_name(&temp, path, resolved));
    // Whatever happened, the temporary name goes (after a successful rename it is gone).
    let _ = fs::remove_file(&temp);
    result.map(|()| fd)
}

/// Steps 3 and 4: rename `temp` to `path` unless a live server or a non-socket is there.
fn take_name(temp: &Path, path: &Path, resolved: &Resolved) -> io::Result<()> {
    // Twice at most: once, and once after removing a stale socket.
    for _ in 0..2 {
        match sys::rename_noreplace(temp.as_os_str(), path.as_os_str()) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(with_step(e, "renaming the socket to", path)),
        }
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(with_step(e, "examining", path)),
        };
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; it is left untouched",
                    path.display()
                ),
            ));
        }
        match sys::probe(&resolved.addr).map_err(|e| with_step(e, "probing", path))? {
            Probe::Alive => return Err(in_use(&path.display().to_string())),
            Probe::Missing => {}
            Probe::Refused => match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(with_step(e, "removing the stale socket", path)),
            },
        }
    }
    Err(in_use(&path.display().to_string()))
}

fn in_use(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("the pipe name {what} is in use by a live server"),
    )
}

fn with_step(e: io::Error, step: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{step} {}: {e}", path.display()))
}

impl Drop for NamedPipeServer {
    fn drop(&mut self) {
        let Some((path, id)) = &self.file else {
            return;
        };
        // Under the bind lock, so that a successor's socket, bound after our check, is not
        // the one removed.
        let Ok(_guard) = self.lock.bind_guard() else {
            return;
        };
        if let Ok(meta) = fs::symlink_metadata(path) {
            if (meta.dev(), meta.ino()) == *id {
                let _ = fs::remove_file(path);
            }
        }
    }
}
