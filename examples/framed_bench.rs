//! Length-delimited frames through `tokio_util::codec::Framed` over a ringpipe duplex end,
//! against the same over `tokio::io::duplex`, in the same run, on a multi-thread runtime with
//! 2 workers and on a current_thread runtime.
//!
//! ```sh
//! cargo run --profile lto --features tokio --example framed_bench              # ~1-2 min
//! cargo run --profile lto --features tokio --example framed_bench -- --quick   # ~15 s
//! cargo run --profile lto --features tokio --example framed_bench -- --tuned   # + 64 KiB chunks
//! cargo run --profile lto --features tokio --example framed_bench -- --fences  # + each fixed WakeFences
//! cargo run --profile lto --features tokio --example framed_bench -- --spin    # + SpinWait::Never
//! cargo run --profile lto --features tokio --example framed_bench -- --modes send --flavors ct --sizes 16,4K --reps 9
//! ```
//!
//! **Scenario.** Two tasks on one runtime, one in-process connection. The sender wraps one end
//! in `Framed::new(end, LengthDelimitedCodec::new())` (a 4-byte big-endian length before each
//! frame) and sends `n` frames of one size, each a `&[u8]` slice of a fixed table (the codec
//! copies it into its write buffer; no allocation per frame); the receiver wraps the other end
//! the same way and takes the frames with `StreamExt::next`, checking each one's length and
//! every byte (`memcmp`), then the count and the end of the stream (the sender's `close` shuts
//! its end down). Frame `i` starts at offset `7 * i % 251` of the table (a hash of the
//! position), so a lost, repeated or reordered frame shows up. Timed: from the first send to
//! the last frame checked; frames/s, and MB/s of frame payload (without the length headers).
//!
//! **Send modes** (a table each):
//! * `send`: `SinkExt::send` per frame, which encodes, writes and flushes each frame (a
//!   request/response protocol's pattern);
//! * `feed+flush/64`: `SinkExt::feed` per frame and `SinkExt::flush` every 64 frames and at the
//!   end (a streaming producer's); `FramedWrite` also writes its buffer out whenever it holds
//!   8 KiB or more.
//!
//! **Implementations.**
//! * `ringpipe`: `ringpipe::duplex_pair` with the default options: each direction a pipe of
//!   16 KiB chunks, 1 MiB capacity, pause threshold 64 KiB. Through the tokio traits a write
//!   copies what fits in the current chunk into the pipe and commits it; a flush is the pipe's
//!   flush (pending while the pipe is paused).
//! * `tokio 64K`: `tokio::io::duplex(64 * 1024)`, a capacity equal to ringpipe's default pause
//!   threshold (how far a flushing writer may get ahead before it waits);
//! * `tokio 1M`: `tokio::io::duplex(1024 * 1024)`, ringpipe's default capacity;
//! * with `--tuned`, `ringpipe 64K chunks`: `duplex_pair` with `chunk_size(64 * 1024)`, the
//!   rest default.
//!
//! Frame sizes 16 B, 64 B, 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB (`--sizes`). For each cell
//! (mode × runtime × size) one untimed warm-up run of each implementation (16 MiB, at most
//! 100,000 frames) also sets the volume: each timed run sends as many frames as take about
//! 0.15 s (`--quick`: 0.03 s) at the median of the warm-ups' rates, the same number for every
//! implementation. Every run has a fresh runtime and a fresh duplex pair.
//!
//! **Repetitions.** Each cell runs every implementation `--reps` times (default 5, `--quick`
//! 3), interleaved: repetition by repetition, alternating the order. Reported: the median
//! frames/s and MB/s, the ratio of each ringpipe row to each tokio duplex of the medians with
//! the range of the paired ratios (repetition by repetition), and how many cores other
//! processes kept busy during the cell (/proc/stat). Printed and written to
//! `target/ringpipe-bench/framed_bench.md`.

#[path = "../benches/common/mod.rs"]
mod common;
mod net_bench;

use futures_util::{SinkExt, StreamExt};
use net_bench::{fmt_ratio, interleaved, loadavg, machine, now_utc, others_during, stat, Flavor};
use ringpipe::{SpinWait, WakeFences, DEFAULT_SPIN_WAIT};
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// The frame sizes.
const SIZES: [usize; 7] = [16, 64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10];
/// The period of the frames' start offsets in the table.
const PERIOD: usize = 251;
/// `feed+flush/64`'s flush interval.
const FLUSH_EVERY: usize = 64;

/// A hash of the position, `PERIOD + 64 KiB` bytes: frame `i` is the slice at `7 * i % PERIOD`.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..PERIOD + SIZES[SIZES.len() - 1])
            .map(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes()[0])
            .collect()
    })
}

