//! Minimal executors and waiting helpers for the two-thread tests: poll once and drop, run a
//! future on this thread, run two futures on this thread, and back off in a spin loop.
//!
//! No executor here re-polls on a timer: a lost wake-up hangs, and the caller's hang guard
//! (a timeout or a watchdog) reports it.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// A waker that does nothing.
pub struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` once with a waker that does nothing, then drops it (cancel safety).
pub fn poll_noop<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(NoWake));
    match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// A waker that unparks a thread.
pub struct Unpark(pub Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` on this thread, parking while it is pending.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// A task's wake flag for [`block_on_both`].
struct Flag {
    woken: AtomicBool,
    thread: Thread,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.thread.unpark();
    }
}

/// A two-task executor: runs both futures on this thread, polling each only when it was woken.
pub fn block_on_both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let flag = || {
        Arc::new(Flag {
            woken: AtomicBool::new(true),
            thread: thread::current(),
        })
    };
    let (fa, fb) = (flag(), flag());
    let (wa, wb) = (Waker::from(fa.clone()), Waker::from(fb.clone()));
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    loop {
        if ra.is_none() && fa.woken.swap(false, SeqCst) {
            if let Poll::Ready(x) = a.as_mut().poll(&mut Context::from_waker(&wa)) {
                ra = Some(x);
            }
        }
        if rb.is_none() && fb.woken.swap(false, SeqCst) {
            if let Poll::Ready(x) = b.as_mut().poll(&mut Context::from_waker(&wb)) {
                rb = Some(x);
            }
        }
        if let (Some(_), Some(_)) = (&ra, &rb) {
            return (ra.take().expect("done"), rb.take().expect("done"));
        }
        let runnable =
            (ra.is_none() && fa.woken.load(SeqCst)) || (rb.is_none() && fb.woken.load(SeqCst));
        if !runnable {
            // A wake after the check leaves the unpark token set: park returns at once.
            thread::park();
        }
    }
}

/// Backs off in a non-blocking loop: spin a little, then yield (always yield under Miri).
pub fn backoff(spins: &mut u32) {
    *spins = spins.wrapping_add(1);
    if cfg!(miri) || *spins % 32 == 0 {
        thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}
