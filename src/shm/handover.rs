//! Making a shared ring and handing one end to another process.
//!
//! The creating process makes the region (a sealed memfd: no name in any file system, so
//! nothing is left behind however the processes end, and the memory goes when the last
//! mapping and descriptor do) and a `SOCK_SEQPACKET` socket pair. At once, before anyone else
//! can see it, it queues on its end of the pair the handshake: the ring's sizes and the other
//! end's role, with the memfd attached (`SCM_RIGHTS`). The other end of the pair is the
//! [`PeerEnd`]: a process that gets it (inherited at spawn, or passed over any Unix socket, a
//! named pipe included) attaches with it, taking the handshake already waiting there. The pair
//! stays open for as long as both ends live: each side rings the other on it (`wakeup.rs`),
//! and its hang-up is how each process learns that the other is gone.
//!
//! The attaching process does not trust the creator: the handshake's sizes are checked
//! (`Layout::decode`), the memfd must carry seals that keep its size fixed and match them, and
//! the socket's peer (the creator: the process that made the pair) must run as the same user.

use super::layout::{Layout, HELLO_LEN};
use super::status::PeerStatus;
use super::storage::MappedRing;
use super::sys::{recv_with_fds, recv_with_fds_flags, send_with_fds, Region};
use super::wakeup::{shm_wakeup, ShmWakeup};
use super::{SharedDuplex, SharedMemory, SharedReader, SharedWriter};
use crate::ipc::creds::PeerCredentials;
use crate::ipc::fd::{self, Identity};
use crate::pipe::options::{PipeOptions, SpinWait};
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use crate::protocol::{FencePolicy, Ring, RingParams, Side};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;

/// The ring of one process's end.
type SharedRing = Ring<MappedRing, ShmWakeup>;

/// The other end of a new shared ring, to hand to another process: a socket whose first
/// message is the ring (its memory). Give it to a child at spawn
/// ([`inherit`](Self::inherit) and [`handle_string`](Self::handle_string), attached with
/// [`SharedReader::from_handle_string`] or [`SharedWriter::from_handle_string`]), or send it
/// over a Unix socket ([`send_over`](Self::send_over), received with
/// [`SharedReader::receive`] / [`SharedWriter::receive`]). Dropping it closes this process's
/// copy: do so once the other process has it (a spawned child inherited it), or this end
/// never learns that the other process is gone.
pub struct PeerEnd {
    socket: OwnedFd,
    role: Side,
}

impl fmt::Debug for PeerEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerEnd")
            .field("socket", &self.socket.as_raw_fd())
            .field("role", &self.role)
            .finish()
    }
}

impl PeerEnd {
    /// The descriptor number a child that inherits this end finds it under: pass it on the
    /// command line or in the environment.
    pub fn handle_string(&self) -> String {
        self.socket.as_raw_fd().to_string()
    }

    /// Lets the child `cmd` spawns inherit this end, and no other process: the descriptor is
    /// close-on-exec, and only that child clears the flag, between fork and exec (after
    /// checking that the number still names this socket).
    ///
    /// # Errors
    /// The OS's error if the socket cannot be examined.
    pub fn inherit(&self, cmd: &mut Command) -> io::Result<()> {
        let fd = self.socket.as_raw_fd();
        let identity = fd::stat(fd)?;
        let step = move || inherit_in_child(fd, identity);
        // SAFETY: the step runs in the forked child before exec, where only async-signal-safe
        // calls are allowed: fstat and fcntl only, no allocation (errors are raw OS errors),
        // no lock, and it captures only `Copy` values.
        unsafe { cmd.pre_exec(step) };
        Ok(())
    }

    /// Sends this end over `stream` (a connected Unix socket: a [`NamedPipeStream`], a
    /// `UnixStream`, ...) for the process at the other end of it to
    /// [`receive`](SharedReader::receive); one byte with the descriptor attached.
    ///
    /// [`NamedPipeStream`]: crate::NamedPipeStream
    ///
    /// # Errors
    /// The OS's error (`EPIPE` if nobody is at the other end).
    pub fn send_over(self, stream: &impl AsFd) -> io::Result<()> {
        let tag = [self.role as u8];
        send_with_fds(stream.as_fd(), &tag, &[self.socket.as_fd()])
    }

    /// The socket, to hand over some other way.
    pub fn into_owned_fd(self) -> OwnedFd {
        self.socket
    }
}

