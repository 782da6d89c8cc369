//! Streams a large volume between two pinned threads and shows GB/s (live, then final),
//! latency under load (timestamps embedded in the data) and a 64-byte ping-pong round trip.
//!
//! ```sh
//! cargo run --release --example throughput                       # ringpipe, spin, 16 KiB writes, 1 MiB ring, ~5 s
//! cargo run --release --example throughput -- --peer rtrb        # the same workload over rtrb
//! cargo run --release --example throughput -- --mode blocking --size 1024
//! cargo run --release --example throughput -- --peer ospipe --bytes 4G
//! ```
//!
//! Options:
//! * `--peer ringpipe|rtrb|ringbuf|bbqueue|ospipe|socketpair|piper|async-ringbuf|duplex`
//! * `--mode spin|blocking|async` (ringpipe only; the peers run in the mode they support:
//!   rtrb, ringbuf and bbqueue spin, OS pipe and socketpair block, the async peers run as two
//!   tokio tasks on two cores)
//! * `--size BYTES` per write (default 16K), `--capacity BYTES` (default 1M),
//!   `--bytes BYTES` in all (default: about 5 seconds' worth, calibrated by a short first run),
//!   `--spin N` (ringpipe's `spin_before_park`; default 0: the default adaptive spinning), `--trips N` (ping-pong, default
//!   100000). Sizes take K, M, G suffixes (powers of 1024).
//!
//! Every byte is verified against a position-based pattern. The producer runs on core 0 and
//! the consumer on core 1; every 64 KiB (or every write, if larger) the producer puts its
//! clock in the first 8 bytes of a write, and the consumer turns it into a latency.

#[path = "../benches/common/mod.rs"]
mod common;

use common::peers;
use common::{
    async_stream, blocking_stream, fmt_ns, human, pcts, pingpong_async, pingpong_blocking,
    pingpong_spin, spin_stream, AsyncMode, Run, Spec, Stamp, Trips,
};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Spin,
    Blocking,
    Async,
}

struct Opts {
    peer: String,
    mode: Mode,
    size: usize,
    cap: usize,
    bytes: Option<u64>,
    spin: u32,
    trips: usize,
}

fn parse_size(s: &str) -> u64 {
    let s = s.trim();
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let v: f64 = num
        .parse()
        .unwrap_or_else(|_| usage(&format!("bad size {s:?}")));
    (v * mult as f64) as u64
}

fn usage(err: &str) -> ! {
    eprintln!(
        "error: {err}\nusage: throughput [--peer ringpipe|rtrb|ringbuf|bbqueue|ospipe|socketpair|piper|async-ringbuf|duplex]\n       [--mode spin|blocking|async] [--size 16K] [--capacity 1M] [--bytes 8G] [--spin N] [--trips N]"
    );
    std::process::exit(2)
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            peer: "ringpipe".into(),
            mode: Mode::Spin,
            size: 16 << 10,
            cap: 1 << 20,
            bytes: None,
            spin: 0,
            trips: 100_000,
        };
        let mut mode = None;
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = || {
                args.next()
                    .unwrap_or_else(|| usage(&format!("{a} needs a value")))
            };
            match a.as_str() {
                "--peer" => o.peer = val(),
                "--mode" => {
                    mode = Some(match val().as_str() {
                        "spin" => Mode::Spin,
                        "blocking" => Mode::Blocking,
                        "async" => Mode::Async,
                        m => usage(&format!("unknown mode {m:?}")),
                    })
                }
                "--size" => o.size = parse_size(&val()) as usize,
                "--capacity" => o.cap = parse_size(&val()) as usize,
                "--bytes" => o.bytes = Some(parse_size(&val())),
                "--spin" => o.spin = val().parse().unwrap_or_else(|_| usage("--spin N")),
                "--trips" => o.trips = val().parse().unwrap_or_else(|_| usage("--trips N")),
                "-h" | "--help" => usage("help"),
                other => usage(&format!("unknown argument {other:?}")),
            }
        }
        let natural = match o.peer.as_str() {
            "ringpipe" => mode.unwrap_or(Mode::Spin),
            "rtrb" | "ringbuf" | "bbqueue" => Mode::Spin,
            "ospipe" | "socketpair" => Mode::Blocking,
            "piper" | "async-ringbuf" | "duplex" => Mode::Async,
            p => usage(&format!("unknown peer {p:?}")),
        };
        if let Some(m) = mode {
            if m != natural {
                usage(&format!("{} runs in {natural:?} mode only", o.peer));
            }
        }
        o.mode = natural;
        if o.size == 0 || o.size > common::MAX_MSG {
            usage(&format!("--size must be 1..={}", common::MAX_MSG));
        }
        if o.size > o.cap {
            usage("--size must not exceed --capacity");
        }
        o
    }

    fn label(&self) -> String {
        let mode = match self.mode {
            Mode::Spin => "spin",
            Mode::Blocking => "blocking",
            Mode::Async => "async, two tokio runtimes on two cores",
        };
        let spin = if self.peer == "ringpipe" && self.mode == Mode::Spin {
            ", asymmetric wake fences".to_string()
        } else if self.peer == "ringpipe" && self.spin > 0 {
            format!(", spin_before_park({}), asymmetric wake fences", self.spin)
        } else if self.peer == "ringpipe" {
            ", default options: adaptive spin before park".to_string()
        } else {
            String::new()
        };
        format!(
            "{} ({mode}{spin}), {} writes, {} capacity",
            self.peer,
            human(self.size),
            human(self.cap)
        )
    }
}

