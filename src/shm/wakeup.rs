//! How the two sides of a shared ring wake each other across processes: the [`Wakeup`] of a
//! shared ring.
//!
//! Each side has a *bell*, an eventfd both processes hold. A side that waits leaves its task's
//! waker in its [`WakerSlot`] (as in process) and sets its `*_WAITING` bit; the other process,
//! having published what it waited for, rings the side's bell (one `write(2)`): only then,
//! since the protocol rings only a side it found waiting, so a publish with nobody parked is
//! stores and loads, as in process.
//!
//! In each process a *watcher* thread waits on the local side's bell and on the socket the
//! ring came over (`poll(2)`; it never spins): a ring wakes the waker in the slot (a blocking
//! call's waker unparks its thread, an async one's reaches its executor, whichever it is); a
//! hang-up of the socket means the other process is gone (it exited, was killed, or dropped
//! its end): the watcher records it ([`PeerStatus`]), from then on the other side reads as
//! completed with [`PeerError::Gone`](super::PeerError::Gone), and the waiter is woken to see
//! it. A byte on the socket after the handshake breaks the protocol (nothing is ever sent).
//!
//! Before a side parks it spins as its [`SpinWait`] says (each process its own). Fences: a ring
//! two processes share is symmetric for good (`membarrier(2)`'s expedited command reaches this
//! process's threads only), so the light half is a compiler fence and the heavy half (only
//! used if the other process cleared the mode bit) a full fence.

use super::status::PeerStatus;
use super::sys::{wait_any, EventFd};
use crate::pipe::options::SpinWait;
use crate::pipe::wait::Spinner;
use crate::protocol::{Side, SideWords, Wakeup};
use crate::sync::waker_slot::WakerSlot;
use core::sync::atomic::{compiler_fence, fence, Ordering};
use core::task::Context;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the watcher thread shares with the side it serves.
struct Watch {
    /// The local side's waker.
    waker: WakerSlot,
    /// The local side's bell.
    bell: EventFd,
    /// Rung when the local end goes, to stop the watcher.
    stop: EventFd,
    /// The socket the ring came over; its hang-up is the other process's end.
    socket: OwnedFd,
    status: Arc<PeerStatus>,
}

/// The wake-up of one process's side of a shared ring.
// `pub` only to be named by the sealed `Home` trait; unreachable from outside the crate.
#[allow(missing_debug_implementations)]
pub struct ShmWakeup {
    local: Side,
    spin: SpinWait,
    /// The other side's bell.
    peer_bell: EventFd,
    watch: Arc<Watch>,
    watcher: Option<JoinHandle<()>>,
}

impl ShmWakeup {
    /// The wake-up of side `local`, ringing `peer_bell` and watching `bell` and `socket`.
    pub(crate) fn new(
        local: Side,
        spin: SpinWait,
        bell: EventFd,
        peer_bell: EventFd,
        socket: OwnedFd,
        status: Arc<PeerStatus>,
    ) -> io::Result<ShmWakeup> {
        let watch = Arc::new(Watch {
            waker: WakerSlot::new(),
            bell,
            stop: EventFd::new()?,
            socket,
            status,
        });
        let w = watch.clone();
        let watcher = std::thread::Builder::new()
            .name("ringpipe-shm-watch".into())
            .spawn(move || watch_loop(&w))?;
        Ok(ShmWakeup {
            local,
            spin,
            peer_bell,
            watch,
            watcher: Some(watcher),
        })
    }

    fn ring(&self, side: Side) {
        if side == self.local {
            self.watch.waker.wake();
        } else {
            // A full counter (after 2^64 - 2 rings nobody drained) is still rung; any other
            // error cannot happen on an eventfd we hold.
            let _ = self.peer_bell.signal();
        }
    }
}

/// The watcher: waits on the bell, the socket and the stop bell, never spinning.
fn watch_loop(w: &Watch) {
    loop {
        let fds = [w.bell.as_fd(), w.socket.as_fd(), w.stop.as_fd()];
        match wait_any(&fds, None) {
            Ok(Some(0)) => {
                w.bell.drain();
                w.waker.wake();
            }
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

impl Drop for ShmWakeup {
    fn drop(&mut self) {
        let _ = self.watch.stop.signal();
        if let Some(t) = self.watcher.take() {
            let _ = t.join();
        }
    }
}

impl Wakeup for ShmWakeup {
    type SpinState = Spinner;
    type SpinPlan = SpinWait;

    #[inline]
    fn fence_light(&self, _parker: Side) {
        compiler_fence(Ordering::SeqCst);
    }

    fn fence_heavy(&self, _parker: Side) {
        // Ordering: SeqCst; the parker's half, should the other process have cleared the
        // symmetric bit (both halves are then full fences on our side).
        fence(Ordering::SeqCst);
    }

    #[inline]
    fn spin_plan(&self, _side: Side, _words: SideWords<'_>) -> SpinWait {
        self.spin
    }

    #[inline]
    fn spin<T>(plan: SpinWait, state: &mut Spinner, ready: impl FnMut() -> Option<T>) -> Option<T> {
        // The other side runs in another process: never on this thread.
        state.spin(plan, false, ready)
    }

    fn register(&self, side: Side, _words: SideWords<'_>, cx: &mut Context<'_>) {
        debug_assert_eq!(side, self.local);
        self.watch.waker.register(cx.waker());
    }

    fn wake(&self, side: Side, _words: SideWords<'_>) {
        self.ring(side);
    }

    fn resumed(&self, _side: Side, _words: SideWords<'_>, _state: &mut Spinner) {}

    fn wake_for_event(&self, side: Side) {
        self.ring(side);
    }

    fn reset(&self) {}
}