impl AsFd for PeerEnd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// Between fork and exec: clears close-on-exec on `fd` if it is still the socket it was.
fn inherit_in_child(fd: RawFd, identity: Identity) -> io::Result<()> {
    if fd::stat(fd)? != identity {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    fd::set_cloexec(fd, false)
}

/// A `SOCK_SEQPACKET` pair (message boundaries: the handshake arrives whole), close-on-exec,
/// numbered above the standard streams.
fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two descriptors into the array we pass.
    crate::ipc::sys::cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: socketpair succeeded: both are new descriptors nobody else owns.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((fd::above_stdio(a)?, fd::above_stdio(b)?))
}

/// The protocol's sizes of a layout; fences symmetric (see `wakeup.rs`).
fn params(layout: &Layout) -> RingParams {
    RingParams {
        slots: layout.slots,
        capacity: layout.capacity,
        pause: layout.pause,
        resume: layout.resume,
        fences: FencePolicy::Symmetric,
    }
}

/// A new shared ring whose local side is `local`, and the other end.
fn create(options: &PipeOptions, local: Side) -> io::Result<(Arc<SharedRing>, PeerEnd)> {
    // A pause threshold left unset is none here: the whole capacity is mapped anyway, so
    // pausing the writer early saves no memory and costs a park and a wake-up per pause.
    let (pause, resume) = if options.pause_set {
        (options.pause, options.resume)
    } else {
        (0, 0)
    };
    let layout = Layout::new(
        options.slots as u64,
        options.chunk_size() as u64,
        options.capacity as u64,
        pause as u64,
        resume as u64,
    )?;
    let region = Region::create("ringpipe-shm", layout.len)?;
    let (mine, theirs) = seqpacket_pair()?;
    let hello = layout.encode(local.other());
    send_with_fds(mine.as_fd(), &hello, &[region.fd()])?;
    let status = Arc::new(PeerStatus::default());
    let region = Arc::new(region);
    let storage = MappedRing::new(region.clone(), layout, local, status.clone());
    storage.init();
    let wakeup = shm_wakeup(local, options.spin, mine, status, region)?;
    let ring = Arc::new(Ring::new(params(&layout), storage, wakeup));
    Ok((
        ring,
        PeerEnd {
            socket: theirs,
            role: local.other(),
        },
    ))
}

/// Attaches to the ring whose handshake waits on `socket`, as side `want`.
fn attach(socket: OwnedFd, want: Side, spin: SpinWait) -> io::Result<Arc<SharedRing>> {
    let refuse = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    PeerCredentials::of(socket.as_raw_fd())?.require_current_user("the shared ring's creator")?;
    let mut buf = [0u8; HELLO_LEN + 1];
    // The creator queued the handshake before anyone could get this end: it is there now,
    // or never will be.
    let (n, fds) =
        recv_with_fds_flags(socket.as_fd(), &mut buf, 1, libc::MSG_DONTWAIT).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                refuse("no shared ring handshake waits on this socket".into())
            } else {
                e
            }
        })?;
    if n == 0 {
        return Err(refuse(
            "the shared ring's socket is closed (its creator is gone)".into(),
        ));
    }
    let (role, layout) = Layout::decode(&buf[..n])?;
    if role != want {
        return Err(refuse(format!(
            "this end of the shared ring is its {role:?}, not its {want:?}"
        )));
    }
    let [memfd]: [OwnedFd; 1] = fds.try_into().map_err(|f: Vec<OwnedFd>| {
        refuse(format!("{} descriptors with the handshake, not 1", f.len()))
    })?;
    let region = Arc::new(Region::open(memfd, layout.len)?);
    let status = Arc::new(PeerStatus::default());
    let storage = MappedRing::new(region.clone(), layout, want, status.clone());
    let wakeup = shm_wakeup(want, spin, socket, status, region)?;
    Ok(Arc::new(Ring::new(params(&layout), storage, wakeup)))
}

/// Takes the descriptor `handle` names, checked to be a socket.
///
/// # Safety
/// As [`SharedReader::from_handle_string`].
unsafe fn inherited(handle: &str) -> io::Result<OwnedFd> {
    let fd = crate::ipc::anonymous::parse_handle(handle)?;
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `kind`; on a descriptor that is not
    // open or not a socket it fails and changes nothing.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || kind != libc::SOCK_SEQPACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "shared ring handle {handle}: not the socket of a shared ring (was it inherited?)"
            ),
        ));
    }
    fd::set_cloexec(fd, true)?;
    // SAFETY: `fd` is an open socket (checked) that the caller guarantees nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Receives a [`PeerEnd`] sent with [`PeerEnd::send_over`] on `stream`.
