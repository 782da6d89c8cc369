//! The in-process pipe: the ring protocol at home in one process, with its bytes in pooled
//! heap chunks ([`chunks`]) and its waits on wakers and parked threads ([`local_wakeup`]),
//! behind the two halves users hold ([`PipeWriter`], [`PipeReader`]).

pub(crate) mod canceller;
pub(crate) mod chunks;
pub mod future;
pub(crate) mod home;
pub(crate) mod local_wakeup;
pub(crate) mod options;
pub(crate) mod pool;
pub(crate) mod reader;
pub(crate) mod sequence;
pub(crate) mod wait;
pub(crate) mod writer;

use self::chunks::PooledChunks;
use self::local_wakeup::LocalWakeup;
use self::options::PipeOptions;
use self::reader::PipeReader;
use self::writer::PipeWriter;
use crate::error::ResetError;
use crate::protocol::{Ring, RingParams};
use crate::sync::Arc;

/// A unique tag for each pipe generation, so positions cannot cross pipes or resets. (A
/// process-wide counter, not part of the protocol, so it is a std atomic even under loom, which
/// has no statics; Relaxed: only uniqueness matters.)
pub(crate) fn next_tag() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Creates a pipe and returns its two halves.
///
/// ```
/// let (writer, reader) = ringpipe::pipe(Default::default());
/// drop((writer, reader));
/// ```
pub fn pipe(options: PipeOptions) -> (PipeWriter, PipeReader) {
    let params = RingParams {
        slots: options.slots,
        capacity: options.capacity as u64,
        pause: options.pause as u64,
        resume: options.resume as u64,
        fences: local_wakeup::fence_policy(&options),
    };
    let wakeup = LocalWakeup::new(&options);
    let storage = PooledChunks::new(options.slots, options.pool, params.fences);
    let ring = Arc::new(Ring::new(params, storage, wakeup));
    (
        PipeWriter::new(ring.clone()),
        PipeReader::new(ring, next_tag()),
    )
}

/// Makes a pipe whose both sides have completed usable again (.NET `Pipe.Reset`): empty,
/// no completion, no error, no pending cancel. Nothing is allocated; positions from before
/// the reset are refused afterwards.
///
/// ```
/// let (mut w, mut r) = ringpipe::pipe(Default::default());
/// w.complete();
/// r.complete();
/// ringpipe::reset(&mut w, &mut r).unwrap();
/// w.write_all_blocking(b"again").unwrap();
/// assert_eq!(r.try_read().unwrap().unwrap().buffer().to_vec(), b"again");
/// ```
///
/// # Errors
/// [`ResetError::NotCompleted`] unless both sides completed; [`ResetError::DifferentPipes`].
pub fn reset(writer: &mut PipeWriter, reader: &mut PipeReader) -> Result<(), ResetError> {
    if !Arc::ptr_eq(writer.ring(), reader.ring()) {
        return Err(ResetError::DifferentPipes);
    }
    if !writer.is_completed() || !reader.is_completed() {
        return Err(ResetError::NotCompleted {
            writer: writer.is_completed(),
            reader: reader.is_completed(),
        });
    }
    // SAFETY: both halves completed and are borrowed mutably: only cancel handles can reach
    // the ring meanwhile, and they touch its `state` word only.
    unsafe { writer.ring().reset() };
    writer.reset_local();
    reader.reset_local(next_tag());
    Ok(())
}
