//! pipe(2): one pipe for a stream, a pair of pipes (one each way) for round trips; blocking
//! reads and writes. The child's ends are inherited.

use std::io::{PipeReader, PipeWriter};

use crate::fdio;
use crate::harness::{self, ChildProc, ChildSpec, Job, Kind, Result};
use crate::{Outcome, Transport};

pub struct Pipe;

impl Transport for Pipe {
    fn name(&self) -> &'static str {
        "pipe"
    }

    fn describe(&self) -> &'static str {
        "pipe(2), a pair for round trips, blocking read/write"
    }

    fn measures(&self, _kind: Kind) -> bool {
        true
    }

    fn parent(&self, job: Job) -> Result<Outcome> {
        // Child to parent: every job has it.
        let (from_child, child_w) = std::io::pipe()?;
        let mut extra = vec![fdio::inheritable(&child_w)?];
        // Parent to child: round trips only.
        let to_child = match job {
            Job::Rtt { .. } => {
                let (child_r, to_child) = std::io::pipe()?;
                extra.push(fdio::inheritable(&child_r)?);
                Some((child_r, to_child))
            }
            Job::Stream { .. } => None,
        };
        let spec = ChildSpec {
            transport: self.name().into(),
            job,
            extra,
        };
        let mut child = ChildProc::spawn(&spec)?;
        drop(child_w);
        let to_child = to_child.map(|(child_r, w)| {
            drop(child_r);
            w
        });
        let outcome = match to_child {
            Some(w) => Outcome::Rtt(harness::rtt_over_stream(&mut child, job, w, from_child)?),
            None => Outcome::Stream(harness::read_stream(&mut child, job, from_child)?),
        };
        child.finish()?;
        Ok(outcome)
    }

    fn child(&self, spec: &ChildSpec) -> Result<()> {
        match (spec.job, &spec.extra[..]) {
            (Job::Rtt { .. }, [w, r]) => {
                let to_parent = PipeWriter::from(fdio::adopt(w)?);
                let from_parent = PipeReader::from(fdio::adopt(r)?);
                harness::child_ready()?;
                harness::echo_over_stream(spec.trips(), from_parent, to_parent)
            }
            (Job::Stream { .. }, [w]) => {
                let to_parent = PipeWriter::from(fdio::adopt(w)?);
                harness::child_ready()?;
                harness::write_stream(spec.job, to_parent)
            }
            _ => harness::fail(format!("pipe child: bad fds {:?}", spec.extra)),
        }
    }
}
