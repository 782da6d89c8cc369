//! A Unix socketpair (SOCK_STREAM), blocking reads and writes. The child's end is inherited.

use std::os::unix::net::UnixStream;

use crate::fdio;
use crate::harness::{self, ChildProc, ChildSpec, Job, Kind, Result};
use crate::{Outcome, Transport};

pub struct SocketPair;

impl Transport for SocketPair {
    fn name(&self) -> &'static str {
        "socketpair"
    }

    fn describe(&self) -> &'static str {
        "Unix socketpair(AF_UNIX, SOCK_STREAM), blocking read/write"
    }

    fn measures(&self, _kind: Kind) -> bool {
        true
    }

    fn parent(&self, job: Job) -> Result<Outcome> {
        let (mine, theirs) = UnixStream::pair()?;
        let spec = ChildSpec {
            transport: self.name().into(),
            job,
            extra: vec![fdio::inheritable(&theirs)?],
        };
        let mut child = ChildProc::spawn(&spec)?;
        drop(theirs);
        let outcome = match job {
            Job::Rtt { .. } => {
                Outcome::Rtt(harness::rtt_over_stream(&mut child, job, &mine, &mine)?)
            }
            Job::Stream { .. } => Outcome::Stream(harness::read_stream(&mut child, job, &mine)?),
        };
        child.finish()?;
        Ok(outcome)
    }

    fn child(&self, spec: &ChildSpec) -> Result<()> {
        let [fd] = &spec.extra[..] else {
            return harness::fail("socketpair child: expected one fd");
        };
        let sock = UnixStream::from(fdio::adopt(fd)?);
        harness::child_ready()?;
        match spec.job {
            Job::Rtt { .. } => harness::echo_over_stream(spec.trips(), &sock, &sock),
            Job::Stream { .. } => harness::write_stream(spec.job, &sock),
        }
    }
}
