//! The ring in shared memory between two processes (Linux): [`sys`], the system calls under it.

pub(crate) mod sys;
