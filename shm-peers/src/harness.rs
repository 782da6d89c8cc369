//! What every transport shares: the parent/child protocol, the 64-byte messages of the
//! round trips, the byte pattern of the streams, the timing loops and their statistics.
//!
//! The parent creates the channel, spawns the child with [`ChildProc::spawn`] (the same binary
//! re-executed with [`CHILD_ARG`] and a [`ChildSpec`]), waits for the child's `ready` line on its
//! stdout, writes `go` to its stdin and starts the clock. The child sets its end up, calls
//! [`child_ready`], runs its side of the measurement and exits 0. Stdin and stdout of the child
//! carry only this handshake; the measured traffic goes over the transport.

use std::error::Error;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Errors of the benchmark: I/O errors and those of the transports' crates.
pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Builds an error from a message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(msg.into().into())
}

/// The size of a round-trip message.
pub const MSG_LEN: usize = 64;
/// One round-trip message.
pub type Msg = [u8; MSG_LEN];

/// The first argument that makes the binary run a child role.
pub const CHILD_ARG: &str = "__child";

/// How long a side waits for its peer before it gives up (a dead or stuck peer).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// What is measured in one parent/child run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// `warmup` untimed round trips, then `trips` timed ones.
    Rtt { warmup: u64, trips: u64 },
    /// The child writes `bytes` bytes in writes of `write_size`; the parent reads and checks them.
    Stream { bytes: u64, write_size: usize },
}

/// The kind of a [`Job`], for `--only` and [`crate::Transport::measures`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Rtt,
    Stream,
}

impl Job {
    pub fn kind(&self) -> Kind {
        match self {
            Job::Rtt { .. } => Kind::Rtt,
            Job::Stream { .. } => Kind::Stream,
        }
    }

    /// The measurement column of the table.
    pub fn label(&self) -> String {
        match *self {
            Job::Rtt { .. } => format!("rtt {MSG_LEN} B"),
            Job::Stream { write_size, .. } => format!("stream {}", size_label(write_size)),
        }
    }
}

fn size_label(n: usize) -> String {
    if n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

/// What the child is told on its command line: its transport, its side of the job, and the
/// transport's own arguments (file descriptor numbers, service names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildSpec {
    pub transport: String,
    pub job: Job,
    pub extra: Vec<String>,
}

impl ChildSpec {
    /// The round trips the child answers (warm-up and timed), or 0 for a stream.
    pub fn trips(&self) -> u64 {
        match self.job {
            Job::Rtt { warmup, trips } => warmup + trips,
            Job::Stream { .. } => 0,
        }
    }

