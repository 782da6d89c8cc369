//! Where chunk memory comes from: a pool of fixed-size chunks that many pipes can share.
//!
//! A pipe takes a chunk when its writer needs fresh memory and gives it back as soon as the
//! reader has consumed every byte of it, so the memory a pipe holds follows the data in it.
//! Chunks come out of the allocator zeroed the first time and keep their old bytes afterwards,
//! so every byte of a chunk is always initialised and the writer can be handed a plain
//! `&mut [u8]`.
//!
//! The free list is a lock-free bounded queue (crossbeam-queue's `ArrayQueue`). A chunk given
//! back to a full free list is freed. Nothing in the ring protocol depends on this type: it only
//! needs `take` and `put`, which is what a shared-memory transport will replace.

use super::options::OptionsError;
use crate::sync::free_list::FreeList;
use crate::sync::{Arc, AtomicUsize, Ordering};
use core::fmt;
use core::ptr::NonNull;
use std::alloc::Layout;

/// Chunks are aligned to a cache line so that two chunks never share one.
const CHUNK_ALIGN: usize = 128;

/// Bytes before each chunk that hold its loom shadow while it travels as an address (none
/// outside loom).
const SHADOW_PREFIX: usize = if cfg!(loom) { CHUNK_ALIGN } else { 0 };

/// The largest chunk size a pool accepts (1 GiB).
pub const MAX_CHUNK_SIZE: usize = 1 << 30;

/// The most idle chunks a pool may keep (2^20). The free list that keeps them is allocated when
/// the pool is created, two words per chunk it may keep (16 MiB at this bound on 64-bit
/// targets), so the bound is checked before anything is allocated.
pub const MAX_RETAINED: usize = 1 << 20;

/// One chunk of memory, owned exclusively by whoever holds this value (the pool's free list,
/// the writer that is filling it, or the ring slot that holds it until the reader releases it).
pub(crate) struct Chunk {
    ptr: NonNull<u8>,
    #[cfg(loom)]
    shadow: NonNull<[crate::sync::UnsafeCell<()>]>,
}

// SAFETY: a `Chunk` is a uniquely owned heap allocation (like `Box<[u8]>`); moving it to
// another thread moves that ownership. Accesses to its bytes are synchronised by the ring.
unsafe impl Send for Chunk {}

impl Chunk {
    /// The layout of a chunk of `size` bytes: under loom, with a prefix that holds the shadow
    /// while the chunk is passed around as an address (`into_raw`).
    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size + SHADOW_PREFIX, CHUNK_ALIGN).expect("chunk layout")
    }

    fn alloc(size: usize) -> Chunk {
        let layout = Chunk::layout(size);
        // SAFETY: `size >= 1` (checked when the pool was created), so the layout is non-zero.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let raw = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Chunk {
            // SAFETY: the allocation is `SHADOW_PREFIX + size` bytes long.
            ptr: unsafe { NonNull::new_unchecked(raw.as_ptr().add(SHADOW_PREFIX)) },
            #[cfg(loom)]
            shadow: {
                let cells: Box<[crate::sync::UnsafeCell<()>]> = (0..size)
                    .map(|_| crate::sync::UnsafeCell::new(()))
                    .collect();
                // SAFETY: `Box::into_raw` never returns null.
                unsafe { NonNull::new_unchecked(Box::into_raw(cells)) }
            },
        }
    }

    /// # Safety
    /// `size` must be the size this chunk was allocated with, and the chunk must not be used
    /// afterwards.
    unsafe fn free(self, size: usize) {
        // SAFETY: allocated in `alloc` with this very layout (the caller passes the same size),
        // `SHADOW_PREFIX` bytes before `ptr`.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr().sub(SHADOW_PREFIX), Chunk::layout(size)) };
        #[cfg(loom)]
        // SAFETY: the shadow came from `Box::into_raw` in `alloc` and is dropped once, here.
        drop(unsafe { Box::from_raw(self.shadow.as_ptr()) });
    }

    /// The first byte of the chunk.
    #[inline]
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The chunk as a pointer to its first byte (aligned to [`CHUNK_ALIGN`], so the holder may
    /// tag its low bits), owned by whoever holds the pointer until [`from_raw`](Self::from_raw).
    #[inline]
    pub(crate) fn into_raw(self) -> *mut u8 {
        #[cfg(loom)]
        // SAFETY: `alloc` reserved `SHADOW_PREFIX` bytes before `ptr`, room for the shadow.
        unsafe {
            self.ptr
                .as_ptr()
                .sub(SHADOW_PREFIX)
                .cast::<NonNull<[crate::sync::UnsafeCell<()>]>>()
                .write_unaligned(self.shadow)
        };
        self.ptr.as_ptr()
    }

    /// The chunk that [`into_raw`](Self::into_raw) gave as `ptr`.
    ///
    /// # Safety
    /// `ptr` came from `into_raw` (untagged) and is turned back into a chunk once.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: *mut u8) -> Chunk {
        debug_assert!(ptr as usize % CHUNK_ALIGN == 0);
        Chunk {
            // SAFETY: `into_raw` gave the pointer of a live allocation, never null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            #[cfg(loom)]
            // SAFETY: `into_raw` wrote the shadow in the chunk's prefix.
            shadow: unsafe {
                ptr.sub(SHADOW_PREFIX)
                    .cast::<NonNull<[crate::sync::UnsafeCell<()>]>>()
                    .read_unaligned()
            },
        }
    }

    /// Tells loom that bytes `off..off + len` are being written (no-op outside loom).
    #[inline]
    #[cfg_attr(not(loom), allow(dead_code))]
    #[allow(unused_variables)]
    pub(crate) fn track_write(&self, off: usize, len: usize) {
        #[cfg(loom)]
        for i in off..off + len {
            // SAFETY: the shadow lives as long as the chunk; `i` is inside the chunk.
            unsafe { (*self.shadow.as_ptr())[i].with_mut(|_| ()) };
        }
    }

    /// Tells loom that bytes `off..off + len` are being read (no-op outside loom).
    #[inline]
    #[cfg_attr(not(loom), allow(dead_code))]
    #[allow(unused_variables)]
    pub(crate) fn track_read(&self, off: usize, len: usize) {
        #[cfg(loom)]
        for i in off..off + len {
            // SAFETY: as in `track_write`.
            unsafe { (*self.shadow.as_ptr())[i].with(|_| ()) };
        }
    }
}

