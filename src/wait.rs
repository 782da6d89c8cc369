//! How a blocking call waits: it drives the same future an async caller awaits, with a waker
//! that unparks the calling thread. One core, three ways to wait.

use core::future::Future;

/// Runs `fut` to completion on the current thread, parking it while the future is pending.
/// (Spinning before parking happens inside the pipe's polls, for async callers too.)
#[cfg(not(loom))]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    use core::task::{Context, Poll};
    use std::sync::Arc;
    use std::task::{Wake, Waker};
    use std::thread::{self, Thread};

    struct Unparker(Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    thread_local! {
        // One waker per thread, made once: a blocking wait allocates nothing.
        static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
    }

    let mut fut = core::pin::pin!(fut);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            // A wake that raced ahead of this park leaves the unpark token set, so the park
            // returns at once: no wake-up is lost.
            thread::park();
        }
    })
}

/// Under loom, loom's executor parks the model thread.
#[cfg(loom)]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    loom::future::block_on(fut)
}
