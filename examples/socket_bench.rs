//! Bulk transfer through an echo server over real sockets: ringpipe's `SocketTransport` against
//! `tokio::io::copy`, in the same run, on loopback TCP and on a Unix socket pair, on a
//! multi-thread runtime with 2 workers and on a current_thread runtime.
//!
//! ```sh
//! cargo run --profile lto --features tokio --example socket_bench              # ~1.5 min
//! cargo run --profile lto --features tokio --example socket_bench -- --quick   # ~15 s
//! cargo run --profile lto --features tokio --example socket_bench -- --mib 256 --reps 9
//! strace -f -c -e trace=read,write,readv,writev,recvfrom,sendto,sendmsg,recvmsg \
//!     target/lto/examples/socket_bench --strace-one ringpipe [--socket tcp|unix] [--flavor ct|mt2] [--mib 64]
//! ```
//!
//! **Scenario.** One connection, one runtime. The client writes `--mib` MiB (default 1024,
//! `--quick` 128) and reads everything back; the server echoes. All tasks run on the runtime
//! under test (the client's writer and reader are two tasks over the owned halves of its
//! socket). Timed: from the client's first write to its last verified byte; GB/s is the
//! stream's length over that time (each byte crosses the server twice, in and out).
//!
//! * **Client** (the same for every server): writes slices of up to 256 KiB of a fixed table
//!   (`write_all`, no copy before the socket's) and shuts its write side down at the end; reads
//!   into a 256 KiB buffer and compares each read with the table at the read's stream position
//!   (`memcmp`, so every byte is checked at memory speed and the check does not cap the
//!   throughput), then checks the length at the end of the stream. The table holds a hash of
//!   the position (splitmix64 of `p / 8`, byte `p % 8` of it) with a period of 2^20 - 3 bytes:
//!   a lost, repeated or moved byte shows up unless the error is a multiple of the period long.
//! * **`ringpipe`**: what an echo or proxy application on ringpipe does, as Kestrel's does on
//!   System.IO.Pipelines: `SocketTransport::new(socket, TransportOptions::new())` spawned as one
//!   task, and the application, another task, forwards its input to its output with
//!   `ringpipe::copy_to(&mut input, &mut output)`, then completes its output. The transport
//!   reads the socket straight into the receive pipe's memory and writes the send pipe's chunks
//!   with one vectored write per read; `copy_to` copies once between the two pipes (they do not
//!   share memory).
//! * **`tokio::io::copy`** (the baseline): the tokio echo, `tokio::io::copy(&mut read_half,
//!   &mut write_half)` over the socket's owned halves (`into_split`, no lock between them), then
//!   `shutdown`; one task; it copies through its own 8 KiB buffer.
//!   (`tokio::io::copy_bidirectional` is not measured: it joins two connections, a proxy's
//!   primitive, and an echo has one; each of its directions is the same `CopyBuffer` loop as
//!   `tokio::io::copy`.)
//!   `TransportOptions::new()` gives both pipes 64 KiB chunks and a 256 KiB pause threshold
//!   (`TRANSPORT_CHUNK_SIZE`); **`ringpipe-16K`** is the transport over the pipe's own defaults
//!   (16 KiB chunks, 64 KiB pause), what the transport's defaults were before.
//! * **Tuned**: `tokio copy_buf 64K` (`tokio::io::copy_buf` from a 64 KiB `BufReader`).
//! * **`ringpipe one pipe`**: no transport, no copy in user space: one pipe (default options)
//!   between the socket's owned halves, `fill_from_async_read` (a task) into it and
//!   `copy_to_async_write` out of it. What the transport's structure (two pipes, an application
//!   in between) costs against it.
//!
//! **Syscalls.** The server's socket (or each of its halves) is wrapped, for every server, in
//! the same counting `AsyncRead + AsyncWrite` wrapper (`net_bench/counted_io.rs`): each `Ready`
//! `poll_read` that returned bytes is one `recvfrom`, each `Ready` `poll_write` one `sendto`,
//! each `Ready` `poll_write_vectored` one `writev`. The tables give them per MiB of the stream,
//! and the `Pending` polls per MiB (an upper bound on the calls that failed with `EAGAIN`).
//! `--strace-one IMPL` runs one echo (64 MiB unless `--mib`) and prints the wrapper's counts
//! for the server and the client, to hold against `strace -c`'s (which counts the whole
//! process: both).
//!
//! **Repetitions.** Each cell (runtime flavour × socket kind) runs every implementation
//! `--reps` times (default 7, `--quick` 5), interleaved: repetition by repetition, alternating
//! the order; each run on a fresh runtime and a fresh connection, after one untimed warm-up
//! run of each (16 MiB). Reported: the median GB/s and the range, the ratio ÷
//! `tokio::io::copy` of the medians with the range of the paired ratios (repetition by
//! repetition), the server's syscalls per MiB (medians), and how many cores other processes
//! kept busy during the cell (/proc/stat). Printed and written to
//! `target/ringpipe-bench/socket_bench.md`.

