//! Pipe options: capacity, chunk size, backpressure thresholds, chunk pool.

use super::pool::ChunkPool;
use core::fmt;
use std::error::Error;

/// Default capacity: 1 MiB.
pub const DEFAULT_CAPACITY: usize = 1 << 20;
/// Default chunk size: 16 KiB.
pub const DEFAULT_CHUNK_SIZE: usize = 16 << 10;
/// Default pause threshold: 64 KiB (as .NET's `PauseWriterThreshold`).
pub const DEFAULT_PAUSE_THRESHOLD: usize = 64 << 10;
/// The most chunk slots a ring may have.
pub const MAX_SLOTS: usize = 1 << 20;

/// How a pipe is built. Make one with [`PipeOptions::builder`], or take
/// [`PipeOptions::default()`]:
///
/// | setting | default | meaning |
/// |---|---|---|
/// | capacity | 1 MiB | hard bound on the bytes the ring holds (flushed and unflushed, not yet consumed) |
/// | chunk size | 16 KiB | size of each pooled chunk, and so the largest contiguous `get_memory` |
/// | pause threshold | min(64 KiB, capacity) | a flush that brings the *unexamined* bytes to this many pauses the writer; 0 = never |
/// | resume threshold | pause / 2 (at least 1) | a paused writer resumes when unexamined bytes drop strictly below this |
/// | pool | [`ChunkPool::global`] for the chunk size | where chunks come from and go back to |
/// | spin wait | [`SpinWait::Adaptive`] up to 20 µs | whether a blocking or async wait spins before it parks |
/// | wake fences | [`WakeFences::Auto`] | who pays for "no lost wake-up": every publish, or every park |
///
/// ```
/// let opts = ringpipe::PipeOptions::builder()
///     .capacity(256 * 1024)
///     .chunk_size(4096)
///     .pause_writer_threshold(64 * 1024)
///     .resume_writer_threshold(32 * 1024)
///     .build()
///     .unwrap();
/// assert_eq!(opts.capacity(), 256 * 1024);
/// ```
#[derive(Clone, Debug)]
pub struct PipeOptions {
    pub(crate) capacity: usize,
    pub(crate) pause: usize,
    pub(crate) resume: usize,
    /// Whether the pause threshold was set (else `pause` is the default): a ring in shared
    /// memory has none unless it was.
    pub(crate) pause_set: bool,
    pub(crate) pool: ChunkPool,
    pub(crate) slots: usize,
    pub(crate) spin: SpinWait,
    pub(crate) fences: WakeFences,
}

/// How long a blocking or async wait (a read, a flush, a wait for room) re-checks before it
/// parks.
///
/// Parking costs a thread wake-up on the other side (tens of µs in a VM), so a wait that spins a
/// few µs while the other side is running on another core saves most of it. When the other side
/// is not running (it waits for I/O, or it is a task on the same executor thread, which cannot
/// run while this one spins), spinning is pure waste.
///
/// * [`Never`](SpinWait::Never): park at once.
/// * [`Fixed(n)`](SpinWait::Fixed): re-check `n` times (one `spin_loop` hint each, about 25 ns
///   on the machine the benchmarks ran on) on every wait. For a latency-sensitive user who gives
///   each side a core.
/// * [`Adaptive`](SpinWait::Adaptive) (the default, up to 20 µs): spin for at most `max` while
///   spinning pays off. Each side remembers how its last spins went: a spin that ends with the
///   data (or room) resets it; each spin in a row that ends in a park doubles the number of
///   waits that park at once, up to 1023 of every 1024. The spins in between (probes) last the
///   full `max`, so that one of them can outlast the other side's wake-up and both sides get
///   back to spinning. A side does not spin at all when the other side was last seen (parking,
///   or waking it) on the calling thread: two tasks on one executor thread cannot help each
///   other by spinning. Nor, for good, once it has been resumed after a park on the thread
///   that woke it: a work-stealing runtime (tokio's multi-thread one) queues a task woken from
///   another task on the waker's worker, so parking is cheap there and puts both halves on one
///   worker, where spinning would keep them on two, trading every write across cores. To find
///   that out, a side whose spins keep succeeding parks without spinning once in a while (after
///   1024 spins, then 2048, ... up to about a million). Two threads on two cores thus stop
///   parking, and tasks sharing a thread or a work-stealing runtime park at once. Under loom
///   and Miri the default is `Never`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpinWait {
    /// Park at once.
    Never,
    /// Re-check this many times before every park.
    Fixed(u32),
    /// Spin for at most `max` while spinning pays off (see the type's docs).
    Adaptive {
        /// The longest a single wait spins.
        max: core::time::Duration,
    },
}

