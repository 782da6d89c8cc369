//! ringpipe: its pipe over shared memory between two processes (`ringpipe::shm`), and its
//! in-process pipe between two threads, the reference the shared one is held to.
//!
//! Rows (each a [`Ringpipe`]):
//! - `ringpipe-shm-spin`: round trips over two shared rings (one each way; the parent creates
//!   both, the child attaches to both with the handles it inherited). Both sides busy-poll
//!   `try_read`; a message is written with `try_get_memory`, `advance` and `commit`.
//! - `ringpipe-shm-default`: round trips with the blocking calls (`write_all_blocking`,
//!   `read_blocking`) and default options: each wait spins (adaptively, up to 20 µs), then
//!   parks. Streams: the child writes the pattern with `get_memory_blocking`, `advance` and
//!   `flush_blocking`; the parent reads with `read_blocking`, checks every byte in place by its
//!   position and consumes with `advance_to`.
//! - `ringpipe-shm-pause64k`: the streams with the in-process default pause threshold (64 KiB)
//!   set: a shared ring has none by default (its writer waits only when the ring is full).
//! - `ringpipe-inproc-spin`, `ringpipe-inproc`: the same loops over `ringpipe::pipe` between
//!   two threads of the parent (under `--pin split` the second thread runs on the child's CPU);
//!   `ringpipe-inproc-nopause`: the in-process streams with no pause threshold, as the shared
//!   ring's default.
//!
//! The rings have the default options (1 MiB capacity, 16 KiB chunks; a pause threshold of
//! 64 KiB in process, none in shared memory).

use std::sync::{Arc, Barrier};
use std::time::Instant;

use ringpipe::shm::{self, PeerEnd, SharedReader, SharedWriter};
use ringpipe::{Home, PipeOptions, PipeReader, PipeWriter, SpinWait, WriteError};

use crate::harness::{
    self, fail, ChildProc, ChildSpec, Job, Kind, Msg, Pattern, Result, RttStats, StreamStats,
    MSG_LEN, STREAM_READ_BUF,
};
use crate::{cpu, Outcome, Transport};

/// Where the two ends are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Two processes, over `ringpipe::shm`.
    Shm,
    /// Two threads of one process, over `ringpipe::pipe`.
    InProc,
}

/// How a side waits in the round trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Busy-polls `try_read`; writes with `try_get_memory` and `commit`.
    Spin,
    /// The blocking calls, which spin as the options say and then park.
    Block,
}

/// The ring's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ring {
    /// `PipeOptions::default()`.
    Default,
    /// The default capacity, with no pause threshold.
    NoPause,
    /// The default capacity, with the in-process default pause threshold set.
    Pause64K,
}

impl Ring {
    fn options(self) -> Result<PipeOptions> {
        Ok(match self {
            Ring::Default => PipeOptions::default(),
            Ring::NoPause => PipeOptions::builder().pause_writer_threshold(0).build()?,
            Ring::Pause64K => PipeOptions::builder()
                .pause_writer_threshold(64 << 10)
                .build()?,
        })
    }
}

/// One ringpipe row.
pub struct Ringpipe {
    name: &'static str,
    describe: &'static str,
    place: Place,
    wait: Wait,
    ring: Ring,
    kinds: &'static [Kind],
}