#[path = "../benches/common/mod.rs"]
mod common;
mod net_bench;

use net_bench::counted_io::{Counted, Counts, Snapshot};
use net_bench::{
    fmt_ratio, interleaved, loadavg, machine, now_utc, others_during, pattern, stat, Flavor,
    PATTERN_SPAN,
};
use ringpipe::{PipeOptions, SocketTransport, TransportOptions};
use std::fmt::Write as _;
use std::io;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixStream};

// ---------------------------------------------------------------------------------------------
// The stream

/// The client's largest write and read (the stream is `net_bench::pattern`).
const IO_MAX: usize = PATTERN_SPAN;

/// Writes `total` bytes of the pattern, then shuts the write side down.
async fn client_write<W: AsyncWrite + Unpin>(mut w: W, total: u64) -> io::Result<()> {
    let mut at = 0u64;
    while at < total {
        let n = (total - at).min(IO_MAX as u64) as usize;
        w.write_all(pattern(at, n)).await?;
        at += n as u64;
    }
    w.shutdown().await
}

/// Reads to the end of the stream, comparing every read with the pattern at its position;
/// returns the length.
async fn client_read<R: AsyncRead + Unpin>(mut r: R) -> io::Result<u64> {
    let mut buf = vec![0u8; IO_MAX];
    let mut at = 0u64;
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(at);
        }
        let want = pattern(at, n);
        if buf[..n] != *want {
            let i = (0..n).find(|&i| buf[i] != want[i]).unwrap_or(0);
            panic!("wrong byte at stream position {}", at + i as u64);
        }
        at += n as u64;
    }
}

// ---------------------------------------------------------------------------------------------
// The sockets

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SockKind {
    Tcp,
    Unix,
}

impl SockKind {
    const ALL: [SockKind; 2] = [SockKind::Tcp, SockKind::Unix];

    fn name(self) -> &'static str {
        match self {
            SockKind::Tcp => "loopback TCP",
            SockKind::Unix => "Unix socket pair",
        }
    }
}

/// A connected stream socket that splits into owned halves.
trait Socket: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    type Read: AsyncRead + Unpin + Send + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;
    fn halves(self) -> (Self::Read, Self::Write);
}

