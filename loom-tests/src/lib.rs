//! Shared helpers for the loom models in `tests/` (see `README.md`).
//!
//! Everything here only exists under `--cfg loom`: the models are built and run with
//! `RUSTFLAGS="--cfg loom"`, which also switches ringpipe's `src/sync/` shim to loom's
//! atomics, cells, wakers and free list, so the models check the real protocol code.
#![cfg(loom)]

use ringpipe::{ChunkPool, PipeOptions, PipeReader, PipeWriter};

/// A tiny pipe: `capacity` bytes in chunks of `chunk` bytes from a fresh pool (returned, so
/// that a model can check `in_use() == 0` at the end), with the given pause and resume
/// thresholds (`pause == 0`: no backpressure).
///
/// Must be called inside `loom::model` (the pool and the shared state hold loom objects).
pub fn tiny_pipe(
    capacity: usize,
    chunk: usize,
    pause: usize,
    resume: usize,
) -> (PipeWriter, PipeReader, ChunkPool) {
    let pool = ChunkPool::new(chunk, 4).expect("valid pool");
    let mut builder = PipeOptions::builder()
        .capacity(capacity)
        .chunk_size(chunk)
        .pool(pool.clone())
        .pause_writer_threshold(pause);
    if pause != 0 {
        builder = builder.resume_writer_threshold(resume);
    }
    let opts = builder.build().expect("valid options");
    let (writer, reader) = ringpipe::pipe(opts);
    (writer, reader, pool)
}

/// What one blocking read returned, copied out so that the reader can advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    /// The bytes of the buffer (all flushed, unconsumed bytes).
    pub bytes: Vec<u8>,
    /// `ReadResult::is_completed`.
    pub completed: bool,
    /// `ReadResult::is_canceled`.
    pub canceled: bool,
}

/// Reads with `read_blocking`, consumes and examines everything, and returns what was read.
/// Panics on a read error.
pub fn read_all_blocking(reader: &mut PipeReader) -> Got {
    let result = reader.read_blocking().expect("read_blocking");
    let buf = result.buffer();
    let got = Got {
        bytes: buf.to_vec(),
        completed: result.is_completed(),
        canceled: result.is_canceled(),
    };
    let end = buf.end();
    reader.advance_to(end, end).expect("advance_to(end, end)");
    got
}

/// Drains the reader until the writer's completion, checking that the bytes arrive in order
/// and equal `expected` exactly. Every read must bring something new (a byte or the
/// completion): a read that returns nothing new would mean a spurious wake-up satisfied it.
/// Returns the number of reads it took.
pub fn drain_expect(reader: &mut PipeReader, expected: &[u8]) -> usize {
    let mut seen = Vec::new();
    let mut reads = 0;
    loop {
        let got = read_all_blocking(reader);
        reads += 1;
        assert!(!got.canceled, "nobody canceled this read");
        assert!(
            got.bytes.len() <= reader.capacity(),
            "the ring held more than its capacity: {got:?}"
        );
        assert!(
            !got.bytes.is_empty() || got.completed,
            "a read returned with nothing new: {got:?}"
        );
        seen.extend_from_slice(&got.bytes);
        assert!(
            expected.starts_with(&seen),
            "bytes out of order or corrupted: got {seen:?}, expected a prefix of {expected:?}"
        );
        if got.completed {
            break;
        }
    }
    assert_eq!(seen, expected, "bytes lost");
    reads
}

/// Writes `bytes` with `get_memory_blocking` + `advance` + `commit` (publish, no flush).
pub fn put(writer: &mut PipeWriter, bytes: &[u8]) {
    let mem = writer
        .get_memory_blocking(bytes.len())
        .expect("get_memory_blocking");
    mem[..bytes.len()].copy_from_slice(bytes);
    writer.advance(bytes.len());
    writer.commit();
}