/// One stream over the chosen implementation.
fn stream(o: &Opts, spec: &Spec) -> Run {
    let cap = o.cap;
    match (o.peer.as_str(), o.mode) {
        ("ringpipe", Mode::Spin) => {
            // Busy-polling: nobody parks, so no fence on the publish path.
            let (t, r) = peers::ringpipe_spinning(cap);
            spin_stream(t, r, spec)
        }
        ("ringpipe", Mode::Blocking) => {
            let (t, r) = peers::ringpipe(cap, o.spin);
            blocking_stream(t, r, spec)
        }
        ("ringpipe", Mode::Async) => {
            let (t, r) = peers::ringpipe(cap, o.spin);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        ("rtrb", _) => {
            let (t, r) = peers::rtrb(cap);
            spin_stream(t, r, spec)
        }
        ("ringbuf", _) => {
            let (t, r) = peers::ringbuf(cap);
            spin_stream(t, r, spec)
        }
        ("bbqueue", _) => peers::with_bbqueue(cap, |t, r| spin_stream(t, r, spec)),
        ("ospipe", _) => {
            let (t, r) = peers::os_pipe(cap);
            blocking_stream(t, r, spec)
        }
        ("socketpair", _) => {
            let (t, r) = peers::socketpair(cap);
            blocking_stream(t, r, spec)
        }
        ("piper", _) => {
            let (t, r) = peers::piper(cap);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        ("async-ringbuf", _) => {
            let (t, r) = peers::async_ringbuf(cap);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        ("duplex", _) => {
            let (t, r) = peers::duplex(cap);
            async_stream(AsyncMode::Cross, t, r, spec)
        }
        (p, m) => unreachable!("{p} in {m:?}"),
    }
}

/// 64-byte ping-pong over two pipes of the chosen implementation.
fn pingpong(o: &Opts) -> Trips {
    const CAP: usize = 64 << 10;
    let n = o.trips;
    let x2 = AsyncMode::Cross;
    match (o.peer.as_str(), o.mode) {
        ("ringpipe", mode) => {
            let make = || {
                if mode == Mode::Spin {
                    peers::ringpipe_spinning(CAP)
                } else {
                    peers::ringpipe(CAP, o.spin)
                }
            };
            let ((t1, r1), (t2, r2)) = (make(), make());
            match mode {
                Mode::Spin => pingpong_spin((t1, r2), (r1, t2), n, true),
                Mode::Blocking => pingpong_blocking((t1, r2), (r1, t2), n, true),
                Mode::Async => pingpong_async(x2, (t1, r2), (r1, t2), n, true),
            }
        }
        ("rtrb", _) => {
            let ((t1, r1), (t2, r2)) = (peers::rtrb(CAP), peers::rtrb(CAP));
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }
        ("ringbuf", _) => {
            let ((t1, r1), (t2, r2)) = (peers::ringbuf(CAP), peers::ringbuf(CAP));
            pingpong_spin((t1, r2), (r1, t2), n, true)
        }
        ("bbqueue", _) => peers::with_bbqueue(CAP, |t1, r1| {
            peers::with_bbqueue(CAP, |t2, r2| pingpong_spin((t1, r2), (r1, t2), n, true))
        }),
        ("ospipe", _) => {
            let ((t1, r1), (t2, r2)) = (peers::os_pipe(CAP), peers::os_pipe(CAP));
            pingpong_blocking((t1, r2), (r1, t2), n, true)
        }
        ("socketpair", _) => {
            let ((t1, r1), (t2, r2)) = (peers::socketpair(CAP), peers::socketpair(CAP));
            pingpong_blocking((t1, r2), (r1, t2), n, true)
        }
        ("piper", _) => {
            let ((t1, r1), (t2, r2)) = (peers::piper(CAP), peers::piper(CAP));
            pingpong_async(x2, (t1, r2), (r1, t2), n, true)
        }
        ("async-ringbuf", _) => {
            let ((t1, r1), (t2, r2)) = (peers::async_ringbuf(CAP), peers::async_ringbuf(CAP));
            pingpong_async(x2, (t1, r2), (r1, t2), n, true)
        }
        ("duplex", _) => {
            let ((t1, r1), (t2, r2)) = (peers::duplex(CAP), peers::duplex(CAP));
            pingpong_async(x2, (t1, r2), (r1, t2), n, true)
        }
        (p, m) => unreachable!("{p} in {m:?}"),
    }
}

/// About `secs` seconds' worth of bytes, from short runs of the same workload.
fn calibrate(o: &Opts, secs: f64) -> u64 {
    let mut total: u64 = 32 << 20;
    loop {
        let total_aligned = total / o.size as u64 * o.size as u64;
        let run = stream(o, &Spec::plain(o.size, total_aligned.max(o.size as u64)));
        if run.elapsed >= Duration::from_millis(100) || total >= 8 << 30 {
            let bytes = (run.bytes as f64 / run.elapsed.as_secs_f64() * secs) as u64;
            return (bytes / o.size as u64).max(1) * o.size as u64;
        }
        total *= 4;
    }
}

fn gb(b: f64) -> String {
    format!("{:.2} GB", b / 1e9)
}

fn main() {
    let o = Opts::parse();
    eprintln!("throughput: {}", o.label());
    let bytes = match o.bytes {
        Some(b) => (b / o.size as u64).max(1) * o.size as u64,
        None => {
            eprint!("calibrating ... ");
            let b = calibrate(&o, 5.0);
            eprintln!("{} for about 5 s", gb(b as f64));
            b
        }
    };
    let progress = Arc::new(AtomicU64::new(0));
    let period = (o.size as u64) * (65536 / o.size as u64).max(1);
    let spec = Spec {
        size: o.size,
        total: bytes,
        stamp: (o.size >= 8).then(|| Stamp {
            base: Instant::now(),
            period,
        }),
        progress: Some(progress.clone()),
    };

    // Stream on two pinned threads; show progress from this one.
    let run = std::thread::scope(|s| {
        let h = s.spawn(|| stream(&o, &spec));
        let start = Instant::now();
        let mut err = std::io::stderr();
        while !h.is_finished() {
            std::thread::sleep(Duration::from_millis(200));
            let done = progress.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64();
            let frac = done as f64 / bytes as f64;
            let bar: String = (0..30)
                .map(|i| if (i as f64) < frac * 30.0 { '#' } else { '.' })
                .collect();
            let _ = write!(
                err,
                "\r  [{bar}] {:>5.1}%  {} / {}  {:>6.2} GB/s so far ",
                frac * 100.0,
                gb(done as f64),
                gb(bytes as f64),
                done as f64 / secs / 1e9
            );
            let _ = err.flush();
        }
        let _ = writeln!(err);
        h.join().expect("stream panicked")
    });

    let mut lat = run.latencies_ns.clone();
    let lp = pcts(&mut lat);
    println!("{}", o.label());
    println!(
        "  streamed {} in {:.2} s: {:.2} GB/s ({:.2} GiB/s), every byte verified",
        gb(run.bytes as f64),
        run.elapsed.as_secs_f64(),
        run.gbps(),
        run.bytes as f64 / run.elapsed.as_secs_f64() / (1u64 << 30) as f64
    );
    if lp.n > 0 {
        println!(
            "  latency under load (producer clock embedded every {}, {} samples): p50 {}  p99 {}  p99.9 {}  max {}",
            human(period as usize),
            lp.n,
            fmt_ns(lp.p50 as f64),
            fmt_ns(lp.p99 as f64),
            fmt_ns(lp.p999 as f64),
            fmt_ns(*lat.last().unwrap_or(&0) as f64)
        );
    }
    eprint!("ping-pong ({} round trips of 64 bytes) ... ", o.trips);
    let mut t = pingpong(&o);
    eprintln!("done");
    let pp = pcts(&mut t.latencies_ns);
    println!(
        "  64-byte ping-pong round trip (two pipes, 64 KiB each, {} trips): p50 {}  p99 {}  p99.9 {}  mean {}",
        pp.n,
        fmt_ns(pp.p50 as f64),
        fmt_ns(pp.p99 as f64),
        fmt_ns(pp.p999 as f64),
        fmt_ns(pp.mean)
    );
}