impl Socket for TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;
    fn halves(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl Socket for UnixStream {
    type Read = tokio::net::unix::OwnedReadHalf;
    type Write = tokio::net::unix::OwnedWriteHalf;
    fn halves(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

/// A connected loopback TCP pair: (the server's socket, the client's).
async fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let (client, accepted) = tokio::join!(
        TcpStream::connect(listener.local_addr()?),
        listener.accept()
    );
    Ok((accepted?.0, client?))
}

// ---------------------------------------------------------------------------------------------
// The servers

#[derive(Clone, Debug)]
enum Server {
    /// `SocketTransport` with these options, the application forwarding with `copy_to`.
    Ringpipe(TransportOptions),
    /// One pipe between the socket's owned halves: `fill_from_async_read` (a task) into it,
    /// `copy_to_async_write` out of it; no `SocketTransport`, no copy in user space.
    OnePipe(PipeOptions),
    /// `tokio::io::copy` over the owned halves.
    TokioCopy,
    /// `tokio::io::copy_buf` over a `BufReader` of this capacity.
    TokioCopyBuf(usize),
}

struct Impl {
    name: &'static str,
    server: Server,
}

/// Every implementation; the first two are the defaults, `tokio::io::copy` the baseline.
fn impls() -> Vec<Impl> {
    vec![
        Impl {
            name: "ringpipe",
            server: Server::Ringpipe(TransportOptions::new()),
        },
        Impl {
            name: "tokio::io::copy",
            server: Server::TokioCopy,
        },
        Impl {
            name: "ringpipe-16K",
            server: Server::Ringpipe(
                TransportOptions::new()
                    .receive(PipeOptions::default())
                    .send(PipeOptions::default()),
            ),
        },
        Impl {
            name: "ringpipe one pipe",
            server: Server::OnePipe(PipeOptions::default()),
        },
        Impl {
            name: "tokio copy_buf 64K",
            server: Server::TokioCopyBuf(64 << 10),
        },
    ]
}

const BASELINE: usize = 1;

/// The echo server over `socket` (its polls counted into `counts`); returns the bytes echoed.
async fn serve<S: Socket>(server: Server, socket: S, counts: Arc<Counts>) -> io::Result<u64> {
    match server {
        Server::Ringpipe(options) => {
            let (end, transport) = SocketTransport::new(Counted::new(socket, counts), options);
            let transport = tokio::spawn(transport);
            let (mut input, mut output) = end.into_parts();
            let n = ringpipe::copy_to(&mut input, &mut output).await?;
            output.complete();
            drop(input);
            let stats = transport.await.expect("transport task")?;
            assert_eq!((stats.received, stats.sent), (n, n));
            Ok(n)
        }
        Server::OnePipe(options) => {
            let (r, w) = socket.halves();
            let (r, mut w) = (Counted::new(r, counts.clone()), Counted::new(w, counts));
            let (writer, mut reader) = ringpipe::pipe(options);
            let fill = tokio::spawn(ringpipe::fill_from_async_read(r, writer));
            let n = ringpipe::copy_to_async_write(&mut reader, &mut w).await?;
            w.shutdown().await?;
            assert_eq!(fill.await.expect("fill task")?, n);
            Ok(n)
        }
        Server::TokioCopy => {
            let (r, w) = socket.halves();
            let (mut r, mut w) = (Counted::new(r, counts.clone()), Counted::new(w, counts));
            let n = tokio::io::copy(&mut r, &mut w).await?;
            w.shutdown().await?;
            Ok(n)
        }
        Server::TokioCopyBuf(capacity) => {
            let (r, w) = socket.halves();
            let r = Counted::new(r, counts.clone());
            let mut w = Counted::new(w, counts);
            let mut r = BufReader::with_capacity(capacity, r);
            let n = tokio::io::copy_buf(&mut r, &mut w).await?;
            w.shutdown().await?;
            Ok(n)
        }
    }
}

/// What one echo did: seconds, and the server's and the client's socket polls.
#[derive(Clone, Copy, Debug, Default)]
struct Echo {
    secs: f64,
    server: Snapshot,
    client: Snapshot,
}

/// One echo of `total` bytes through `server` over a fresh pair of sockets.
async fn echo_over<S: Socket>(server_socket: S, client: S, server: Server, total: u64) -> Echo {
    let (server_counts, client_counts) = (Arc::new(Counts::default()), Arc::new(Counts::default()));
    let (r, w) = client.halves();
    let (r, w) = (
        Counted::new(r, client_counts.clone()),
        Counted::new(w, client_counts.clone()),
    );
    let start = Instant::now();
    let server = tokio::spawn(serve(server, server_socket, server_counts.clone()));
    let writer = tokio::spawn(client_write(w, total));
    let reader = tokio::spawn(client_read(r));
    let got = reader.await.expect("client reader").expect("client read");
    let secs = start.elapsed().as_secs_f64();
    writer.await.expect("client writer").expect("client write");
    let echoed = server.await.expect("server task").expect("server");
    assert_eq!((got, echoed), (total, total), "bytes read back, echoed");
    Echo {
        secs,
        server: server_counts.snapshot(),
        client: client_counts.snapshot(),
    }
}

/// One echo on a fresh runtime of `flavor` over a fresh connection of `kind`.
fn echo(flavor: Flavor, kind: SockKind, server: Server, total: u64) -> Echo {
    let rt = flavor.runtime();
    let out = rt.block_on(async {
        match kind {
            SockKind::Tcp => {
                let (s, c) = tcp_pair().await.expect("loopback TCP pair");
                echo_over(s, c, server, total).await
            }
            SockKind::Unix => {
                let (s, c) = UnixStream::pair().expect("Unix socket pair");
                echo_over(s, c, server, total).await
            }
        }
    });
    rt.shutdown_background();
    out
}

// ---------------------------------------------------------------------------------------------
// The report

struct Opts {
    mib: u64,
    /// `--mib` for `--strace-one` (default 64).
    strace_mib: u64,
    reps: usize,
    args: Vec<String>,
    strace_one: Option<String>,
    socket: SockKind,
    flavor: Flavor,
}

fn parse() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Opts {
        mib: 1024,
        strace_mib: 64,
        reps: 7,
        args: args.clone(),
        strace_one: None,
        socket: SockKind::Tcp,
        flavor: Flavor::Current,
    };
    let mut mib = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--quick" => {
                o.mib = 128;
                o.reps = 5;
            }
            "--mib" => mib = Some(value().parse().expect("--mib N")),
            "--reps" => o.reps = value().parse().expect("--reps N"),
            "--strace-one" => o.strace_one = Some(value()),
            "--socket" => {
                o.socket = match value().as_str() {
                    "tcp" => SockKind::Tcp,
                    "unix" => SockKind::Unix,
                    s => panic!("--socket tcp|unix, not {s}"),
                }
            }
            "--flavor" => {
                let v = value();
                o.flavor = Flavor::parse(&v).unwrap_or_else(|| panic!("--flavor ct|mt2, not {v}"))
            }
            _ => panic!("unknown argument {a} (see the header of examples/socket_bench.rs)"),
        }
    }
    if let Some(m) = mib {
        o.mib = m;
        o.strace_mib = m;
    }
    o
}