/// The rows, in the order of the table.
pub fn variants() -> Vec<Ringpipe> {
    vec![
        Ringpipe {
            name: "ringpipe-shm-spin",
            describe:
                "ringpipe::shm, a ring each way, busy-polling try_read, try_get_memory+commit",
            place: Place::Shm,
            wait: Wait::Spin,
            ring: Ring::Default,
            kinds: &[Kind::Rtt],
        },
        Ringpipe {
            name: "ringpipe-shm-default",
            describe:
                "ringpipe::shm, default options, blocking calls (spin up to 20 µs, then park)",
            place: Place::Shm,
            wait: Wait::Block,
            ring: Ring::Default,
            kinds: &[Kind::Rtt, Kind::Stream],
        },
        Ringpipe {
            name: "ringpipe-shm-pause64k",
            describe: "ringpipe::shm, blocking, with a 64 KiB pause threshold set (the in-process default)",
            place: Place::Shm,
            wait: Wait::Block,
            ring: Ring::Pause64K,
            kinds: &[Kind::Stream],
        },
        Ringpipe {
            name: "ringpipe-inproc-spin",
            describe: "in-process ringpipe::pipe, two threads, a pipe each way, busy-polling",
            place: Place::InProc,
            wait: Wait::Spin,
            ring: Ring::Default,
            kinds: &[Kind::Rtt],
        },
        Ringpipe {
            name: "ringpipe-inproc",
            describe: "in-process ringpipe::pipe, two threads, default options, blocking calls",
            place: Place::InProc,
            wait: Wait::Block,
            ring: Ring::Default,
            kinds: &[Kind::Rtt, Kind::Stream],
        },
        Ringpipe {
            name: "ringpipe-inproc-nopause",
            describe: "in-process ringpipe::pipe, two threads, blocking, no pause threshold",
            place: Place::InProc,
            wait: Wait::Block,
            ring: Ring::NoPause,
            kinds: &[Kind::Stream],
        },
    ]
}

impl Transport for Ringpipe {
    fn name(&self) -> &'static str {
        self.name
    }

    fn describe(&self) -> &'static str {
        self.describe
    }

    fn measures(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }

    fn busy_polls(&self) -> bool {
        // The blocking calls spin too before they park, but give up on a spin that fails.
        self.wait == Wait::Spin
    }

    fn parent(&self, job: Job) -> Result<Outcome> {
        let options = self.ring.options()?;
        match (self.place, job) {
            (Place::Shm, Job::Rtt { .. }) => self.shm_rtt(job, options).map(Outcome::Rtt),
            (Place::Shm, Job::Stream { .. }) => shm_stream(self.name, job, options),
            (Place::InProc, Job::Rtt { .. }) => self.inproc_rtt(job, options).map(Outcome::Rtt),
            (Place::InProc, Job::Stream { .. }) => inproc_stream(job, options),
        }
    }

    fn child(&self, spec: &ChildSpec) -> Result<()> {
        if self.place != Place::Shm {
            return fail(format!("{}: runs in one process, no child", self.name));
        }
        match (spec.job, &spec.extra[..]) {
            (Job::Rtt { .. }, [from_parent, to_parent]) => {
                // SAFETY: the parent made both descriptors for this child alone (PeerEnd::inherit
                // clears close-on-exec for it only); nothing else in this process owns them, and
                // each handle is taken once.
                let mut r = unsafe { SharedReader::from_handle_string(from_parent, spin()) }?;
                // SAFETY: as above.
                let mut w = unsafe { SharedWriter::from_handle_string(to_parent, spin()) }?;
                harness::child_ready()?;
                echo(&mut r, &mut w, spec.trips(), self.wait)?;
                // Keep both ends until the parent has its last answer: an end dropped now could
                // read as the peer gone before the parent took it.
                harness::child_wait_done()
            }
            (Job::Stream { .. }, [to_parent]) => {
                // SAFETY: as above.
                let mut w = unsafe { SharedWriter::from_handle_string(to_parent, spin()) }?;
                harness::child_ready()?;
                write_pattern(&mut w, spec.job)?;
                w.complete();
                harness::child_wait_done()
            }
            _ => fail(format!("{} child: bad handles {:?}", self.name, spec.extra)),
        }
    }
}

/// Every end's spin before parking: the default (the rings' options carry the same).
fn spin() -> SpinWait {
    SpinWait::default()
}

/// Spawns the child with `peers` inherited (their handles are the child's arguments, in
/// order), then drops this process's copies: the child's exit must hang them up.
fn spawn_with_peers(name: &str, job: Job, peers: Vec<PeerEnd>) -> Result<ChildProc> {
    let spec = ChildSpec {
        transport: name.into(),
        job,
        extra: peers.iter().map(PeerEnd::handle_string).collect(),
    };
    let child = ChildProc::spawn_with(&spec, |cmd| {
        for p in &peers {
            p.inherit(cmd)?;
        }
        Ok(())
    })?;
    drop(peers);
    Ok(child)
}