/// The default [`SpinWait`]: adaptive, up to 20 µs (`Never` under loom and Miri).
pub const DEFAULT_SPIN_WAIT: SpinWait = if cfg!(any(loom, miri)) {
    SpinWait::Never
} else {
    SpinWait::Adaptive {
        max: core::time::Duration::from_micros(20),
    }
};

impl Default for SpinWait {
    fn default() -> Self {
        DEFAULT_SPIN_WAIT
    }
}

/// Which side of a pipe pays for the guarantee that a parked side is never missed.
///
/// A side that parks sets a "waiting" flag and re-checks the other side's cursor; the other
/// side stores its cursor and then looks at the flag. Without a full barrier between the store
/// and the look on one side *and* the other, both could miss each other (store buffering) and
/// the parked side would sleep with data or room available. The barrier is the cost, and there
/// are two ways to pay it:
///
/// * symmetric: a `fence(SeqCst)` on both sides. Every `commit` and every `advance_to` pays
///   one fence instruction (about 20 cycles, plus the store-buffer drain, on x86); parking is
///   cheap.
/// * asymmetric (Linux): publishing pays only a compiler fence, and each park pays
///   `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`: a system call that, when the other side is
///   running, interrupts its CPU (a few µs in a VM).
///
/// The choices:
///
/// * [`Auto`](WakeFences::Auto) (the default): both, switching as the pipe is used. The pipe
///   starts asymmetric; a side that parks switches it to symmetric (that park pays the
///   `membarrier`); after about a thousand publishes in a row that find nobody parked, it
///   switches back. Busy-polling sides (`try_*` loops, spinning waits that never park) thus
///   publish without a fence, and sides that park often park cheaply; a pipe that alternates
///   pays at most about one `membarrier` worth of fences per switch. The switch is part of the
///   protocol and model-checked with it (`loom-tests/`).
/// * [`Symmetric`](WakeFences::Symmetric): always symmetric.
/// * [`Asymmetric`](WakeFences::Asymmetric): always asymmetric.
///
/// Where `membarrier` is not available (other systems, old kernels, seccomp filters) every
/// pipe is symmetric; [`PipeWriter::asymmetric_fences`](crate::PipeWriter::asymmetric_fences)
/// tells whether a pipe may use asymmetric fences. Under loom and Miri the asymmetric halves
/// are emulated by what `membarrier` guarantees. Correctness does not depend on the choice;
/// only where the cost falls does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WakeFences {
    /// Asymmetric while the sides do not park, symmetric while they do (see the type's docs).
    #[default]
    Auto,
    /// A full fence on both sides: cheap parks, one fence per publish.
    Symmetric,
    /// No fence instruction on the publish path; each park pays `membarrier(2)`.
    Asymmetric,
}

impl Default for PipeOptions {
    fn default() -> Self {
        PipeOptions::builder()
            .build()
            .expect("default options are valid")
    }
}