/// Per MiB of the stream.
fn per_mib(count: u64, total: u64) -> f64 {
    count as f64 / (total as f64 / (1 << 20) as f64)
}

/// `--strace-one`: one echo, and the counts to hold against strace's.
fn strace_one(o: &Opts, name: &str) {
    let imp = impls()
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = impls().iter().map(|i| i.name).collect();
            panic!("--strace-one: one of {names:?}, not {name}")
        });
    let total = o.strace_mib << 20;
    let e = echo(o.flavor, o.socket, imp.server, total);
    println!(
        "{name}, {}, {}, {} MiB: {:.2} GB/s (under strace, if traced)",
        o.flavor.name(),
        o.socket.name(),
        total >> 20,
        total as f64 / e.secs / 1e9
    );
    for (side, s) in [("server", e.server), ("client", e.client)] {
        println!(
            "  {side}: reads {} (+{} end of stream), writes {} ({} vectored), pending polls: read {}, write {}",
            s.reads, s.empty_reads, s.writes, s.vectored, s.read_pending, s.write_pending
        );
    }
    let (s, c) = (e.server, e.client);
    println!(
        "  both: recvfrom {} succeeded (+ at most {} EAGAIN), sendto {}, writev {} (+ at most {} EAGAIN between them)",
        s.reads + s.empty_reads + c.reads + c.empty_reads,
        s.read_pending + c.read_pending,
        s.writes - s.vectored + c.writes - c.vectored,
        s.vectored + c.vectored,
        s.write_pending + c.write_pending,
    );
}