impl Ringpipe {
    fn shm_rtt(&self, job: Job, options: PipeOptions) -> Result<RttStats> {
        let (mut to_child, child_reads) = shm::writer(options.clone())?;
        let (mut from_child, child_writes) = shm::reader(options)?;
        let mut child = spawn_with_peers(self.name, job, vec![child_reads, child_writes])?;
        let wait = self.wait;
        let stats = harness::time_round_trips(&mut child, job, |ping, pong| {
            send(&mut to_child, ping, wait)?;
            *pong = recv(&mut from_child, wait)?;
            Ok(())
        })?;
        child.finish()?;
        Ok(stats)
    }

    fn inproc_rtt(&self, job: Job, options: PipeOptions) -> Result<RttStats> {
        let (mut to_thread, mut thread_reads) = ringpipe::pipe(options.clone());
        let (mut thread_writes, mut from_thread) = ringpipe::pipe(options);
        let (wait, trips) = (self.wait, trips_of(job));
        let echoer = std::thread::spawn(move || -> std::result::Result<(), String> {
            cpu::apply_in_child_thread().map_err(|e| e.to_string())?;
            echo(&mut thread_reads, &mut thread_writes, trips, wait).map_err(|e| e.to_string())
        });
        let stats = harness::time_trips(job, |ping, pong| {
            send(&mut to_thread, ping, wait)?;
            *pong = recv(&mut from_thread, wait)?;
            Ok(())
        });
        // On an error the echoing thread may be stuck waiting: complete our ends to release it.
        to_thread.complete();
        from_thread.complete();
        let echoed = echoer.join().map_err(|_| "the echoing thread panicked")?;
        both(stats, echoed)
    }
}

/// The result of the measuring thread, failed with both errors if the other thread failed too
/// (either may be the cause: an error on one side completes its ends, which fails the other).
fn both<T>(measured: Result<T>, other: std::result::Result<(), String>) -> Result<T> {
    match (measured, other) {
        (Ok(v), Ok(())) => Ok(v),
        (Err(e), Ok(())) => Err(e),
        (Ok(_), Err(o)) => fail(format!("the other thread: {o}")),
        (Err(e), Err(o)) => fail(format!("{e}; the other thread: {o}")),
    }
}

fn trips_of(job: Job) -> u64 {
    match job {
        Job::Rtt { warmup, trips } => warmup + trips,
        Job::Stream { .. } => 0,
    }
}

/// The child's stream: it writes, the parent reads and checks.
fn shm_stream(name: &str, job: Job, options: PipeOptions) -> Result<Outcome> {
    let (mut r, child_writes) = shm::reader(options)?;
    let mut child = spawn_with_peers(name, job, vec![child_writes])?;
    let stats = read_pattern(&mut r, job, || child.ready_go())?;
    child.finish()?;
    Ok(Outcome::Stream(stats))
}

/// The same between two threads; the clock starts when both are at the barrier.
fn inproc_stream(job: Job, options: PipeOptions) -> Result<Outcome> {
    let (mut w, mut r) = ringpipe::pipe(options);
    let start = Arc::new(Barrier::new(2));
    let go = start.clone();
    let writer = std::thread::spawn(move || -> std::result::Result<(), String> {
        let pinned = cpu::apply_in_child_thread().map_err(|e| e.to_string());
        go.wait();
        pinned?;
        write_pattern(&mut w, job).map_err(|e| e.to_string())?;
        w.complete();
        Ok(())
    });
    let stats = read_pattern(&mut r, job, || {
        start.wait();
        Ok(())
    });
    // On an error the writing thread may be stuck waiting for room: release it.
    r.complete();
    let written = writer.join().map_err(|_| "the writing thread panicked")?;
    both(stats, written).map(Outcome::Stream)
}