    fn to_args(&self) -> Vec<String> {
        let mut args = vec![CHILD_ARG.to_string(), self.transport.clone()];
        match self.job {
            Job::Rtt { warmup, trips } => {
                args.extend(["rtt".into(), warmup.to_string(), trips.to_string()])
            }
            Job::Stream { bytes, write_size } => {
                args.extend(["stream".into(), bytes.to_string(), write_size.to_string()])
            }
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// Parses the arguments after [`CHILD_ARG`].
    pub fn from_args(args: &[String]) -> Result<ChildSpec> {
        let [transport, kind, a, b, extra @ ..] = args else {
            return fail(format!("child: bad arguments {args:?}"));
        };
        let job = match kind.as_str() {
            "rtt" => Job::Rtt {
                warmup: a.parse()?,
                trips: b.parse()?,
            },
            "stream" => Job::Stream {
                bytes: a.parse()?,
                write_size: b.parse()?,
            },
            _ => return fail(format!("child: unknown job {kind:?}")),
        };
        Ok(ChildSpec {
            transport: transport.clone(),
            job,
            extra: extra.to_vec(),
        })
    }
}

/// The parent's handle on its child process. Dropping it before [`ChildProc::finish`] (an
/// error on the parent's side) kills and reaps the child.
pub struct ChildProc {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ChildProc {
    /// Re-executes this binary in the child role. The child inherits exactly the descriptors
    /// whose close-on-exec flag the caller cleared (see `fdio::inheritable`), besides its
    /// standard streams; stderr is shared with the parent.
    pub fn spawn(spec: &ChildSpec) -> Result<ChildProc> {
        Self::spawn_with(spec, |_| Ok(()))
    }

    /// As [`spawn`](Self::spawn), with `prepare` called on the command first (to let the
    /// child inherit what a transport hands over at spawn, such as a ringpipe `PeerEnd`).
    pub fn spawn_with(
        spec: &ChildSpec,
        prepare: impl FnOnce(&mut Command) -> io::Result<()>,
    ) -> Result<ChildProc> {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        if let Some(cpu) = crate::cpu::child_cpu() {
            command.env(crate::cpu::CHILD_CPU_ENV, cpu.to_string());
        }
        prepare(&mut command)?;
        let mut child = command
            .args(spec.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("child has no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("child has no stdout")?);
        Ok(ChildProc {
            child: Some(child),
            stdin: Some(stdin),
            stdout,
        })
    }

    /// Waits for the child's `ready` line, then tells it to go. Other lines on the child's
    /// stdout (a library's log output) are passed on to stderr.
    pub fn ready_go(&mut self) -> Result<()> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                return fail("child exited before it was ready");
            }
            if line.trim_end() == "ready" {
                break;
            }
            eprint!("child: {line}");
        }
        let stdin = self.stdin.as_mut().ok_or("ready_go after finish")?;
        stdin.write_all(b"go\n")?;
        stdin.flush()?;
        Ok(())
    }

    /// Tells the child that the parent is done (closes its stdin), waits for it to exit and
    /// checks that it succeeded. Until then the child keeps its end open, so nothing it sent
    /// goes away before the parent has taken it.
    pub fn finish(mut self) -> Result<()> {
        drop(self.stdin.take());
        let mut child = self.child.take().expect("finish is called once");
        let status = child.wait()?;
        if !status.success() {
            return fail(format!("child failed: {status}"));
        }
        Ok(())
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The child's half of the handshake: says `ready` and waits for `go`.
pub fn child_ready() -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(b"ready\n")?;
    out.flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    if line.trim_end() != "go" {
        return fail(format!("child: expected go, got {line:?}"));
    }
    Ok(())
}

/// The child's last step: waits until the parent is done (its stdin closes).
pub fn child_wait_done() -> Result<()> {
    let mut rest = Vec::new();
    io::stdin().lock().read_to_end(&mut rest)?;
    if !rest.is_empty() {
        return fail(format!("child: unexpected input {rest:?}"));
    }
    Ok(())
}

/// The ping of round trip `i`: its number in the first 8 bytes, then bytes that depend on it.
pub fn ping_msg(i: u64) -> Msg {
    let mut m = [0u8; MSG_LEN];
    for (k, b) in m.iter_mut().enumerate() {
        *b = (i as u8).wrapping_add(k as u8);
    }
    m[..8].copy_from_slice(&i.to_le_bytes());
    m
}

/// The child's answer to a ping: every byte inverted, so that the parent sees the child read it.
pub fn pong_of(ping: &Msg) -> Msg {
    let mut m = *ping;
    for b in &mut m {
        *b = !*b;
    }
    m
}

fn check_pong(ping: &Msg, pong: &Msg) -> Result<()> {
    if *pong != pong_of(ping) {
        let i = u64::from_le_bytes(ping[..8].try_into().unwrap());
        return fail(format!("round trip {i}: wrong answer {pong:?}"));
    }
    Ok(())
}

/// Round-trip times of one run, in nanoseconds.
#[derive(Clone, Debug)]
pub struct RttStats {
    pub trips: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

impl RttStats {
    /// Statistics of the samples (sorts them).
    pub fn from_samples(samples: &mut [u64]) -> RttStats {
        assert!(!samples.is_empty());
        samples.sort_unstable();
        let n = samples.len();
        // Nearest rank: the smallest sample with at least p% of the samples at or below it.
        let rank = |p: usize| samples[(n * p).div_ceil(100).max(1) - 1];
        RttStats {
            trips: n as u64,
            p50: rank(50),
            p99: rank(99),
            max: samples[n - 1],
            mean: samples.iter().map(|&s| s as f64).sum::<f64>() / n as f64,
        }
    }
}

/// The parent's timing loop, after the handshake with `child`: [`time_trips`].
pub fn time_round_trips(
    child: &mut ChildProc,
    job: Job,
    trip: impl FnMut(&Msg, &mut Msg) -> Result<()>,
) -> Result<RttStats> {
    child.ready_go()?;
    time_trips(job, trip)
}

/// The timing loop: `trip(ping, pong)` sends `ping` to the other side and waits for its answer
/// in `pong`; each answer is checked. One clock reading per trip: a sample runs from the end of
/// the previous trip to the end of this one (so it includes building the ping and checking the
/// previous pong, a few ns).
pub fn time_trips(
    job: Job,
    mut trip: impl FnMut(&Msg, &mut Msg) -> Result<()>,
) -> Result<RttStats> {
    let Job::Rtt { warmup, trips } = job else {
        return fail("time_trips: not a round-trip job");
    };
    if trips == 0 {
        return fail("no round trips to time");
    }
    let mut pong = [0u8; MSG_LEN];
    for i in 0..warmup {
        let ping = ping_msg(i);
        trip(&ping, &mut pong)?;
        check_pong(&ping, &pong)?;
    }
    let mut samples = Vec::with_capacity(trips as usize);
    let mut last = Instant::now();
    for i in warmup..warmup + trips {
        let ping = ping_msg(i);
        trip(&ping, &mut pong)?;
        let now = Instant::now();
        samples.push((now - last).as_nanos() as u64);
        last = now;
        check_pong(&ping, &pong)?;
    }
    Ok(RttStats::from_samples(&mut samples))
}

/// Parent side of round trips over a byte stream (a socket, a pair of pipes): write 64 bytes,
/// read 64 bytes, blocking.
pub fn rtt_over_stream(
    child: &mut ChildProc,
    job: Job,
    mut to_child: impl Write,
    mut from_child: impl Read,
) -> Result<RttStats> {
    time_round_trips(child, job, |ping, pong| {
        to_child.write_all(ping)?;
        from_child.read_exact(pong)?;
        Ok(())
    })
}

/// Child side of round trips over a byte stream: answers `trips` pings.
pub fn echo_over_stream(
    trips: u64,
    mut from_parent: impl Read,
    mut to_parent: impl Write,
) -> Result<()> {
    let mut ping = [0u8; MSG_LEN];
    for _ in 0..trips {
        from_parent.read_exact(&mut ping)?;
        to_parent.write_all(&pong_of(&ping))?;
    }
    Ok(())
}

/// The stream's content: the byte at position `p` is `(p * 7 + 13) as u8`, which repeats every
/// 256 bytes, so any run of it is a slice of one table.
pub struct Pattern {
    table: Vec<u8>,
}

impl Pattern {
    /// A table for runs of up to `max_len` bytes.
    pub fn new(max_len: usize) -> Pattern {
        let table = (0..256 + max_len)
            .map(|p| (p.wrapping_mul(7).wrapping_add(13)) as u8)
            .collect();
        Pattern { table }
    }

    /// The `len` bytes of the stream from position `pos`.
    pub fn at(&self, pos: u64, len: usize) -> &[u8] {
        let start = (pos % 256) as usize;
        &self.table[start..start + len]
    }

    /// Checks `got`, read from position `pos`, byte by byte against the pattern.
    pub fn check(&self, pos: u64, got: &[u8]) -> Result<()> {
        let want = self.at(pos, got.len());
        if got != want {
            let k = got.iter().zip(want).position(|(g, w)| g != w).unwrap();
            return fail(format!(
                "stream byte {} is {:#04x}, expected {:#04x}",
                pos + k as u64,
                got[k],
                want[k]
            ));
        }
        Ok(())
    }
}

/// The parent's read buffer for streams.
pub const STREAM_READ_BUF: usize = 64 * 1024;

/// Throughput of one stream run.
#[derive(Clone, Debug)]
pub struct StreamStats {
    pub bytes: u64,
    pub elapsed: Duration,
}

impl StreamStats {
    /// Gigabytes (10^9 bytes) per second.
    pub fn gb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64() / 1e9
    }
}

/// Parent side of a stream over a reader: reads everything in [`STREAM_READ_BUF`] reads,
/// checks every byte against its position, and then expects the end of the stream. The clock
/// starts when the parent says `go` and stops at the last byte.
pub fn read_stream(
    child: &mut ChildProc,
    job: Job,
    mut from_child: impl Read,
) -> Result<StreamStats> {
    let Job::Stream { bytes, .. } = job else {
        return fail("read_stream: not a stream job");
    };
    let pattern = Pattern::new(STREAM_READ_BUF);
    let mut buf = vec![0u8; STREAM_READ_BUF];
    child.ready_go()?;
    let start = Instant::now();
    let mut pos = 0u64;
    while pos < bytes {
        let want = (bytes - pos).min(buf.len() as u64) as usize;
        let n = from_child.read(&mut buf[..want])?;
        if n == 0 {
            return fail(format!("stream ended at byte {pos} of {bytes}"));
        }
        pattern.check(pos, &buf[..n])?;
        pos += n as u64;
    }
    let elapsed = start.elapsed();
    if from_child.read(&mut buf[..1])? != 0 {
        return fail("the child wrote more than it was asked to");
    }
    Ok(StreamStats { bytes, elapsed })
}

/// Child side of a stream over a writer: writes the pattern in writes of `write_size`.
pub fn write_stream(job: Job, mut to_parent: impl Write) -> Result<()> {
    let Job::Stream { bytes, write_size } = job else {
        return fail("write_stream: not a stream job");
    };
    let pattern = Pattern::new(write_size);
    let mut pos = 0u64;
    while pos < bytes {
        let n = (bytes - pos).min(write_size as u64) as usize;
        to_parent.write_all(pattern.at(pos, n))?;
        pos += n as u64;
    }
    to_parent.flush()?;
    Ok(())
}

/// Busy-polls `poll` until it yields a value; gives up after [`PEER_TIMEOUT`] without one. The
/// clock is read only every 2^16 polls, so that an answer found early costs no clock reading.
pub fn spin_until<T>(mut poll: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let mut polls: u32 = 0;
    let mut deadline: Option<Instant> = None;
    loop {
        if let Some(v) = poll()? {
            return Ok(v);
        }
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(1 << 16) {
            let now = Instant::now();
            match deadline {
                None => deadline = Some(now + PEER_TIMEOUT),
                Some(d) if now > d => return fail(format!("peer silent for {PEER_TIMEOUT:?}")),
                Some(_) => {}
            }
        }
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_spec_round_trips_through_args() {
        for job in [
            Job::Rtt {
                warmup: 3,
                trips: 7,
            },
            Job::Stream {
                bytes: 1 << 20,
                write_size: 1024,
            },
        ] {
            let spec = ChildSpec {
                transport: "pipe".into(),
                job,
                extra: vec!["4".into(), "5".into()],
            };
            let args = spec.to_args();
            assert_eq!(args[0], CHILD_ARG);
            assert_eq!(ChildSpec::from_args(&args[1..]).unwrap(), spec);
        }
    }

    #[test]
    fn pattern_is_position_determined() {
        let p = Pattern::new(1000);
        for pos in [0u64, 1, 255, 256, 1 << 40] {
            let run = p.at(pos, 1000);
            for (k, &b) in run.iter().enumerate() {
                assert_eq!(b, ((pos + k as u64) * 7 + 13) as u8);
            }
        }
        let mut bad = p.at(300, 10).to_vec();
        bad[4] ^= 1;
        let err = p.check(300, &bad).unwrap_err().to_string();
        assert!(err.contains("byte 304"), "{err}");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut s: Vec<u64> = (1..=100).rev().collect();
        let st = RttStats::from_samples(&mut s);
        assert_eq!((st.p50, st.p99, st.mean), (50, 99, 50.5));
        let st = RttStats::from_samples(&mut [7]);
        assert_eq!((st.p50, st.p99), (7, 7));
    }

    #[test]
    fn streams_in_memory() {
        let job = Job::Stream {
            bytes: 100_000,
            write_size: 1024,
        };
        let mut out = Vec::new();
        write_stream(job, &mut out).unwrap();
        assert_eq!(out.len(), 100_000);
        Pattern::new(out.len()).check(0, &out).unwrap();
    }
}