fn main() {
    common::keep_freed_memory();
    let o = parse();
    pattern(0, 0); // the table is built before anything is timed
    if let Some(name) = &o.strace_one {
        strace_one(&o, name);
        return;
    }
    let started = Instant::now();
    let total = o.mib << 20;
    let impls = impls();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Echo over sockets ({} MiB per run, median of {} interleaved runs)\n\n{}\n",
        o.mib,
        o.reps,
        machine("socket_bench", &o.args, &now_utc())
    );
    print!("{md}");
    let others_names: Vec<&str> = (impls.iter().enumerate())
        .filter(|&(i, _)| i != BASELINE)
        .map(|(_, imp)| imp.name)
        .collect();
    let mut summary = format!(
        "| runtime | socket | {} |\n|---|---|{}\n",
        others_names.join(" | "),
        "---|".repeat(others_names.len())
    );
    for flavor in Flavor::ALL {
        for kind in SockKind::ALL {
            for imp in &impls {
                echo(flavor, kind, imp.server.clone(), total.min(16 << 20));
            }
            let (runs, others) = others_during(|| {
                interleaved(impls.len(), o.reps, |i| {
                    echo(flavor, kind, impls[i].server.clone(), total)
                })
            });
            let gbps: Vec<Vec<f64>> = runs
                .iter()
                .map(|v| v.iter().map(|e| total as f64 / e.secs / 1e9).collect())
                .collect();
            let mut t = format!(
                "#### {}, {} (others: {others:.2} cores)\n\n| server | GB/s | range | ÷ tokio::io::copy (paired range) | reads/MiB | writes/MiB | pending reads/MiB | pending writes/MiB |\n|---|---|---|---|---|---|---|---|\n",
                flavor.name(),
                kind.name()
            );
            for (i, imp) in impls.iter().enumerate() {
                let g = stat(&gbps[i]);
                let med = |f: &dyn Fn(&Snapshot) -> u64| {
                    stat(
                        &runs[i]
                            .iter()
                            .map(|e| per_mib(f(&e.server), total))
                            .collect::<Vec<_>>(),
                    )
                    .med
                };
                let vs = if i == BASELINE {
                    "1".to_string()
                } else {
                    fmt_ratio(net_bench::ratio(&gbps[i], &gbps[BASELINE]))
                };
                let _ = writeln!(
                    t,
                    "| {} | {:.2} | {:.2}–{:.2} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    imp.name,
                    g.med,
                    g.min,
                    g.max,
                    vs,
                    med(&|s| s.reads),
                    med(&|s| s.writes),
                    med(&|s| s.read_pending),
                    med(&|s| s.write_pending),
                );
            }
            t.push('\n');
            print!("{t}");
            md.push_str(&t);
            let _ = write!(summary, "| {} | {} |", flavor.short(), kind.name());
            for i in (0..impls.len()).filter(|&i| i != BASELINE) {
                let r = fmt_ratio(net_bench::ratio(&gbps[i], &gbps[BASELINE]));
                let _ = write!(summary, " {r} |");
            }
            summary.push('\n');
        }
    }
    let tail = format!(
        "#### Ratios ÷ tokio::io::copy (of the median GB/s; the paired range)\n\n{summary}\nLoad average at the end {}; {:.0} s in all.\n",
        loadavg(),
        started.elapsed().as_secs_f64()
    );
    print!("{tail}");
    md.push_str(&tail);
    let path = common::out_dir().join("socket_bench.md");
    std::fs::write(&path, md).expect("write the report");
    println!("(written to {})", path.display());
}
