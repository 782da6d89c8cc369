//! Two processes over `ringpipe::shm` (Linux), next to a Unix socketpair.
//!
//! ```text
//! cargo run --release --example shm_stream              # 512 MiB streams, 200000 round trips
//! cargo run --release --example shm_stream -- --quick   # a smoke run: its figures mean little
//! ```
//!
//! The parent makes a shared ring with `shm::reader` (two, one each way, for round trips) and
//! re-executes this program as its child (`--child ROLE ...`), which inherits the ring's other
//! end (`PeerEnd::inherit`) and attaches to it with the handle string on its command line. The
//! child writes a stream in 1 KiB or 16 KiB writes, or answers 64-byte pings; the parent checks
//! every byte of the stream by its position, and every answer. Then the same over a socketpair,
//! whose end the child inherits as its stdin. A wrong byte or a failed child: a non-zero exit.

use ringpipe::shm::{self, PeerEnd, SharedReader, SharedWriter};
use ringpipe::{PipeOptions, SpinWait, WriteError};
use std::io::{Read, Write};
use std::os::{fd::AsFd, unix::net::UnixStream};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
type Msg = [u8; 64];
/// One round trip: sends the first message, receives the answer into the second.
type Trip<'a> = dyn FnMut(&Msg, &mut Msg) -> Result<()> + 'a;

/// `len` bytes (at most 64 KiB) of the stream from `pos`: byte `p` is `p % 251` (a prime, so a
/// chunk of any power-of-two size lost or repeated shifts the pattern).
fn pattern(pos: usize, len: usize) -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| (0..251 + (64 << 10)).map(|p| (p % 251) as u8).collect());
    &table[pos % 251..][..len]
}

/// Runs this program as the child `role`, inheriting `peers` (dropped here once it runs, so
/// that its exit hangs them up) and `socket` as its stdin.
fn spawn(role: &[&str], peers: Vec<PeerEnd>, socket: Option<UnixStream>) -> Result<Child> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--child").args(role);
    for p in &peers {
        p.inherit(&mut cmd)?;
    }
    if let Some(s) = socket {
        cmd.stdin(Stdio::from(std::os::fd::OwnedFd::from(s)));
    }
    Ok(cmd.spawn()?)
}

fn finish(mut child: Child) -> Result<()> {
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the child failed: {status}").into());
    }
    Ok(())
}

/// GB/s of a stream of `total` bytes in writes of `size` from the child, over a shared ring or
/// a socket; every byte is checked, and the clock runs from the end of the first read.
fn stream(total: usize, size: usize, over_shm: bool) -> Result<f64> {
    let (t, s) = (total.to_string(), size.to_string());
    let (mut pos, mut start) = (0, None);
    let mut check = |bytes: &[u8]| -> Result<()> {
        if bytes != pattern(pos, bytes.len()) {
            return Err(format!("a wrong byte in {pos}..{}", pos + bytes.len()).into());
        }
        pos += bytes.len();
        start.get_or_insert((Instant::now(), pos));
        Ok(())
    };
    let child = if over_shm {
        let (mut r, peer) = shm::reader(PipeOptions::default())?;
        let handle = peer.handle_string();
        let child = spawn(&["shm-write", &handle, &t, &s], vec![peer], None)?;
        loop {
            let res = r.read_blocking()?;
            res.buffer().chunks().try_for_each(&mut check)?;
            let (end, done) = (res.buffer().end(), res.is_completed());
            r.advance_to(end, end)?;
            if done {
                break child;
            }
        }
    } else {
        let (mut mine, theirs) = UnixStream::pair()?;
        let child = spawn(&["sock-write", &t, &s], vec![], Some(theirs))?;
        let mut buf = vec![0; 64 << 10];
        loop {
            match mine.read(&mut buf)? {
                0 => break child,
                n => check(&buf[..n])?,
            }
        }
    };
    let (t0, n0) = start.ok_or("an empty stream")?;
    let gb_per_s = (total - n0) as f64 / t0.elapsed().as_secs_f64() / 1e9;
    finish(child)?;
    if pos != total {
        return Err(format!("the stream ended at byte {pos} of {total}").into());
    }
    Ok(gb_per_s)
}

/// Sends a message: busy-polling for room, or with the blocking call.
fn send(w: &mut SharedWriter, msg: &Msg, spin: bool) -> Result<()> {
    if !spin {
        w.write_all_blocking(msg)?;
        return Ok(());
    }
    loop {
        match w.try_get_memory(64) {
            Ok(mem) => break mem[..64].copy_from_slice(msg),
            Err(WriteError::Full { .. }) => std::hint::spin_loop(),
            Err(e) => return Err(e.into()),
        }
    }
    w.advance(64);
    w.commit();
    Ok(())
}

/// Receives a message (busy-polling, or with the blocking call), which arrives whole: the other
/// side commits its 64 bytes at once.
fn recv(r: &mut SharedReader, msg: &mut Msg, spin: bool) -> Result<()> {
    let res = loop {
        if !spin {
            break r.read_blocking()?;
        }
        if let Some(res) = r.try_read()? {
            break res;
        }
        std::hint::spin_loop();
    };
    let buf = res.buffer();
    if buf.len() < 64 {
        return Err(format!("{} bytes, not a message", buf.len()).into());
    }
    buf.slice(..64).copy_to_slice(msg);
    let end = buf.position(64);
    Ok(r.advance_to(end, end)?)
}

