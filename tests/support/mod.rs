//! Helpers shared by the test files, each written once.
//!
//! Here: a counting waker to poll futures by hand, option builders, pipes over a private chunk
//! pool, writing and reading shortcuts, a detached copy of a read result, a typed error to
//! check identity, a hang guard, the wake fences a test run asks for, a sequence over chunks
//! filled to chosen lengths ([`with_sequence`]) and a per-thread allocation counter
//! ([`counting_alloc`]), and unique temporary file paths ([`TempPath`]). [`rng`]: the stream
//! hash and a small PRNG. [`exec`]: minimal executors and a spin-loop backoff. [`sockets`]: the
//! stream byte at a position and a close that resets, for the tests over real sockets.
//! [`child`]: the test binary run again as a child process with a role. [`procfs`]: this
//! process's open descriptors, threads and peak memory.
#![allow(dead_code)]

pub mod child;
pub mod exec;
pub mod procfs;
pub mod rng;
pub mod sockets;

use ringpipe::{ChunkPool, PipeOptions, PipeReader, PipeWriter, ReadError, ReadResult, WakeFences};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// A waker that counts how many times it was woken.
#[derive(Default)]
pub struct Counter {
    count: AtomicUsize,
}

impl Counter {
    /// Wakes so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fresh counting waker and the counter behind it.
pub fn counting_waker() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter::default());
    let waker = Waker::from(counter.clone());
    (counter, waker)
}

/// Polls a pinned future once with `waker`.
pub fn poll_once<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    let mut cx = Context::from_waker(waker);
    fut.poll(&mut cx)
}

/// A private pool (so `in_use`/`allocated` are not disturbed by other tests).
pub fn private_pool(chunk_size: usize, retained: usize) -> ChunkPool {
    ChunkPool::new(chunk_size, retained).expect("valid pool")
}

/// Options with the given capacity, a private pool of `chunk`-byte chunks, and thresholds.
pub fn opts(capacity: usize, pool: &ChunkPool, pause: usize, resume: usize) -> PipeOptions {
    let b = PipeOptions::builder()
        .capacity(capacity)
        .pool(pool.clone())
        .pause_writer_threshold(pause);
    let b = if pause == 0 {
        b
    } else {
        b.resume_writer_threshold(resume)
    };
    b.build().expect("valid options")
}

/// Both halves of a pipe and the private pool its chunks come from.
pub type Pipe = (PipeWriter, PipeReader, ChunkPool);

/// A pipe over a private pool, without backpressure.
pub fn plain_pipe(capacity: usize, chunk: usize) -> Pipe {
    let pool = private_pool(chunk, 64);
    let (w, r) = ringpipe::pipe(opts(capacity, &pool, 0, 0));
    (w, r, pool)
}

/// A pipe over a private pool with backpressure thresholds.
pub fn bp_pipe(capacity: usize, chunk: usize, pause: usize, resume: usize) -> Pipe {
    let pool = private_pool(chunk, 64);
    let (w, r) = ringpipe::pipe(opts(capacity, &pool, pause, resume));
    (w, r, pool)
}

/// Copies `data` into the writer with `try_get_memory`/`advance`, without committing.
/// Panics if the pipe has no room.
pub fn put(w: &mut PipeWriter, data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        let mem = w.try_get_memory(1).expect("room for put");
        let n = mem.len().min(rest.len());
        mem[..n].copy_from_slice(&rest[..n]);
        w.advance(n);
        rest = &rest[n..];
    }
}

/// `put` then a commit.
pub fn put_commit(w: &mut PipeWriter, data: &[u8]) {
    put(w, data);
    w.commit();
}

/// `n` bytes 0, 1, 2, ... (mod 251).
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// What a read returned, detached from the reader's borrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub bytes: Vec<u8>,
    pub canceled: bool,
    pub completed: bool,
    /// Offsets of the buffer's start and end positions.
    pub start: u64,
    pub end: u64,
}

pub fn got(res: &ReadResult<'_>) -> Got {
    let buf = res.buffer();
    Got {
        bytes: buf.to_vec(),
        canceled: res.is_canceled(),
        completed: res.is_completed(),
        start: buf.start().offset(),
        end: buf.end().offset(),
    }
}

/// Detaches a polled read from the reader's borrow, so that it can be printed or compared.
pub fn detach(p: Poll<Result<ReadResult<'_>, ReadError>>) -> Poll<Result<Got, ReadError>> {
    p.map(|r| r.map(|x| got(&x)))
}

/// `try_read` that must return a result.
pub fn must_read(r: &mut PipeReader) -> Got {
    let res = r
        .try_read()
        .expect("try_read failed")
        .expect("try_read returned None");
    got(&res)
}

/// Reads (must succeed) and advances to `(consumed, examined)` given as offsets into the buffer.
pub fn read_advance(r: &mut PipeReader, consumed: usize, examined: usize) -> Got {
    let (g, c, e) = {
        let res = r
            .try_read()
            .expect("try_read failed")
            .expect("try_read returned None");
        let buf = res.buffer();
        (got(&res), buf.position(consumed), buf.position(examined))
    };
    r.advance_to(c, e).expect("advance_to");
    g
}

