//! ringpipe's shared-memory pipe and the peers it is measured against, each between two
//! processes: a Unix socketpair, pipe(2) and iceoryx2; and ringpipe's in-process pipe between
//! two threads, the reference for the shared one ([`targets`] prints the ratios it is held to).
//! A separate crate, so that iceoryx2 (a large dependency) is built only for this benchmark,
//! never by ringpipe's own `cargo test`.
//!
//! A transport is one [`Transport`]: its parent side sets the channel up, spawns the child (this
//! binary again, see [`harness::ChildProc`]) and measures with the harness's loops; its child
//! side opens the other end and answers. Adding one is a module and a line in [`transports`].

pub mod cpu;
pub mod fdio;
pub mod harness;
pub mod iceoryx;
pub mod pipe;
pub mod ringpipe;
pub mod socket;
pub mod targets;

use harness::{ChildSpec, Job, Kind, Result, RttStats, StreamStats};

/// What one parent run measured.
#[derive(Clone, Debug)]
pub enum Outcome {
    Rtt(RttStats),
    Stream(StreamStats),
}

/// A channel between two processes.
pub trait Transport {
    /// Its name in the table and on the child's command line (no spaces).
    fn name(&self) -> &'static str;
    /// One line on what exactly is measured.
    fn describe(&self) -> &'static str;
    /// Whether it takes part in this kind of measurement.
    fn measures(&self, kind: Kind) -> bool;
    /// Whether a side waits by busy-polling (then both processes on one CPU, `--pin same`,
    /// would only measure the scheduler's time slice, and it is skipped).
    fn busy_polls(&self) -> bool {
        false
    }
    /// Parent side: set up, spawn the child with a [`ChildSpec`] naming this transport, measure
    /// `job`, and wait for the child.
    fn parent(&self, job: Job) -> Result<Outcome>;
    /// Child side, in the re-executed binary: open the end described by `spec.extra`, call
    /// [`harness::child_ready`], do its part of `spec.job`.
    fn child(&self, spec: &ChildSpec) -> Result<()>;
}

/// Every transport, in the order of the table.
pub fn transports() -> Vec<Box<dyn Transport>> {
    let mut all: Vec<Box<dyn Transport>> = vec![Box::new(socket::SocketPair), Box::new(pipe::Pipe)];
    for v in iceoryx::variants() {
        all.push(Box::new(v));
    }
    for v in ringpipe::variants() {
        all.push(Box::new(v));
    }
    all
}

/// Runs the child role: `args` are the arguments after [`harness::CHILD_ARG`].
pub fn run_child(args: &[String]) -> Result<()> {
    iceoryx::quiet_logs();
    cpu::apply_in_child()?;
    let spec = ChildSpec::from_args(args)?;
    let all = transports();
    let transport = all
        .iter()
        .find(|t| t.name() == spec.transport)
        .ok_or_else(|| format!("child: unknown transport {:?}", spec.transport))?;
    transport.child(&spec)?;
    harness::child_wait_done()
}