fn frame(i: usize, size: usize) -> &'static [u8] {
    let off = 7 * i % PERIOD;
    &table()[off..off + size]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Send,
    Feed,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Send => "send (a flush per frame)",
            Mode::Feed => "feed+flush/64",
        }
    }
}

/// Sends `n` frames of `size` bytes (`Encoder<&[u8]>`: the codec copies each into its write
/// buffer after the length), then closes the sink.
async fn sender<T: AsyncRead + AsyncWrite + Unpin>(io: T, mode: Mode, n: usize, size: usize) {
    let mut sink = Framed::new(io, LengthDelimitedCodec::new());
    for i in 0..n {
        let f = frame(i, size);
        match mode {
            Mode::Send => sink.send(f).await.expect("send"),
            Mode::Feed => {
                sink.feed(f).await.expect("feed");
                if (i + 1) % FLUSH_EVERY == 0 {
                    SinkExt::<&[u8]>::flush(&mut sink).await.expect("flush");
                }
            }
        }
    }
    SinkExt::<&[u8]>::close(&mut sink).await.expect("close");
}

/// Receives and checks `n` frames of `size` bytes and the end of the stream.
async fn receiver<T: AsyncRead + AsyncWrite + Unpin>(io: T, n: usize, size: usize) {
    let mut stream = Framed::new(io, LengthDelimitedCodec::new());
    let mut i = 0;
    while let Some(f) = stream.next().await {
        let f = f.expect("a frame");
        assert!(
            i < n && f[..] == *frame(i, size),
            "frame {i} is wrong ({} bytes)",
            f.len()
        );
        i += 1;
    }
    assert_eq!(i, n, "frames received");
}

#[derive(Clone, Copy, Debug)]
enum Impl {
    /// `duplex_pair` with chunks of this size (the default 16 KiB, or 64 KiB with `--tuned`),
    /// the other options default.
    Ringpipe(usize, WakeFences, SpinWait),
    TokioDuplex(usize),
}

/// The implementations: ringpipe (the first) and the tokio duplexes it is compared with.
const IMPLS: [(&str, Impl); 3] = [
    (
        "ringpipe",
        Impl::Ringpipe(16 << 10, WakeFences::Auto, DEFAULT_SPIN_WAIT),
    ),
    ("tokio 64K", Impl::TokioDuplex(64 << 10)),
    ("tokio 1M", Impl::TokioDuplex(1 << 20)),
];
/// `--tuned` adds it: what a user would try first.
const TUNED: (&str, Impl) = (
    "ringpipe 64K chunks",
    Impl::Ringpipe(64 << 10, WakeFences::Auto, DEFAULT_SPIN_WAIT),
);
/// `--spin` adds it: no spinning before a wait parks.
const NO_SPIN: (&str, Impl) = (
    "ringpipe no spin",
    Impl::Ringpipe(16 << 10, WakeFences::Auto, SpinWait::Never),
);
/// `--fences` adds them: the default chunks with each fixed fence mode, against the default
/// adaptive one.
const FENCES: [(&str, Impl); 2] = [
    (
        "ringpipe symmetric",
        Impl::Ringpipe(16 << 10, WakeFences::Symmetric, DEFAULT_SPIN_WAIT),
    ),
    (
        "ringpipe asymmetric",
        Impl::Ringpipe(16 << 10, WakeFences::Asymmetric, DEFAULT_SPIN_WAIT),
    ),
];

/// Times the sender and the receiver over `a` and `b` (already on the runtime).
async fn stream<T>(a: T, b: T, mode: Mode, n: usize, size: usize) -> f64
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let start = Instant::now();
    let rx = tokio::spawn(receiver(b, n, size));
    let tx = tokio::spawn(sender(a, mode, n, size));
    rx.await.expect("receiver");
    let secs = start.elapsed().as_secs_f64();
    tx.await.expect("sender");
    secs
}

/// One run on a fresh runtime; seconds.
fn run(flavor: Flavor, imp: Impl, mode: Mode, n: usize, size: usize) -> f64 {
    let rt = flavor.runtime();
    let secs = rt.block_on(async {
        match imp {
            Impl::Ringpipe(chunk, fences, spin) => {
                let options = ringpipe::PipeOptions::builder()
                    .chunk_size(chunk)
                    .wake_fences(fences)
                    .spin_wait(spin)
                    .build();
                let (a, b) = ringpipe::duplex_pair(options.expect("valid options"));
                stream(a, b, mode, n, size).await
            }
            Impl::TokioDuplex(cap) => {
                let (a, b) = tokio::io::duplex(cap);
                stream(a, b, mode, n, size).await
            }
        }
    });
    rt.shutdown_background();
    secs
}