fn received(stream: &impl AsFd, want: Side) -> io::Result<OwnedFd> {
    let mut tag = [0u8; 2];
    let (n, fds) = recv_with_fds(stream.as_fd(), &mut tag, 1)?;
    let [socket]: [OwnedFd; 1] = fds.try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "no shared ring end arrived on this stream",
        )
    })?;
    if n != 1 || tag[0] != want as u8 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the shared ring end that arrived is not the one expected",
        ));
    }
    Ok(socket)
}

/// A new pipe in memory shared with another process: this process writes, the process that
/// gets the [`PeerEnd`] reads. Sizes, thresholds and the spin policy come from `options` (its
/// pool and fence mode do not apply: the ring's memory is its own, and its fences symmetric).
/// One default differs: unless `options` set a pause threshold, the writer never pauses (it
/// waits only when the ring is full): the whole capacity is mapped up front, so a threshold
/// below it saves no memory and parks the writer every so often (about half the throughput of
/// a stream on two CPUs, `shm-peers`).
///
/// # Errors
/// The OS's error if the memory or the socket cannot be made; `InvalidData` if the
/// options make a ring too large to share (more than 65536 slots, a region over 1 TiB).
pub fn writer(options: PipeOptions) -> io::Result<(SharedWriter, PeerEnd)> {
    let (ring, peer) = create(&options, Side::Writer)?;
    Ok((PipeWriter::new(ring), peer))
}

/// A new pipe in memory shared with another process: this process reads, the process that
/// gets the [`PeerEnd`] writes. As [`writer`].
///
/// # Errors
/// As [`writer`].
pub fn reader(options: PipeOptions) -> io::Result<(SharedReader, PeerEnd)> {
    let (ring, peer) = create(&options, Side::Reader)?;
    Ok((PipeReader::new(ring, crate::pipe::next_tag()), peer))
}

impl PipeWriter<SharedMemory> {
    /// Attaches to the writing end of a shared ring this child inherited
    /// ([`PeerEnd::inherit`]), `handle` being its [`handle_string`](PeerEnd::handle_string).
    /// `spin` is this end's spin before parking.
    ///
    /// # Safety
    /// If `handle` names an open socket, nothing else in this process may own or use that
    /// descriptor (it was inherited for this call, which takes it).
    ///
    /// # Errors
    /// `InvalidInput` if `handle` is not a descriptor number naming a socket of the right kind;
    /// `InvalidData` if the handshake is missing, is not for a writer, or fails the checks
    /// (sizes, seals); `PermissionDenied` if the creator runs as another user.
    pub unsafe fn from_handle_string(handle: &str, spin: SpinWait) -> io::Result<Self> {
        // SAFETY: delegated to the caller.
        let socket = unsafe { inherited(handle)? };
        Self::attach(socket, spin)
    }

    /// Attaches to the writing end of a shared ring whose [`PeerEnd`] socket this process
    /// holds (however it got it).
    ///
    /// # Errors
    /// As [`from_handle_string`](Self::from_handle_string).
    pub fn attach(socket: OwnedFd, spin: SpinWait) -> io::Result<Self> {
        Ok(PipeWriter::new(attach(socket, Side::Writer, spin)?))
    }

    /// Receives the writing end of a shared ring sent over `stream` with
    /// [`PeerEnd::send_over`], and attaches to it.
    ///
    /// # Errors
    /// As [`from_handle_string`](Self::from_handle_string), and the OS's error on `stream`.
    pub fn receive(stream: &impl AsFd, spin: SpinWait) -> io::Result<Self> {
        Self::attach(received(stream, Side::Writer)?, spin)
    }
}

impl PipeReader<SharedMemory> {
    /// Attaches to the reading end of a shared ring this child inherited
    /// ([`PeerEnd::inherit`]), `handle` being its [`handle_string`](PeerEnd::handle_string).
    /// `spin` is this end's spin before parking.
    ///
    /// # Safety
    /// If `handle` names an open socket, nothing else in this process may own or use that
    /// descriptor (it was inherited for this call, which takes it).
    ///
    /// # Errors
    /// As [`SharedWriter::from_handle_string`].
    pub unsafe fn from_handle_string(handle: &str, spin: SpinWait) -> io::Result<Self> {
        // SAFETY: delegated to the caller.
        let socket = unsafe { inherited(handle)? };
        Self::attach(socket, spin)
    }