impl PipeOptions {
    /// A builder with every setting at its default.
    pub fn builder() -> PipeOptionsBuilder {
        PipeOptionsBuilder::default()
    }
    /// The hard bound on bytes held by the ring.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// The chunk size (the pool's).
    pub fn chunk_size(&self) -> usize {
        self.pool.chunk_size()
    }
    /// The pause threshold (0 = the writer never pauses).
    pub fn pause_writer_threshold(&self) -> usize {
        self.pause
    }
    /// The resume threshold.
    pub fn resume_writer_threshold(&self) -> usize {
        self.resume
    }
    /// The chunk pool.
    pub fn pool(&self) -> &ChunkPool {
        &self.pool
    }
    /// The fixed number of re-checks a blocking or async wait makes before it parks
    /// ([`SpinWait::Fixed`]); 0 for the other [`SpinWait`] policies.
    pub fn spin_before_park(&self) -> u32 {
        match self.spin {
            SpinWait::Fixed(n) => n,
            _ => 0,
        }
    }
    /// How a blocking or async wait spins before it parks.
    pub fn spin_wait(&self) -> SpinWait {
        self.spin
    }
    /// The wake fences asked for (what a pipe gets also depends on the system: see
    /// [`WakeFences`]).
    pub fn wake_fences(&self) -> WakeFences {
        self.fences
    }
    /// The number of chunk slots of the ring (a power of two, at least `capacity / chunk + 1`).
    pub fn slots(&self) -> usize {
        self.slots
    }
}

/// Builds [`PipeOptions`], checking every setting in [`build`](PipeOptionsBuilder::build).
#[derive(Clone, Debug, Default)]
pub struct PipeOptionsBuilder {
    capacity: Option<usize>,
    chunk_size: Option<usize>,
    pause: Option<usize>,
    resume: Option<usize>,
    pool: Option<ChunkPool>,
    spin: SpinWait,
    fences: WakeFences,
}

impl PipeOptionsBuilder {
    /// The hard bound on the bytes the ring holds (default 1 MiB). At least 1.
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.capacity = Some(bytes);
        self
    }
    /// The chunk size (default 16 KiB), unless a [`pool`](Self::pool) is given, whose chunk
    /// size is then used.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes);
        self
    }
    /// The pause threshold: 0 means the writer never pauses (default min(64 KiB, capacity);
    /// none for a ring in shared memory, [`shm`](crate::shm), which maps its whole capacity
    /// up front).
    pub fn pause_writer_threshold(mut self, bytes: usize) -> Self {
        self.pause = Some(bytes);
        self
    }
    /// The resume threshold (default half the pause threshold). 0 is taken as 1, as in .NET 9.
    pub fn resume_writer_threshold(mut self, bytes: usize) -> Self {
        self.resume = Some(bytes);
        self
    }
    /// The pool to take chunks from; many pipes may share one.
    pub fn pool(mut self, pool: ChunkPool) -> Self {
        self.pool = Some(pool);
        self
    }
    /// Blocking and async waits re-check `spins` times before every park: a
    /// latency-sensitive user trades a busy core for a shorter wake-up. `0` parks at once
    /// ([`SpinWait::Never`]). Replaces the default adaptive spinning; see [`SpinWait`].
    pub fn spin_before_park(mut self, spins: u32) -> Self {
        self.spin = if spins == 0 {
            SpinWait::Never
        } else {
            SpinWait::Fixed(spins)
        };
        self
    }
    /// How blocking and async waits spin before they park (default
    /// [`SpinWait::Adaptive`] up to 20 µs); see [`SpinWait`].
    pub fn spin_wait(mut self, spin: SpinWait) -> Self {
        self.spin = spin;
        self
    }
    /// Which side pays for "no lost wake-up" (default [`WakeFences::Auto`]).
    pub fn wake_fences(mut self, fences: WakeFences) -> Self {
        self.fences = fences;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// An [`OptionsError`] naming the setting that is out of range: capacity 0, chunk size 0 or
    /// above [`MAX_CHUNK_SIZE`](crate::MAX_CHUNK_SIZE), too many chunk slots, a pause threshold
    /// above the capacity, a resume threshold above the pause threshold, or a pool whose chunk
    /// size differs from an explicit chunk size.
    pub fn build(self) -> Result<PipeOptions, OptionsError> {
        let capacity = self.capacity.unwrap_or(DEFAULT_CAPACITY);
        if capacity == 0 {
            return Err(OptionsError::Capacity { capacity });
        }
        let pool = match (self.pool, self.chunk_size) {
            (Some(pool), Some(cs)) if pool.chunk_size() != cs => {
                return Err(OptionsError::PoolChunkSize {
                    pool: pool.chunk_size(),
                    requested: cs,
                })
            }
            (Some(pool), _) => pool,
            (None, cs) => ChunkPool::global(cs.unwrap_or(DEFAULT_CHUNK_SIZE))?,
        };
        let cs = pool.chunk_size();
        // Data can start anywhere in a chunk, so `capacity` bytes touch at most
        // ceil(capacity / cs) + 1 chunks.
        // `usize::MAX` when it overflows (capacity near `usize::MAX` with 1-byte chunks): that
        // is too many anyway.
        let needed = capacity.div_ceil(cs).saturating_add(1);
        if needed > MAX_SLOTS {
            return Err(OptionsError::TooManyChunks {
                chunks: needed,
                max: MAX_SLOTS,
            });
        }
        let slots = needed.next_power_of_two();
        let pause = match self.pause {
            Some(p) if p > capacity => {
                return Err(OptionsError::PauseThreshold { pause: p, capacity })
            }
            Some(p) => p,
            None => DEFAULT_PAUSE_THRESHOLD.min(capacity),
        };
        let resume = if pause == 0 {
            0
        } else {
            let r = self.resume.unwrap_or(pause / 2).max(1);
            if r > pause {
                return Err(OptionsError::ResumeThreshold { resume: r, pause });
            }
            r
        };
        Ok(PipeOptions {
            capacity,
            pause,
            resume,
            pause_set: self.pause.is_some(),
            pool,
            slots,
            spin: self.spin,
            fences: self.fences,
        })
    }
}