struct PoolInner {
    chunk_size: usize,
    free: FreeList<Chunk>,
    /// `max_retained > 0` (the free list cannot be empty-sized, so 0 is handled here).
    retain: bool,
    /// Chunks that exist (allocated and not freed): `in_use` is this minus the retained ones.
    /// Changed only when a chunk is allocated or freed, so taking and giving back a retained
    /// chunk (the steady state) touches no counter: the free list's own atomic operation is the
    /// only one on that path. (Counting takes and returns cost a locked add each, on the
    /// writer right after it filled a chunk.)
    live: AtomicUsize,
    /// Chunks ever obtained from the allocator (for tests and statistics).
    allocated: AtomicUsize,
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        while let Some(chunk) = self.free.pop() {
            // SAFETY: every chunk in the free list was allocated by this pool with `chunk_size`.
            unsafe { chunk.free(self.chunk_size) };
        }
    }
}

/// A pool of fixed-size chunks, shared by every pipe that was given a clone of it.
///
/// Cloning is cheap (a reference count). Chunks come back when a reader consumes them; the pool
/// keeps at most `max_retained` idle chunks and frees the rest, so an idle program does not hold
/// memory it once needed.
///
/// ```
/// use ringpipe::{ChunkPool, PipeOptions};
/// let pool = ChunkPool::new(4096, 64).unwrap();
/// let opts = PipeOptions::builder().pool(pool.clone()).build().unwrap();
/// let (mut w, mut r) = ringpipe::pipe(opts);
/// w.write_all_blocking(b"hello").unwrap();
/// assert_eq!(pool.in_use(), 1);
/// let res = r.try_read().unwrap().unwrap();
/// let end = res.buffer().end();
/// r.advance_to(end, end).unwrap();
/// drop((w, r));
/// assert_eq!(pool.in_use(), 0);
/// assert_eq!(pool.retained(), 1);
/// ```
#[derive(Clone)]
pub struct ChunkPool {
    inner: Arc<PoolInner>,
}

impl fmt::Debug for ChunkPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkPool")
            .field("chunk_size", &self.chunk_size())
            .field("in_use", &self.in_use())
            .field("retained", &self.retained())
            .finish()
    }
}

