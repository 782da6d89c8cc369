//! The OS half of a shared ring's wake-up: its bell is the `SOCK_SEQPACKET` socket the ring
//! came over, and its watcher is a thread that waits on this process's end of it (`poll(2)`;
//! it never spins). (Blocking calls wait on their futex words instead: the region's `futex`
//! calls are in `storage`.) The protocol half, shared with the loom model that checks it, is
//! [`BellWakeup`](crate::bell::BellWakeup).
//!
//! The other process rings a side by sending one byte on its end of the socket; the watcher
//! reads what is there (each message is a ring, whatever it holds) and wakes the waker in the
//! side's slot (an async task's reaches its executor, whichever it is; a blocking call's bumps
//! its futex word: the way a completion, or the other process's loss, reaches it). The end of
//! the stream means the other process is gone (it exited, was killed, or dropped its end):
//! the watcher records it ([`PeerStatus`]), from then on the other side reads as completed
//! with [`PeerError::Gone`](super::PeerError::Gone), and the waiter is woken to see it.
//!
//! Why the socket and not an eventfd per side: the other process is not trusted, and a
//! descriptor passed to it shares its open file description, flags included. It could make a
//! shared eventfd blocking (`F_SETFL`) and fill its counter, so that ringing it blocks for
//! good (an eventfd refuses `RWF_NOWAIT` writes), or take the count between our `poll` and our
//! `read`, so that reading it does. On a socket, never blocking is a flag of each call
//! (`MSG_DONTWAIT`), and each process reads only its own end. A peer that rings without end
//! costs the watcher a read per ring, and cannot keep it from its stop bell (polled first,
//! before every read) or from the end of the stream.

use super::status::PeerStatus;
use super::sys::{wait_any, EventFd, Region};
use crate::bell::{deliver, Bell, BellWakeup};
use crate::pipe::options::SpinWait;
use crate::protocol::Side;
use crate::sync::waker_slot::WakerSlot;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The wake-up of one process's side of a shared ring.
pub(crate) type ShmWakeup = BellWakeup<SocketBell, Watcher, Region>;

/// The other process's bell: this process's end of the ring's socket (the watcher reads the
/// same end for this process's rings).
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct SocketBell(Arc<OwnedFd>);

impl Bell for SocketBell {
    /// One byte on the socket, never waiting. A full socket (rings the other side has not read
    /// yet) is rung already; a closed one has nobody to wake.
    fn ring(&self) {
        let byte = 1u8;
        loop {
            // SAFETY: one byte of ours; MSG_DONTWAIT: never blocks, whatever the socket's
            // flags; MSG_NOSIGNAL: a peer that has gone is EPIPE, not SIGPIPE.
            let n = unsafe {
                libc::send(
                    self.0.as_raw_fd(),
                    (&byte as *const u8).cast(),
                    1,
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        }
    }
}

/// What the watcher thread shares with the side it serves.
struct Watch {
    /// The local side's waker.
    waker: Arc<WakerSlot>,
    /// Rung when the local end goes, to stop the watcher (this process's own: never shared).
    stop: EventFd,
    /// This process's end of the socket the ring came over: the rings both ways, and its end
    /// of stream is the other process's end.
    socket: Arc<OwnedFd>,
    status: Arc<PeerStatus>,
}

/// The watcher thread of a side: stopped and joined when dropped.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct Watcher {
    watch: Arc<Watch>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.watch.stop.signal();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The wake-up of side `local` of the ring in `region`, ringing the other process on `socket`
/// and with a watcher on it.
pub(crate) fn shm_wakeup(
    local: Side,
    spin: SpinWait,
    socket: OwnedFd,
    status: Arc<PeerStatus>,
    region: Arc<Region>,
) -> io::Result<ShmWakeup> {
    let waker = Arc::new(WakerSlot::new());
    let socket = Arc::new(socket);
    let watch = Arc::new(Watch {
        waker: waker.clone(),
        stop: EventFd::new()?,
        socket: socket.clone(),
        status,
    });
    let w = watch.clone();
    let thread = std::thread::Builder::new()
        .name("ringpipe-shm-watch".into())
        .spawn(move || watch_loop(&w))?;
    let watcher = Watcher {
        watch,
        thread: Some(thread),
    };
    Ok(BellWakeup::new(
        local,
        spin,
        SocketBell(socket),
        waker,
        watcher,
        region,
    ))
}

/// The watcher: waits on the stop bell and the socket, never spinning.
fn watch_loop(w: &Watch) {
    loop {
        // The stop bell first: a peer that keeps the socket readable cannot hide it.
        let fds = [w.stop.as_fd(), w.socket.as_fd()];
        match wait_any(&fds, None) {
            Ok(Some(0)) => return,
            Ok(Some(_)) => {
                let mut gone = false;
                deliver(
                    || {
                        if read_ring(&w.socket) {
                            w.status.gone();
                            gone = true;
                        }
                    },
                    &w.waker,
                );
                if gone {
                    return;
                }
            }
            Ok(None) => {}
            Err(_) => {
                // poll(2) on descriptors we own fails only for lack of memory: treat the other
                // side as lost rather than leave a waiter that nobody would wake.
                w.status.gone();
                w.waker.wake();
                return;
            }
        }
    }
}

/// Reads one ring from the socket (the drain of the bell: a ring left there keeps it rung,
/// and the watcher goes round again), never waiting; `true` at the end of the stream (the
/// other process is gone). Each ring is a message of its own; whatever it holds (and a
/// descriptor attached to it, which the kernel closes, since no room is given for it) is only
/// a ring. (An empty message reads as the end of the stream: a peer that sends one chooses to
/// look gone.) One ring per look keeps the common case (one ring) at a `poll` and a `recv`, as
/// an eventfd's `poll` and `read`.
fn read_ring(socket: &OwnedFd) -> bool {
    loop {
        let mut byte = 0u8;
        // SAFETY: a one-byte buffer we own (a longer message is cut); MSG_DONTWAIT: never
        // blocks, whatever the socket's flags.
        let got = unsafe {
            libc::recv(
                socket.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_DONTWAIT,
            )
        };
        match got {
            0 => return true,
            g if g > 0 => return false,
            _ => match io::Error::last_os_error().kind() {
                io::ErrorKind::WouldBlock => return false,
                io::ErrorKind::Interrupted => {}
                _ => return true,
            },
        }
    }
}