fn main() {
    common::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut reps, mut target, mut sizes) = (5, 0.15, SIZES.to_vec());
    let (mut modes, mut flavors) = (vec![Mode::Send, Mode::Feed], Flavor::ALL.to_vec());
    let mut impls = IMPLS.to_vec();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--quick" => {
                reps = 3;
                target = 0.03;
            }
            "--reps" => reps = value().parse().expect("--reps N"),
            "--tuned" => impls.push(TUNED),
            "--fences" => impls.extend(FENCES),
            "--spin" => impls.push(NO_SPIN),
            "--modes" => {
                modes = (value().split(','))
                    .map(|m| match m {
                        "send" => Mode::Send,
                        "feed" => Mode::Feed,
                        _ => panic!("--modes send,feed"),
                    })
                    .collect()
            }
            "--flavors" => {
                flavors = (value().split(','))
                    .map(|f| Flavor::parse(f).expect("--flavors mt2,ct"))
                    .collect()
            }
            "--sizes" => {
                sizes = value()
                    .split(',')
                    .map(|s| common::parse_size(s).expect("--sizes 16,4K,...") as usize)
                    .collect();
                assert!(
                    sizes
                        .iter()
                        .all(|&s| (1..=SIZES[SIZES.len() - 1]).contains(&s)),
                    "frame sizes 1 B to 64 KiB"
                );
            }
            _ => panic!("unknown argument {a} (see the header of examples/framed_bench.rs)"),
        }
    }
    table();
    let started = Instant::now();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Framed + LengthDelimitedCodec over in-process duplex streams (median of {reps} interleaved runs)\n\n{}\n",
        machine("framed_bench", &args, &now_utc())
    );
    print!("{md}");
    for &mode in &modes {
        for &flavor in &flavors {
            // Ratios: each ringpipe row ÷ each tokio row.
            let ours: Vec<usize> = (0..impls.len()).filter(|&i| i == 0 || i >= 3).collect();
            let mut t = format!(
                "#### {}, {}\n\n| frame | frames |",
                mode.name(),
                flavor.name()
            );
            for (name, _) in &impls {
                let _ = write!(t, " {name}: Mframes/s (MB/s) |");
            }
            for &i in &ours {
                for j in 1..3 {
                    let _ = write!(t, " {} ÷ {} (paired) |", impls[i].0, impls[j].0);
                }
            }
            t.push_str(" others (cores) |\n|---|---|");
            t.push_str(&"---|".repeat(impls.len() + 2 * ours.len() + 1));
            t.push('\n');
            print!("{t}");
            md.push_str(&t);
            for &size in &sizes {
                // The untimed warm-up runs, which also set the volume: about `target` seconds
                // per run at the median of the implementations' rates.
                let probe = ((16usize << 20) / size).clamp(256, 100_000);
                let mut rates: Vec<f64> = (impls.iter())
                    .map(|&(_, imp)| probe as f64 / run(flavor, imp, mode, probe, size))
                    .collect();
                let n = ((target * common::median(&mut rates)) as usize).clamp(256, 50_000_000);
                let (secs, others) = others_during(|| {
                    interleaved(impls.len(), reps, |i| {
                        run(flavor, impls[i].1, mode, n, size)
                    })
                });
                let fps: Vec<Vec<f64>> = secs
                    .iter()
                    .map(|v| v.iter().map(|s| n as f64 / s).collect())
                    .collect();
                let mut row = format!("| {} | {n} |", common::human(size));
                for f in &fps {
                    let m = stat(f).med;
                    let _ = write!(row, " {:.3} ({:.0}) |", m / 1e6, m * size as f64 / 1e6);
                }
                for &i in &ours {
                    for j in 1..3 {
                        let r = fmt_ratio(net_bench::ratio(&fps[i], &fps[j]));
                        let _ = write!(row, " {r} |");
                    }
                }
                let _ = writeln!(row, " {others:.2} |");
                print!("{row}");
                md.push_str(&row);
            }
            println!();
            md.push('\n');
        }
    }
    let tail = format!(
        "Load average at the end {}; {:.0} s in all.\n",
        loadavg(),
        started.elapsed().as_secs_f64()
    );
    print!("{tail}");
    md.push_str(&tail);
    let path = common::out_dir().join("framed_bench.md");
    std::fs::write(&path, md).expect("write the report");
    println!("(written to {})", path.display());
}