impl ChunkPool {
    /// A pool of chunks of `chunk_size` bytes that keeps up to `max_retained` idle chunks.
    /// The free list for those is allocated here, two words per chunk (the chunks themselves
    /// are allocated when pipes first need them).
    ///
    /// # Errors
    /// [`OptionsError::ChunkSize`] if `chunk_size` is 0 or larger than [`MAX_CHUNK_SIZE`];
    /// [`OptionsError::Retention`] if `max_retained` is larger than [`MAX_RETAINED`]. Nothing
    /// is allocated then.
    pub fn new(chunk_size: usize, max_retained: usize) -> Result<ChunkPool, OptionsError> {
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(OptionsError::ChunkSize { chunk_size });
        }
        if max_retained > MAX_RETAINED {
            return Err(OptionsError::Retention {
                max_retained,
                max: MAX_RETAINED,
            });
        }
        Ok(ChunkPool {
            inner: Arc::new(PoolInner {
                chunk_size,
                free: FreeList::new(max_retained),
                retain: max_retained > 0,
                live: AtomicUsize::new(0),
                allocated: AtomicUsize::new(0),
            }),
        })
    }

    /// The process-wide pool for `chunk_size`, created on first use. Pipes built without an
    /// explicit pool use it, so their chunks are recycled across pipes. It keeps up to
    /// `8 MiB / chunk_size` idle chunks, but at least 64 and at most 4096 (the free list is
    /// allocated up front, one word per chunk it may keep).
    ///
    /// # Errors
    /// As [`ChunkPool::new`].
    pub fn global(chunk_size: usize) -> Result<ChunkPool, OptionsError> {
        let retained = ((8 << 20) / chunk_size.max(1)).clamp(64, 4096);
        #[cfg(loom)]
        {
            ChunkPool::new(chunk_size, retained)
        }
        #[cfg(not(loom))]
        {
            use std::collections::HashMap;
            use std::sync::{Mutex, OnceLock};
            static GLOBAL: OnceLock<Mutex<HashMap<usize, ChunkPool>>> = OnceLock::new();
            if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
                return Err(OptionsError::ChunkSize { chunk_size });
            }
            let map = GLOBAL.get_or_init(Default::default);
            let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(pool) = map.get(&chunk_size) {
                return Ok(pool.clone());
            }
            let pool = ChunkPool::new(chunk_size, retained)?;
            map.insert(chunk_size, pool.clone());
            Ok(pool)
        }
    }

    /// The size of every chunk of this pool, in bytes.
    pub fn chunk_size(&self) -> usize {
        self.inner.chunk_size
    }

    /// Chunks currently lent to pipes (held by a writer or holding unconsumed data).
    pub fn in_use(&self) -> usize {
        // Ordering: Relaxed; statistics, exact only when no pipe of the pool is running (as
        // the tests read it). While pipes run, the two reads may not agree (a chunk freed
        // between them); `saturating_sub` keeps that from wrapping.
        let retained = self.inner.free.len();
        let live = self.inner.live.load(Ordering::Relaxed);
        live.saturating_sub(retained)
    }

    /// Idle chunks kept for reuse.
    pub fn retained(&self) -> usize {
        self.inner.free.len()
    }

    /// Chunks obtained from the allocator since the pool was created.
    pub fn allocated(&self) -> usize {
        self.inner.allocated.load(Ordering::Relaxed)
    }

    /// Whether two handles name the same pool.
    pub fn same_pool(&self, other: &ChunkPool) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Takes a chunk: an idle one if there is one, else a new zeroed one.
    pub(crate) fn take(&self) -> Chunk {
        match self.inner.free.pop() {
            Some(chunk) => chunk,
            None => {
                // Ordering: Relaxed; statistics only.
                self.inner.live.fetch_add(1, Ordering::Relaxed);
                self.inner.allocated.fetch_add(1, Ordering::Relaxed);
                Chunk::alloc(self.inner.chunk_size)
            }
        }
    }

    /// Gives a chunk back.
    pub(crate) fn put(&self, chunk: Chunk) {
        let rejected = if self.inner.retain {
            self.inner.free.push(chunk).err()
        } else {
            Some(chunk)
        };
        if let Some(chunk) = rejected {
            // SAFETY: the chunk came from `take` of this pool, so it has this pool's size.
            unsafe { chunk.free(self.inner.chunk_size) };
            // Ordering: Relaxed; statistics only.
            self.inner.live.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Huge retention bounds used to panic ("capacity overflow") or abort the process (a free
    /// list of 2^40 slots allocated up front); they are refused now, before anything is
    /// allocated.
    #[test]
    fn huge_retention_is_refused_without_allocating() {
        for max_retained in [usize::MAX, usize::MAX / 8, 1 << 40, MAX_RETAINED + 1] {
            assert_eq!(
                ChunkPool::new(16, max_retained).unwrap_err(),
                OptionsError::Retention {
                    max_retained,
                    max: MAX_RETAINED
                }
            );
        }
        // The bound itself is accepted (a 16 MiB free list: skipped under Miri, where
        // initialising it takes minutes).
        if !cfg!(miri) {
            let pool = ChunkPool::new(16, MAX_RETAINED).expect("the bound is allowed");
            assert_eq!((pool.retained(), pool.allocated()), (0, 0));
        }
        // An invalid chunk size is reported first.
        assert_eq!(
            ChunkPool::new(0, usize::MAX).unwrap_err(),
            OptionsError::ChunkSize { chunk_size: 0 }
        );
    }
}
