//! Where a named pipe lives: [`PipeName`] and how it resolves to a socket address and a lock
//! file.
//!
//! * A plain name (`"jobs"`) lives in a per-user directory: `$XDG_RUNTIME_DIR/ringpipe/` when
//!   `$XDG_RUNTIME_DIR` is set (the session's private directory), else
//!   `$TMPDIR/ringpipe-<uid>/` (`/tmp` without `$TMPDIR`). The directory is created mode 0700
//!   and, before every use, checked to be a real directory (not a symbolic link) owned by this
//!   user and closed to everyone else: in a shared `/tmp`, another user could have made it
//!   first, and nothing of ours goes into a directory someone else controls.
//! * An absolute path is used as given.
//! * [`PipeName::dotnet`] is the path .NET uses on Unix, `$TMPDIR/CoreFxPipe_<name>` (a rooted
//!   name as given), so a .NET process and a ringpipe process can meet.
//! * [`PipeName::abstract_name`] is Linux's abstract namespace: no file, so no file
//!   permissions (anyone on the machine who can name it can connect; `current_user_only` is
//!   then the only guard), and nothing left behind.
//!
//! A path longer than `sun_path` takes (107 bytes) still works: the socket is bound and
//! connected through `/proc/self/fd/<directory descriptor>/<file name>`. Only a file name that
//! does not fit even so is refused, with an error naming the limit.

use super::super::sys::{self, UnixAddr};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The name of a named pipe: see the crate docs' [Named pipes](crate#named-pipes-linux) for
/// where each kind lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipeName(Kind);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Plain(OsString),
    Path(PathBuf),
    Abstract(Vec<u8>),
}

impl PipeName {
    /// A plain name (in the per-user directory), or an absolute path if `name` starts with
    /// `/`. A plain name must be a single path component: not empty, not `.` or `..`, without
    /// `/` or NUL (checked when it is used).
    pub fn new(name: impl AsRef<OsStr>) -> PipeName {
        let name = name.as_ref();
        if name.as_bytes().first() == Some(&b'/') {
            PipeName(Kind::Path(PathBuf::from(name)))
        } else {
            PipeName(Kind::Plain(name.to_owned()))
        }
    }

    /// The socket at `path`, as given (relative paths too).
    pub fn path(path: impl Into<PathBuf>) -> PipeName {
        PipeName(Kind::Path(path.into()))
    }

    /// The path .NET's `NamedPipeServerStream` and `NamedPipeClientStream` use on Unix for
    /// `name`: `$TMPDIR/CoreFxPipe_<name>` (`/tmp` without `$TMPDIR`), or `name` itself if it
    /// is rooted.
    pub fn dotnet(name: &str) -> PipeName {
        if name.starts_with('/') {
            return PipeName::path(name);
        }
        let mut file = OsString::from("CoreFxPipe_");
        file.push(name);
        PipeName::path(temp_dir().join(file))
    }

    /// A name in Linux's abstract socket namespace: no file, no permissions (see the
    /// [crate docs' Named pipes](crate#named-pipes-linux)).
    pub fn abstract_name(name: impl AsRef<[u8]>) -> PipeName {
        PipeName(Kind::Abstract(name.as_ref().to_vec()))
    }

    /// The file system path of the socket (`None` for an abstract name), resolving a plain
    /// name's directory without creating it.
    pub fn socket_path(&self) -> Option<PathBuf> {
        match &self.0 {
            Kind::Plain(n) => Some(user_dir().join(n)),
            Kind::Path(p) => Some(p.clone()),
            Kind::Abstract(_) => None,
        }
    }

    /// Whether this name is in the abstract namespace.
    pub fn is_abstract(&self) -> bool {
        matches!(self.0, Kind::Abstract(_))
    }