/// An error type whose identity we can check after it crossed the pipe.
#[derive(Debug)]
pub struct TestError {
    pub id: u32,
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "test error #{}", self.id)
    }
}

impl std::error::Error for TestError {}

/// Runs `f` on another thread and fails if it does not finish within 10 s (600 s under Miri,
/// which runs code ~1000x slower): a hang guard, not a timing assertion. A panic in `f` is
/// re-raised here.
pub fn with_timeout<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let out = f();
        let _ = tx.send(out);
    });
    let limit = if cfg!(miri) { 600 } else { 10 };
    match rx.recv_timeout(Duration::from_secs(limit)) {
        Ok(v) => {
            handle.join().expect("scenario thread");
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => panic!("scenario thread ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("scenario hung for {limit} s"),
    }
}

/// The wake fences the streaming, model and stress suites give their pipes:
/// `RINGPIPE_TEST_FENCES=asymmetric` (CI runs the streaming and model suites so) or
/// `symmetric`; otherwise each pipe's default, `WakeFences::Auto`. The library itself reads no
/// environment variable: the tests pass the choice as an option.
pub fn test_fences() -> WakeFences {
    match std::env::var("RINGPIPE_TEST_FENCES").as_deref() {
        Ok("asymmetric") => WakeFences::Asymmetric,
        Ok("symmetric") => WakeFences::Symmetric,
        Ok(other) if !other.is_empty() => {
            panic!("RINGPIPE_TEST_FENCES={other}: expected asymmetric or symmetric")
        }
        _ => WakeFences::Auto,
    }
}

/// Writes `data` into a fresh pipe of `chunk`-byte chunks (a private pool), in pieces whose
/// sizes cycle through `pieces` (each clamped to `1..=chunk`), each taken with a size hint of
/// its own length, so that a piece that does not fit what is left of a chunk starts the next
/// one: chunks come out filled to varying lengths. Commits, reads, and runs `f` on the buffer
/// (for empty `data`, an empty slice of a one-byte buffer).
pub fn with_sequence<R>(
    data: &[u8],
    chunk: usize,
    pieces: &[usize],
    f: impl FnOnce(ringpipe::Sequence<'_>) -> R,
) -> R {
    let capacity = (data.len() + 1) * chunk;
    let (mut w, mut r, _pool) = plain_pipe(capacity, chunk);
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let want = pieces
            .get(i % pieces.len().max(1))
            .copied()
            .unwrap_or(chunk);
        let n = want.clamp(1, chunk).min(rest.len());
        let mem = w.try_get_memory(n).expect("room for with_sequence");
        mem[..n].copy_from_slice(&rest[..n]);
        w.advance(n);
        rest = &rest[n..];
        i += 1;
    }
    if data.is_empty() {
        // A read returns nothing for an empty pipe: give it a byte to slice away.
        put(&mut w, b"-");
    }
    w.commit();
    let res = r.try_read().expect("read").expect("data");
    let buf = res.buffer();
    f(buf.slice(buf.len() - data.len()..))
}

pub mod counting_alloc {
    //! A global allocator that counts the allocations of the thread that asks it to
    //! ([`count_allocs`]), so a test can prove that code allocates nothing while other tests
    //! run beside it. A test binary opts in with
    //! `#[global_allocator] static A: ThreadCounting = ThreadCounting;`.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static COUNTING: Cell<bool> = const { Cell::new(false) };
        static ALLOCS: Cell<usize> = const { Cell::new(0) };
    }

    /// The system allocator, counting this thread's allocations while asked to.
    pub struct ThreadCounting;

    fn count() {
        // `try_with`: the thread-locals may be gone while the thread exits.
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
            }
        });
    }

    // SAFETY: forwards every call to the system allocator; it only counts.
    unsafe impl GlobalAlloc for ThreadCounting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count();
            // SAFETY: the caller keeps GlobalAlloc's contract, which System's is.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: as above.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count();
            // SAFETY: as above.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count();
            // SAFETY: as above.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Runs `f` and returns what it returned and how many allocations this thread made
    /// meanwhile (zero unless the test binary installed [`ThreadCounting`]).
    pub fn count_allocs<R>(f: impl FnOnce() -> R) -> (R, usize) {
        ALLOCS.with(|a| a.set(0));
        COUNTING.with(|c| c.set(true));
        let out = f();
        COUNTING.with(|c| c.set(false));
        (out, ALLOCS.with(|a| a.get()))
    }
}

/// A file path under the system's temporary directory, unique to this process and call, and
/// removed (if it exists) when dropped: real files for the stream adapter tests.
pub struct TempPath(pub std::path::PathBuf);

impl TempPath {
    /// A fresh path whose file name contains `name`.
    pub fn new(name: &str) -> TempPath {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let file = format!("ringpipe-{}-{n}-{name}", std::process::id());
        TempPath(std::env::temp_dir().join(file))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
