//! The OS half of a shared ring's wake-up: its bells are eventfds, and its watcher is a thread
//! that waits on the local side's bell and on the socket the ring came over (`poll(2)`; it
//! never spins). The protocol half, shared with the loom model that checks it, is
//! [`BellWakeup`](crate::bell::BellWakeup).
//!
//! A ring of the bell wakes the waker in the side's slot (a blocking call's waker unparks its
//! thread, an async one's reaches its executor, whichever it is). A hang-up of the socket means
//! the other process is gone (it exited, was killed, or dropped its end): the watcher records
//! it ([`PeerStatus`]), from then on the other side reads as completed with
//! [`PeerError::Gone`](super::PeerError::Gone), and the waiter is woken to see it. A byte on
//! the socket after the handshake breaks the protocol (nothing is ever sent).

use super::status::PeerStatus;
use super::sys::{wait_any, EventFd};
use crate::bell::{deliver, Bell, BellWakeup};
use crate::pipe::options::SpinWait;
use crate::protocol::Side;
use crate::sync::waker_slot::WakerSlot;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The wake-up of one process's side of a shared ring.
pub(crate) type ShmWakeup = BellWakeup<EventFd, Watcher>;

impl Bell for EventFd {
    fn ring(&self) {
        // A full counter (after 2^64 - 2 rings nobody drained) is still rung; any other error
        // cannot happen on an eventfd we hold.
        let _ = self.signal();
    }
}

/// What the watcher thread shares with the side it serves.
struct Watch {
    /// The local side's waker.
    waker: Arc<WakerSlot>,
    /// The local side's bell.
    bell: EventFd,
    /// Rung when the local end goes, to stop the watcher.
    stop: EventFd,
    /// The socket the ring came over; its hang-up is the other process's end.
    socket: OwnedFd,
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

/// The wake-up of side `local`, ringing `peer_bell`, with a watcher on `bell` and `socket`.
pub(crate) fn shm_wakeup(
    local: Side,
    spin: SpinWait,
    bell: EventFd,
    peer_bell: EventFd,
    socket: OwnedFd,
    status: Arc<PeerStatus>,
) -> io::Result<ShmWakeup> {
    let waker = Arc::new(WakerSlot::new());
    let watch = Arc::new(Watch {
        waker: waker.clone(),
        bell,
        stop: EventFd::new()?,
        socket,
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
    Ok(BellWakeup::new(local, spin, peer_bell, waker, watcher))
}

/// The watcher: waits on the bell, the socket and the stop bell, never spinning.
fn watch_loop(w: &Watch) {
    loop {
        let fds = [w.bell.as_fd(), w.socket.as_fd(), w.stop.as_fd()];
        match wait_any(&fds, None) {
            Ok(Some(0)) => deliver(
                || {
                    w.bell.drain();
                },
                &w.waker,
            ),
            Ok(Some(1)) => {
                if socket_says_gone(&w.socket, &w.status) {
                    w.waker.wake();
                    return;
                }
            }
            Ok(Some(_)) => return,
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

/// The socket is readable: a hang-up (the other process is gone), or bytes, which it never
/// sends after the handshake (a violation). `false` for a spurious wake-up.
fn socket_says_gone(socket: &OwnedFd, status: &PeerStatus) -> bool {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    // SAFETY: a one-byte buffer we own; MSG_DONTWAIT: never blocks.
    let n = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_DONTWAIT,
        )
    };
    match n {
        0 => status.gone(),
        n if n > 0 => status.violated("bytes on the socket after the handshake", n as u64, 0..=0),
        _ => match io::Error::last_os_error().kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => return false,
            _ => status.gone(),
        },
    }
    true
}