/// p50 and p99 (ns) of `trips` round trips to `child`, after `trips / 10` untimed ones.
fn time(trips: usize, child: Child, trip: &mut Trip) -> Result<[u64; 2]> {
    let mut samples = Vec::with_capacity(trips + trips / 10);
    for i in 0..trips + trips / 10 {
        let (ping, mut pong): (Msg, Msg) = (std::array::from_fn(|k| (i + k) as u8), [0; 64]);
        let t0 = Instant::now();
        trip(&ping, &mut pong)?;
        samples.push(t0.elapsed().as_nanos() as u64);
        if pong != ping.map(|b| !b) {
            return Err(format!("round trip {i}: a wrong answer").into());
        }
    }
    finish(child)?;
    let timed = &mut samples[trips / 10..];
    timed.sort_unstable();
    Ok([timed[trips / 2], timed[trips * 99 / 100]])
}

/// Round trips over two shared rings, busy-polling (`spin`) or with the blocking calls.
fn shm_trips(trips: usize, spin: bool) -> Result<[u64; 2]> {
    let (mut to, child_reads) = shm::writer(PipeOptions::default())?;
    let (mut from, child_writes) = shm::reader(PipeOptions::default())?;
    let handles = [child_reads.handle_string(), child_writes.handle_string()];
    let n = (trips + trips / 10).to_string();
    let mode = if spin { "spin" } else { "default" };
    let role = ["shm-echo", &handles[0], &handles[1], &n, mode];
    let child = spawn(&role, vec![child_reads, child_writes], None)?;
    time(trips, child, &mut |ping, pong| {
        send(&mut to, ping, spin)?;
        recv(&mut from, pong, spin)
    })
}

/// Round trips over a socketpair, blocking.
fn socket_trips(trips: usize) -> Result<[u64; 2]> {
    let (mut mine, theirs) = UnixStream::pair()?;
    let n = (trips + trips / 10).to_string();
    let child = spawn(&["sock-echo", &n], vec![], Some(theirs))?;
    time(trips, child, &mut |ping, pong| {
        mine.write_all(ping)?;
        Ok(mine.read_exact(pong)?)
    })
}

fn child(args: &[String]) -> Result<()> {
    let num = |i: usize| -> Result<usize> { Ok(args[i].parse()?) };
    let socket =
        || -> Result<UnixStream> { Ok(std::io::stdin().as_fd().try_clone_to_owned()?.into()) };
    match args[0].as_str() {
        "shm-write" => {
            // SAFETY: the parent made this descriptor for this child and passed its number;
            // nothing else in this process owns it.
            let mut w = unsafe { SharedWriter::from_handle_string(&args[1], SpinWait::default())? };
            let (total, size) = (num(2)?, num(3)?);
            for pos in (0..total).step_by(size) {
                let n = size.min(total - pos);
                w.get_memory_blocking(n)?[..n].copy_from_slice(pattern(pos, n));
                w.advance(n);
                w.flush_blocking()?;
            }
            w.complete();
        }
        "sock-write" => {
            let (mut s, total, size) = (socket()?, num(1)?, num(2)?);
            for pos in (0..total).step_by(size) {
                s.write_all(pattern(pos, size.min(total - pos)))?;
            }
        }
        "shm-echo" => {
            // SAFETY: as for "shm-write" (two descriptors, each taken once).
            let mut r = unsafe { SharedReader::from_handle_string(&args[1], SpinWait::default())? };
            // SAFETY: as above.
            let mut w = unsafe { SharedWriter::from_handle_string(&args[2], SpinWait::default())? };
            let (mut msg, spin) = ([0; 64], args[4] == "spin");
            for _ in 0..num(3)? {
                recv(&mut r, &mut msg, spin)?;
                send(&mut w, &msg.map(|b| !b), spin)?;
            }
            w.complete(); // before the exit: the parent reads the last answer, not "gone"
        }
        "sock-echo" => {
            let (mut s, mut msg) = (socket()?, [0; 64]);
            for _ in 0..num(1)? {
                s.read_exact(&mut msg)?;
                s.write_all(&msg.map(|b| !b))?;
            }
        }
        r => return Err(format!("unknown role {r}").into()),
    }
    Ok(())
}

fn parent(quick: bool) -> Result<()> {
    let total: usize = if quick { 4 << 20 } else { 512 << 20 };
    let trips = if quick { 2_000 } else { 200_000 };
    println!(
        "two processes: {} MiB per stream, {trips} round trips",
        total >> 20
    );
    let head = ["", "ringpipe::shm", "socketpair", "shm gain"];
    println!(
        "{:<30} {:>13} {:>11} {:>9}",
        head[0], head[1], head[2], head[3]
    );
    for size in [1 << 10, 16 << 10] {
        let (shm, sock) = (stream(total, size, true)?, stream(total, size, false)?);
        let what = format!("stream {} KiB writes, GB/s", size >> 10);
        println!("{what:<30} {shm:>13.2} {sock:>11.2} {:>8.1}x", shm / sock);
    }
    let sock = socket_trips(trips)?;
    for (mode, spin) in [("spin", true), ("default", false)] {
        let shm = shm_trips(trips, spin)?;
        for (i, p) in ["p50", "p99"].into_iter().enumerate() {
            let what = format!("rtt 64 B {mode}, {p} ns");
            let gain = sock[i] as f64 / shm[i] as f64;
            println!("{what:<30} {:>13} {:>11} {gain:>8.1}x", shm[i], sock[i]);
        }
    }
    Ok(())
}

/// A child role (`--child ROLE ...`), or the parent (`--quick`: a smoke run). An error (a wrong
/// byte, a failed child) exits non-zero.
fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => child(&args[1..]),
        Some("--quick") => parent(true),
        None => parent(false),
        Some(a) => Err(format!("unknown argument {a:?} (--quick, or nothing)").into()),
    }
}