    /// Attaches to the reading end of a shared ring whose [`PeerEnd`] socket this process
    /// holds (however it got it).
    ///
    /// # Errors
    /// As [`SharedWriter::from_handle_string`].
    pub fn attach(socket: OwnedFd, spin: SpinWait) -> io::Result<Self> {
        Ok(PipeReader::new(
            attach(socket, Side::Reader, spin)?,
            crate::pipe::next_tag(),
        ))
    }

    /// Receives the reading end of a shared ring sent over `stream` with
    /// [`PeerEnd::send_over`], and attaches to it.
    ///
    /// # Errors
    /// As [`SharedWriter::receive`].
    pub fn receive(stream: &impl AsFd, spin: SpinWait) -> io::Result<Self> {
        Self::attach(received(stream, Side::Reader)?, spin)
    }
}

/// The other ends of a new shared duplex (two rings, one each way): what [`duplex`] keeps for
/// another process. Handed over as [`PeerEnd`]s are: inherited by a child
/// ([`inherit`](Self::inherit), [`handle_string`](Self::handle_string), then
/// [`attach_duplex`] in the child) or sent over a Unix socket ([`send_over`](Self::send_over),
/// then [`receive_duplex`]).
#[derive(Debug)]
pub struct PeerDuplex {
    /// The peer's writing end (of the ring this process reads).
    writer: PeerEnd,
    /// The peer's reading end (of the ring this process writes).
    reader: PeerEnd,
}

impl PeerDuplex {
    /// Both descriptor numbers, `"<writer>,<reader>"`, for the child that inherits them.
    pub fn handle_string(&self) -> String {
        format!(
            "{},{}",
            self.writer.handle_string(),
            self.reader.handle_string()
        )
    }

    /// Lets the child `cmd` spawns inherit both ends (as [`PeerEnd::inherit`]).
    ///
    /// # Errors
    /// As [`PeerEnd::inherit`].
    pub fn inherit(&self, cmd: &mut Command) -> io::Result<()> {
        self.writer.inherit(cmd)?;
        self.reader.inherit(cmd)
    }

    /// Sends both ends over `stream` (as [`PeerEnd::send_over`], the writing end first).
    ///
    /// # Errors
    /// As [`PeerEnd::send_over`].
    pub fn send_over(self, stream: &impl AsFd) -> io::Result<()> {
        self.writer.send_over(stream)?;
        self.reader.send_over(stream)
    }
}

/// A request/response pair of shared rings: this process writes to the other process on one
/// and reads from it on the other, through one [`SharedDuplex`] (a
/// [`DuplexEnd`](crate::DuplexEnd): `input`/`output`, the std, tokio and futures-io I/O
/// traits, `into_parts`); the [`PeerDuplex`] is the other process's two ends.
///
/// # Errors
/// As [`writer`].
pub fn duplex(options: PipeOptions) -> io::Result<(SharedDuplex, PeerDuplex)> {
    let (w, their_reader) = writer(options.clone())?;
    let (r, their_writer) = reader(options)?;
    Ok((
        SharedDuplex::from_parts(r, w),
        PeerDuplex {
            writer: their_writer,
            reader: their_reader,
        },
    ))
}

/// Attaches to the two ends of a [`duplex`] this child inherited, `handle` being the
/// [`PeerDuplex::handle_string`].
///
/// # Safety
/// As [`SharedReader::from_handle_string`], for both descriptors.
///
/// # Errors
/// As [`SharedReader::from_handle_string`]; `InvalidInput` if `handle` is not two numbers
/// separated by a comma.
pub unsafe fn attach_duplex(handle: &str, spin: SpinWait) -> io::Result<SharedDuplex> {
    let Some((w, r)) = handle.split_once(',') else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "shared duplex handle {handle:?}: not two descriptor numbers separated by a comma"
            ),
        ));
    };
    // SAFETY: delegated to the caller.
    let writer = unsafe { SharedWriter::from_handle_string(w, spin)? };
    // SAFETY: as above.
    let reader = unsafe { SharedReader::from_handle_string(r, spin)? };
    Ok(SharedDuplex::from_parts(reader, writer))
}

/// Receives the two ends of a [`duplex`] sent with [`PeerDuplex::send_over`] on `stream`.
///
/// # Errors
/// As [`SharedReader::receive`].
pub fn receive_duplex(stream: &impl AsFd, spin: SpinWait) -> io::Result<SharedDuplex> {
    let writer = SharedWriter::receive(stream, spin)?;
    let reader = SharedReader::receive(stream, spin)?;
    Ok(SharedDuplex::from_parts(reader, writer))
}