/// Sends one message.
fn send<H: Home>(w: &mut PipeWriter<H>, msg: &Msg, wait: Wait) -> Result<()> {
    match wait {
        Wait::Spin => {
            harness::spin_until(|| match w.try_get_memory(MSG_LEN) {
                Ok(mem) => {
                    mem[..MSG_LEN].copy_from_slice(msg);
                    Ok(Some(()))
                }
                Err(WriteError::Full { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            })?;
            w.advance(MSG_LEN);
            w.commit();
        }
        // A reader that completed shows as `is_completed`, but that is no failure here: the
        // other side completes once it has the last message, maybe before this flush returns.
        // A reader that is gone too soon fails the next `recv`, since its side's writer goes
        // with it.
        Wait::Block => {
            w.write_all_blocking(msg)?;
        }
    }
    Ok(())
}

/// Receives one message.
fn recv<H: Home>(r: &mut PipeReader<H>, wait: Wait) -> Result<Msg> {
    match wait {
        Wait::Spin => harness::spin_until(|| take_msg(r, false)),
        Wait::Block => loop {
            if let Some(msg) = take_msg(r, true)? {
                return Ok(msg);
            }
        },
    }
}

/// One read (waiting if `block`): the next message if it is all there, consumed; otherwise
/// `None`, what is there examined (the next read waits for more).
fn take_msg<H: Home>(r: &mut PipeReader<H>, block: bool) -> Result<Option<Msg>> {
    let res = if block {
        r.read_blocking()?
    } else {
        match r.try_read()? {
            Some(res) => res,
            None => return Ok(None),
        }
    };
    let buf = res.buffer();
    if buf.len() >= MSG_LEN {
        let mut msg = [0u8; MSG_LEN];
        let it = buf.slice(..MSG_LEN);
        it.copy_to_slice(&mut msg);
        let end = it.end();
        r.advance_to(end, end)?;
        return Ok(Some(msg));
    }
    if res.is_completed() {
        return fail(format!(
            "the writer completed {} bytes into a message",
            buf.len()
        ));
    }
    let (start, end) = (buf.start(), buf.end());
    r.advance_to(start, end)?;
    Ok(None)
}

/// Answers `trips` pings.
fn echo<H: Home>(
    r: &mut PipeReader<H>,
    w: &mut PipeWriter<H>,
    trips: u64,
    wait: Wait,
) -> Result<()> {
    for _ in 0..trips {
        let ping = recv(r, wait)?;
        send(w, &harness::pong_of(&ping), wait)?;
    }
    Ok(())
}

/// The writing side of a stream: the pattern in writes of the job's size, each one
/// `get_memory_blocking`, a copy, `advance` and `flush_blocking`.
fn write_pattern<H: Home>(w: &mut PipeWriter<H>, job: Job) -> Result<()> {
    let Job::Stream { bytes, write_size } = job else {
        return fail("write_pattern: not a stream job");
    };
    let pattern = Pattern::new(write_size);
    let mut pos = 0u64;
    while pos < bytes {
        let n = (bytes - pos).min(write_size as u64) as usize;
        let mem = w.get_memory_blocking(n)?;
        mem[..n].copy_from_slice(pattern.at(pos, n));
        w.advance(n);
        if w.flush_blocking()?.is_completed() {
            return fail(format!("the reader completed at byte {pos}"));
        }
        pos += n as u64;
    }
    Ok(())
}

/// The reading side of a stream: `go` starts the writer (and the clock), then every byte is
/// checked in place against its position and consumed; the clock stops at the last byte, and
/// the stream must then end.
fn read_pattern<H: Home>(
    r: &mut PipeReader<H>,
    job: Job,
    go: impl FnOnce() -> Result<()>,
) -> Result<StreamStats> {
    let Job::Stream { bytes, .. } = job else {
        return fail("read_pattern: not a stream job");
    };
    let pattern = Pattern::new(STREAM_READ_BUF);
    go()?;
    let start = Instant::now();
    let mut pos = 0u64;
    while pos < bytes {
        let res = r.read_blocking()?;
        let buf = res.buffer();
        if buf.len() as u64 > bytes - pos {
            return fail("the writer wrote more than it was asked to");
        }
        for chunk in buf.chunks() {
            for piece in chunk.chunks(STREAM_READ_BUF) {
                pattern.check(pos, piece)?;
                pos += piece.len() as u64;
            }
        }
        let (end, completed) = (buf.end(), res.is_completed());
        r.advance_to(end, end)?;
        if completed && pos < bytes {
            return fail(format!("stream ended at byte {pos} of {bytes}"));
        }
    }
    let elapsed = start.elapsed();
    let res = r.read_blocking()?;
    if !res.buffer().is_empty() || !res.is_completed() {
        return fail("the writer wrote more than it was asked to");
    }
    Ok(StreamStats { bytes, elapsed })
}
