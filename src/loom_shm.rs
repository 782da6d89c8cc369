//! The home of the loom model of the shared-memory wake-up (`loom-tests/tests/shm_wakeup.rs`):
//! the same protocol and the same [`BellWakeup`] as [`shm`](crate::shm) uses, with each side a
//! "process" of its own, as there: two `Ring`s over one storage (the shared region), each
//! with its own wake-up, its own waker slot and a watcher thread on its own bell. Only the
//! kernel's part differs: loom's mutex and condition variable stand in for the ring's socket
//! (a ring is a message on it, which the watcher reads, one per look; here the watcher waits
//! on the bell alone, no hang-up) and for the futex calls ([`Memory`]: `FUTEX_WAIT`'s check
//! of the word and its sleep are one step under the lock, as under the kernel's hash-bucket
//! lock, and a wake takes the lock; no time bound, so that a lost wake is a deadlock).
//! Compiled under loom only.

use crate::bell::{deliver, Bell, BellWakeup, Mapping};
use crate::error::CompletionError;
use crate::pipe::chunks::PooledChunks;
use crate::pipe::home::{sealed, Home};
use crate::pipe::options::{PipeOptions, SpinWait};
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;
use crate::protocol::{FencePolicy, Ring, RingParams, Side, Storage, Words};
use crate::sync::waker_slot::WakerSlot;
use crate::sync::{Arc, AtomicU32, AtomicUsize, Ordering};
use loom::sync::{Condvar, Mutex};

/// A bell: rung (not yet drained), and whether its watcher is to stop.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct LoomBell {
    state: Mutex<(bool, bool)>,
    cv: Condvar,
}

impl Bell for Arc<LoomBell> {
    fn ring(&self) {
        self.state.lock().unwrap().0 = true;
        self.cv.notify_one();
    }
}

impl LoomBell {
    /// Waits until rung (`true`) or stopped (`false`).
    fn wait(&self) -> bool {
        let mut s = self.state.lock().unwrap();
        while !s.0 && !s.1 {
            s = self.cv.wait(s).unwrap();
        }
        s.0
    }

    fn drain(&self) {
        self.state.lock().unwrap().0 = false;
    }
}

/// A side's watcher thread: stopped and joined when dropped.
#[doc(hidden)]
#[derive(Debug)]
pub struct LoomWatcher {
    bell: Arc<LoomBell>,
    thread: Option<loom::thread::JoinHandle<()>>,
}

impl Drop for LoomWatcher {
    fn drop(&mut self) {
        self.bell.state.lock().unwrap().1 = true;
        self.bell.cv.notify_one();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn watcher(bell: Arc<LoomBell>, waker: Arc<WakerSlot>) -> LoomWatcher {
    let b = bell.clone();
    let thread = loom::thread::spawn(move || {
        while b.wait() {
            deliver(|| b.drain(), &waker);
        }
    });
    LoomWatcher {
        bell,
        thread: Some(thread),
    }
}

/// The memory both "processes" map: the ring's storage, and the futex calls on its words.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Memory {
    chunks: PooledChunks,
    /// The futex calls' lock (the kernel's hash bucket) and their sleepers.
    futex: Mutex<()>,
    woken: Condvar,
}

impl Mapping for Memory {
    fn words(&self) -> &Words {
        self.chunks.words()
    }

    fn futex_wait(&self, word: &AtomicU32, expected: u32) {
        let held = self.futex.lock().unwrap();
        // Ordering: Relaxed; a waker's bump comes before its `futex_wake` takes the lock.
        if word.load(Ordering::Relaxed) == expected {
            drop(self.woken.wait(held).unwrap());
        }
    }

    fn futex_wake(&self, _word: &AtomicU32) {
        drop(self.futex.lock().unwrap());
        self.woken.notify_all();
    }
}

/// The shared region of the model: one storage both "processes" use.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Region(Arc<Memory>);

// SAFETY: delegates to the one storage both rings share, as a mapping is shared.
unsafe impl Storage for Region {
    fn words(&self) -> &Words {
        self.0.chunks.words()
    }
    fn lens(&self) -> &[AtomicUsize] {
        self.0.chunks.lens()
    }
    unsafe fn set_error(&self, side: Side, error: CompletionError) {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.set_error(side, error) }
    }
    unsafe fn error(&self, side: Side) -> CompletionError {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.error(side) }
    }
    unsafe fn clear_errors(&self) {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.clear_errors() }
    }
    fn chunk_size(&self) -> usize {
        self.0.chunks.chunk_size()
    }
    unsafe fn open(&self, seq: u64) -> *mut u8 {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.open(seq) }
    }
    unsafe fn base(&self, seq: u64) -> *mut u8 {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.base(seq) }
    }
    unsafe fn release(&self, seq: u64) {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.release(seq) }
    }
    unsafe fn idle(&self, from: u64, released: u64) {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.idle(from, released) }
    }
    unsafe fn track_write(&self, seq: u64, off: usize, len: usize) {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.track_write(seq, off, len) }
    }
    unsafe fn track_read(&self, seq: u64, off: usize, len: usize) {
        // SAFETY: delegated to the caller.
        unsafe { self.0.chunks.track_read(seq, off, len) }
    }
}

/// The home of the model's halves.
#[doc(hidden)]
#[derive(Debug)]
pub enum LoomShm {}

impl sealed::Sealed for LoomShm {
    type Storage = Region;
    type Wakeup = BellWakeup<Arc<LoomBell>, LoomWatcher, Memory>;
}

impl Home for LoomShm {}

/// A pipe whose halves wake each other by bells, each a "process" of its own (see the module
/// docs); never spins (loom).
#[doc(hidden)]
pub fn pipe(options: PipeOptions) -> (PipeWriter<LoomShm>, PipeReader<LoomShm>) {
    let params = RingParams {
        slots: options.slots,
        capacity: options.capacity as u64,
        pause: options.pause as u64,
        resume: options.resume as u64,
        fences: FencePolicy::Symmetric,
    };
    let memory = Arc::new(Memory {
        chunks: PooledChunks::new(options.slots, options.pool.clone(), FencePolicy::Symmetric),
        futex: Mutex::new(()),
        woken: Condvar::new(),
    });
    let bells = [Arc::new(LoomBell::default()), Arc::new(LoomBell::default())];
    let wakeup = |local: Side| {
        let waker = Arc::new(WakerSlot::new());
        let mine = bells[local as usize].clone();
        let theirs = bells[local.other() as usize].clone();
        BellWakeup::new(
            local,
            SpinWait::Never,
            theirs,
            waker.clone(),
            watcher(mine, waker),
            memory.clone(),
        )
    };
    let writer = Ring::new(params, Region(memory.clone()), wakeup(Side::Writer));
    let reader = Ring::new(params, Region(memory.clone()), wakeup(Side::Reader));
    (
        PipeWriter::new(Arc::new(writer)),
        PipeReader::new(Arc::new(reader), crate::pipe::next_tag()),
    )
}