    /// Resolves the name for a server (`create_dir`: the per-user directory is made if
    /// missing) or a client.
    pub(crate) fn resolve(&self, create_dir: bool) -> io::Result<Resolved> {
        match &self.0 {
            Kind::Abstract(n) => {
                let addr = UnixAddr::abstract_name(n)?;
                // The lock file of an abstract name sits in the per-user directory, named by
                // the name's bytes in hex (any bytes may be in an abstract name).
                let dir = private_dir(create_dir)?;
                let hex: String = n.iter().map(|b| format!("{b:02x}")).collect();
                Ok(Resolved {
                    addr,
                    path: None,
                    lock_path: dir.join(format!("abstract-{hex}.lock")).into_os_string(),
                    _dir: None,
                })
            }
            Kind::Plain(n) => {
                check_plain(n)?;
                let dir = private_dir(create_dir)?;
                Resolved::for_path(dir.join(n))
            }
            Kind::Path(p) => Resolved::for_path(p.clone()),
        }
    }
}

impl From<&str> for PipeName {
    fn from(name: &str) -> PipeName {
        PipeName::new(name)
    }
}

/// A name made ready for the system calls.
pub(crate) struct Resolved {
    /// The address to bind or connect.
    pub(crate) addr: UnixAddr,
    /// The socket file (`None` for an abstract name).
    pub(crate) path: Option<PathBuf>,
    /// The server's lock file: `<path>.lock` (see `lock.rs`).
    pub(crate) lock_path: OsString,
    /// The directory descriptor a long path is reached through (kept open while the address is
    /// in use).
    _dir: Option<OwnedFd>,
}

impl Resolved {
    /// The address of the socket file at `path` (through its directory if the path is long).
    pub(crate) fn for_path(path: PathBuf) -> io::Result<Resolved> {
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() <= sys::SUN_PATH_MAX {
            return Ok(Resolved {
                addr: UnixAddr::path(path.as_os_str())?,
                path: Some(path),
                lock_path: lock,
                _dir: None,
            });
        }
        // Too long for sun_path: go through a descriptor of its directory.
        let (dir, file) = match (path.parent(), path.file_name()) {
            (Some(d), Some(f)) if !d.as_os_str().is_empty() => (d, f),
            _ => return Err(sys::invalid("a socket path needs a file name")),
        };
        let dir_fd = fs::File::open(dir).map(OwnedFd::from).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "opening {} (to reach a long socket path): {e}",
                    dir.display()
                ),
            )
        })?;
        let mut short = OsString::from(format!("/proc/self/fd/{}/", dir_fd.as_raw_fd()));
        short.push(file);
        if short.len() > sys::SUN_PATH_MAX {
            return Err(sys::invalid(format!(
                "the socket's file name is {} bytes: even through its directory's descriptor \
                 it does not fit in sun_path's {} bytes",
                file.len(),
                sys::SUN_PATH_MAX
            )));
        }
        Ok(Resolved {
            addr: UnixAddr::path(&short)?,
            path: Some(path),
            lock_path: lock,
            _dir: Some(dir_fd),
        })
    }
}

/// A plain name is one path component.
fn check_plain(name: &OsStr) -> io::Result<()> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') || b.contains(&0) {
        return Err(sys::invalid(format!(
            "{name:?} is not a pipe name: a plain name is one path component (no '/', not \
             empty, '.' or '..'); give an absolute path for anywhere else"
        )));
    }
    Ok(())
}

/// `$TMPDIR`, or `/tmp`.
fn temp_dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// The per-user directory of plain names (not created, not checked).
fn user_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if d.as_bytes().first() == Some(&b'/') => PathBuf::from(d).join("ringpipe"),
        _ => temp_dir().join(format!("ringpipe-{}", sys::euid())),
    }
}

/// The per-user directory, created if asked, and checked: a directory (not a link), ours,
/// mode 0700 or tighter.
fn private_dir(create: bool) -> io::Result<PathBuf> {
    let dir = user_dir();
    if create {
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("creating the pipe directory {}: {e}", dir.display()),
                ))
            }
        }
    }
    check_private(&dir)?;
    Ok(dir)
}

fn check_private(dir: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        // A client before any server: the name cannot exist yet; connecting says NotFound.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let problem = if !meta.file_type().is_dir() {
        Some("is not a directory (or is a symbolic link)")
    } else if meta.uid() != sys::euid() {
        Some("belongs to another user")
    } else if meta.permissions().mode() & 0o077 != 0 {
        Some("is open to other users (mode is not 0700)")
    } else {
        None
    };
    match problem {
        Some(p) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the pipe directory {} {p}; refusing to use it",
                dir.display()
            ),
        )),
        None => Ok(()),
    }
}
