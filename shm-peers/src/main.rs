//! shm-peers: round trips and streams between two processes over ringpipe's shared-memory pipe
//! and its peers (and over ringpipe's in-process pipe between two threads, the reference), then
//! the ratios of the shared pipe's targets. `shm-peers --help` for the options.

use std::process::ExitCode;

use shm_peers::cpu::{self, Pin};
use shm_peers::harness::{Job, Kind, CHILD_ARG, MSG_LEN, STREAM_READ_BUF};
use shm_peers::targets::{self, Row};
use shm_peers::{iceoryx, transports, Outcome};

const USAGE: &str = "\
usage: shm-peers [--quick] [--only rtt|stream] [--peer NAME]... [--pin none|same|split]
                 [--trips N] [--warmup N] [--mib N] [--markdown FILE]
  --quick        fewer iterations (a smoke run): 1000 warm-up + 10000 round trips, 64 MiB streams
  --only KIND    only the round trips (rtt) or only the streams (stream)
  --peer NAME    only this transport (repeatable); --list shows the names
  --pin WHERE    none (default): the scheduler places both processes; same: both on CPU 0
                 (blocking transports only: spinners on one CPU wait out each other's time
                 slice); split: parent on CPU 0, child on CPU 1
  --trips N      timed round trips per transport (default 200000)
  --warmup N     untimed round trips before them (default 10000)
  --mib N        MiB per stream (default 1024)
  --markdown F   also write the results and the targets as Markdown tables to file F (for
                 ringpipe's bench_report)
  --list         list the transports and exit";

struct Options {
    only: Option<Kind>,
    pin: Pin,
    peers: Vec<String>,
    warmup: u64,
    trips: u64,
    mib: u64,
    markdown: Option<String>,
    list: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        only: None,
        pin: Pin::None,
        peers: Vec::new(),
        warmup: 10_000,
        trips: 200_000,
        mib: 1024,
        markdown: None,
        list: false,
    };
    let (mut warmup, mut trips, mut mib) = (None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs {what}"))
        };
        let number = |s: String| s.parse::<u64>().map_err(|e| format!("{arg} {s}: {e}"));
        match arg.as_str() {
            "--quick" => {
                o.warmup = 1_000;
                o.trips = 10_000;
                o.mib = 64;
            }
            "--only" => {
                o.only = Some(match value("rtt or stream")?.as_str() {
                    "rtt" => Kind::Rtt,
                    "stream" => Kind::Stream,
                    other => return Err(format!("--only {other}: expected rtt or stream")),
                })
            }
            "--peer" => o.peers.push(value("a transport name")?),
            "--pin" => {
                let v = value("none, same or split")?;
                o.pin = Pin::parse(&v).ok_or(format!("--pin {v}: expected none, same or split"))?;
            }
            "--trips" => trips = Some(number(value("a count")?)?),
            "--warmup" => warmup = Some(number(value("a count")?)?),
            "--mib" => mib = Some(number(value("a size in MiB")?)?),
            "--markdown" => o.markdown = Some(value("a file")?),
            "--list" => o.list = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    // Explicit counts win over --quick, wherever they stand.
    o.warmup = warmup.unwrap_or(o.warmup);
    o.trips = trips.unwrap_or(o.trips).max(1);
    o.mib = mib.unwrap_or(o.mib).max(1);
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(CHILD_ARG) {
        return match shm_peers::run_child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("shm-peers child {:?}: {e}", &args[1..]);
                ExitCode::FAILURE
            }
        };
    }
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("shm-peers: {msg}");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let all = transports();
    if opts.list {
        for t in &all {
            println!("{:<24} {}", t.name(), t.describe());
        }
        return ExitCode::SUCCESS;
    }
    if let Some(unknown) = opts
        .peers
        .iter()
        .find(|p| !all.iter().any(|t| t.name() == p.as_str()))
    {
        eprintln!("shm-peers: unknown transport {unknown:?} (--list shows them)");
        return ExitCode::from(2);
    }
    iceoryx::quiet_logs();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    if let Err(e) = cpu::apply_in_parent(opts.pin) {
        eprintln!("shm-peers: --pin: {e}");
        return ExitCode::FAILURE;
    }

    let mut jobs = Vec::new();
    if opts.only != Some(Kind::Stream) {
        jobs.push(Job::Rtt {
            warmup: opts.warmup,
            trips: opts.trips,
        });
    }
    if opts.only != Some(Kind::Rtt) {
        for write_size in [1024, 16 * 1024] {
            jobs.push(Job::Stream {
                bytes: opts.mib << 20,
                write_size,
            });
        }
    }

    let setup = format!(
        "two processes ({}), {} CPUs; rtt: {MSG_LEN} B ping-pong, {} warm-up + {} timed trips; \
         stream: {} MiB per run, parent reads {} KiB at a time and checks every byte",
        opts.pin.label(),
        cpus,
        opts.warmup,
        opts.trips,
        opts.mib,
        STREAM_READ_BUF / 1024,
    );
    println!("shm-peers: {setup}");
    println!();
    println!(
        "{:<24} {:<15} {:>10} {:>9} {:>9} {:>9} {:>10} {:>7}",
        "transport", "measurement", "count", "p50 ns", "p99 ns", "mean ns", "max ns", "GB/s"
    );
    let mut failures = 0;
    let mut ran: Vec<&str> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    for job in &jobs {
        for t in &all {
            if !t.measures(job.kind())
                || (!opts.peers.is_empty() && !opts.peers.iter().any(|p| p == t.name()))
            {
                continue;
            }
            if !ran.contains(&t.name()) {
                ran.push(t.name());
            }
            let head = format!("{:<24} {:<15}", t.name(), job.label());
            if opts.pin == Pin::Same && t.busy_polls() {
                println!("{head} skipped: busy-polls, and --pin same puts both sides on one CPU");
                continue;
            }
            match t.parent(*job) {
                Ok(outcome) => {
                    match &outcome {
                        Outcome::Rtt(s) => println!(
                            "{head} {:>10} {:>9} {:>9} {:>9.0} {:>10} {:>7}",
                            s.trips, s.p50, s.p99, s.mean, s.max, "-"
                        ),
                        Outcome::Stream(s) => println!(
                            "{head} {:>10} {:>9} {:>9} {:>9} {:>10} {:>7.2}",
                            format!("{} MiB", s.bytes >> 20),
                            "-",
                            "-",
                            "-",
                            "-",
                            s.gb_per_s()
                        ),
                    }
                    rows.push(Row {
                        transport: t.name(),
                        job: *job,
                        outcome,
                    });
                }
                Err(e) => {
                    failures += 1;
                    println!("{head} FAILED: {e}");
                }
            }
        }
    }
    println!();
    for t in all.iter().filter(|t| ran.contains(&t.name())) {
        println!("  {:<24} {}", t.name(), t.describe());
    }
    println!();
    targets::print(&rows);
    if let Some(file) = &opts.markdown {
        let md = format!(
            "{setup}.\n\n{}\n{}",
            rows_markdown(&rows),
            targets::markdown(&rows)
        );
        if let Err(e) = std::fs::write(file, md) {
            eprintln!("shm-peers: --markdown {file}: {e}");
            failures += 1;
        }
    }

    // Every node of this run is gone by now: whatever is left under our prefix is a leak.
    println!();
    match iceoryx::sweep(std::process::id()) {
        Ok(found) => {
            if found.this_run.is_empty() {
                println!("iceoryx2 leftovers of this run: none");
            } else {
                println!("iceoryx2 leftovers of this run (removed):");
                for p in &found.this_run {
                    let why = if found.unexpected.contains(p) {
                        "UNEXPECTED: a node did not clean up"
                    } else {
                        "expected after a clean shutdown"
                    };
                    println!("  {} ({why})", p.display());
                }
            }
            for (what, list) in [
                (
                    "of earlier shm-peers runs that were killed (removed)",
                    &found.dead_runs,
                ),
                (
                    "of shm-peers runs still alive (left alone)",
                    &found.live_runs,
                ),
                ("of other iceoryx2 programs (left alone)", &found.foreign),
            ] {
                if !list.is_empty() {
                    println!("iceoryx2 files {what}:");
                    for p in list {
                        println!("  {}", p.display());
                    }
                }
            }
        }
        Err(e) => {
            failures += 1;
            println!("iceoryx2 leftover check FAILED: {e}");
        }
    }
    if failures > 0 {
        eprintln!("shm-peers: {failures} failure(s)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The measured rows as a Markdown table.
fn rows_markdown(rows: &[Row]) -> String {
    let mut md = String::from(
        "| transport | measurement | p50 ns | p99 ns | GB/s |\n|---|---|---:|---:|---:|\n",
    );
    for r in rows {
        let cells = match &r.outcome {
            Outcome::Rtt(s) => format!("{} | {} | -", s.p50, s.p99),
            Outcome::Stream(s) => format!("- | - | {:.2}", s.gb_per_s()),
        };
        md += &format!("| {} | {} | {cells} |\n", r.transport, r.job.label());
    }
    md
}
