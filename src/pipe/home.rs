//! Where a pipe's ring lives, named by the halves' type parameter: [`InProcess`] (the default:
//! pooled heap chunks, wakers and parked threads) or a mapping shared with another process
//! (`shm`). Every method of [`PipeWriter`](crate::PipeWriter) and
//! [`PipeReader`](crate::PipeReader) is written once, for every home; each home gets its own
//! compiled copy, so the in-process pipe pays nothing for the others.

use super::chunks::PooledChunks;
use super::local_wakeup::LocalWakeup;
pub(crate) mod sealed {
    use crate::protocol::{Storage, Wakeup};

    /// What a home is made of; a private trait (its module is), so only this crate names
    /// homes.
    pub trait Sealed {
        /// Where the ring's words and bytes live.
        type Storage: Storage + 'static;
        /// How its sides wait and wake each other.
        type Wakeup: Wakeup + 'static;
    }
}

/// Where a pipe's ring lives: the type parameter of [`PipeWriter`](crate::PipeWriter) and
/// [`PipeReader`](crate::PipeReader). Sealed: the homes are [`InProcess`] and, on Linux,
/// [`SharedMemory`](crate::shm::SharedMemory).
pub trait Home: sealed::Sealed + Send + Sync + 'static {}

/// The home of [`pipe`](crate::pipe()): both halves in one process, the ring's bytes in chunks
/// of a [`ChunkPool`](crate::ChunkPool). The default type parameter of the halves.
#[derive(Debug)]
pub enum InProcess {}

impl sealed::Sealed for InProcess {
    type Storage = PooledChunks;
    type Wakeup = LocalWakeup;
}

impl Home for InProcess {}
