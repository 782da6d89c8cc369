//! Steady-state streaming allocates nothing: a counting global allocator watches a warmed-up
//! pipe move data in every mode (non-blocking, blocking, async via a hand-written executor).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use support::exec::NoWake;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Single-threaded, so that no other test's allocations are counted: the counter is global.
fn measure(f: impl FnOnce()) -> usize {
    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCS.load(Ordering::Relaxed)
}

fn opts(pool: &ringpipe::ChunkPool) -> ringpipe::PipeOptions {
    ringpipe::PipeOptions::builder()
        .pool(pool.clone())
        .capacity(64 * 1024)
        .pause_writer_threshold(32 * 1024)
        .build()
        .unwrap()
}

/// All modes in one test, run one after the other: the allocation counter is process-wide.
#[test]
fn steady_state_streaming_allocates_nothing() {
    let pool = ringpipe::ChunkPool::new(4096, 64).unwrap();
    let (mut w, mut r) = ringpipe::pipe(opts(&pool));
    let data = vec![7u8; 1000];
    let mut received = 0u64;
    let round = |w: &mut ringpipe::PipeWriter, r: &mut ringpipe::PipeReader, received: &mut u64| {
        // Non-blocking: get_memory / advance / commit, try_read / advance_to.
        for _ in 0..200 {
            let m = w.try_get_memory(100).unwrap();
            m[..100].fill(1);
            w.advance(100);
            w.commit();
            let res = r.try_read().unwrap().unwrap();
            let buf = res.buffer();
            *received += buf.len() as u64;
            let end = buf.end();
            r.advance_to(end, end).unwrap();
        }
        // Blocking: write_all_blocking / read_blocking (both satisfied without parking).
        for _ in 0..200 {
            w.write_all_blocking(&data).unwrap();
            let res = r.read_blocking().unwrap();
            let buf = res.buffer();
            *received += buf.len() as u64;
            let end = buf.end();
            r.advance_to(end, end).unwrap();
        }
    };
    // Warm up: fill the pool and create the thread-local waker.
    round(&mut w, &mut r, &mut received);
    let allocs = measure(|| round(&mut w, &mut r, &mut received));
    assert_eq!(allocs, 0, "steady-state streaming allocated {allocs} times");

    let waker = Waker::from(Arc::new(NoWake));
    let async_round = |w: &mut ringpipe::PipeWriter, r: &mut ringpipe::PipeReader| {
        let mut cx = Context::from_waker(&waker);
        for _ in 0..200 {
            let mut wf = std::pin::pin!(w.write_all(&data));
            assert!(matches!(wf.as_mut().poll(&mut cx), Poll::Ready(Ok(_))));
            let end = {
                let mut rf = std::pin::pin!(r.read());
                match rf.as_mut().poll(&mut cx) {
                    Poll::Ready(Ok(res)) => res.buffer().end(),
                    Poll::Ready(Err(e)) => panic!("read: {e}"),
                    Poll::Pending => panic!("read: pending"),
                }
            };
            r.advance_to(end, end).unwrap();
        }
    };
    async_round(&mut w, &mut r);
    let allocs = measure(|| async_round(&mut w, &mut r));
    assert_eq!(
        allocs, 0,
        "steady-state async streaming allocated {allocs} times"
    );
    assert!(received > 0);
}