/// Invalid [`PipeOptions`] or [`ChunkPool`] settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// The chunk size must be between 1 and [`MAX_CHUNK_SIZE`](crate::MAX_CHUNK_SIZE) bytes.
    ChunkSize {
        /// What was asked for.
        chunk_size: usize,
    },
    /// The capacity must be at least 1 byte.
    Capacity {
        /// What was asked for.
        capacity: usize,
    },
    /// The capacity divided by the chunk size asks for more chunk slots than a ring may have.
    TooManyChunks {
        /// Slots the capacity would need.
        chunks: usize,
        /// The most a ring may have.
        max: usize,
    },
    /// The pause threshold cannot exceed the capacity (the writer could never reach it).
    PauseThreshold {
        /// What was asked for.
        pause: usize,
        /// The pipe's capacity.
        capacity: usize,
    },
    /// The resume threshold must be at least 1 and at most the pause threshold.
    ResumeThreshold {
        /// What was asked for (or defaulted to).
        resume: usize,
        /// The pause threshold it must not exceed.
        pause: usize,
    },
    /// A pool may keep at most [`MAX_RETAINED`](crate::MAX_RETAINED) idle chunks (its free
    /// list is allocated up front).
    Retention {
        /// What was asked for.
        max_retained: usize,
        /// The most a pool may keep.
        max: usize,
    },
    /// A pool was given together with a different chunk size.
    PoolChunkSize {
        /// The pool's chunk size.
        pool: usize,
        /// The chunk size that was asked for.
        requested: usize,
    },
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OptionsError::ChunkSize { chunk_size } => write!(
                f,
                "chunk size {chunk_size} is out of range: it must be between 1 and {} bytes",
                super::pool::MAX_CHUNK_SIZE
            ),
            OptionsError::Capacity { capacity } => {
                write!(f, "capacity {capacity} is out of range: it must be at least 1 byte")
            }
            OptionsError::TooManyChunks { chunks, max } => write!(
                f,
                "capacity / chunk size needs {chunks} chunk slots, more than the {max} a ring may have: use bigger chunks"
            ),
            OptionsError::PauseThreshold { pause, capacity } => write!(
                f,
                "pause threshold {pause} exceeds the capacity {capacity}: the writer could never reach it"
            ),
            OptionsError::ResumeThreshold { resume, pause } => write!(
                f,
                "resume threshold {resume} is out of range: it must be at least 1 and at most the pause threshold {pause}"
            ),
            OptionsError::Retention { max_retained, max } => write!(
                f,
                "a pool may keep at most {max} idle chunks, not {max_retained}: its free list is allocated up front"
            ),
            OptionsError::PoolChunkSize { pool, requested } => write!(
                f,
                "the pool's chunks are {pool} bytes but a chunk size of {requested} was asked for"
            ),
        }
    }
}

impl Error for OptionsError {}
