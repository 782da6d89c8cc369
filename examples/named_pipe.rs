//! A named-pipe server and a client in two processes, the client started first and waiting for
//! the server without spinning.
//!
//! ```text
//! cargo run --release --example named_pipe               # the demo: both processes, checked
//! cargo run --release --example named_pipe -- server NAME
//! cargo run --release --example named_pipe -- client NAME
//! ```
//!
//! The demo starts a client (this binary again, `client NAME`), which waits up to 10 s for a
//! server that does not exist yet; after 500 ms it starts the server here. The client sends
//! numbered lines; the server parses them out of pipe memory (its connection is a ringpipe
//! duplex end, so every read lands in the pipe and the parser sees whole lines through
//! consumed/examined), sums the numbers and answers with the sum. The client checks the answer
//! and reports how much CPU it spent waiting.

use ringpipe::{NamedPipeClient, NamedPipeServer, PipeName, SequenceReader, TransportOptions};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const LINES: u64 = 100_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => demo(),
        ["server", name] => serve(name, Some(1)),
        ["client", name] => client(name),
        _ => Err("usage: named_pipe [server NAME | client NAME]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("named_pipe: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn demo() -> Result<()> {
    let name = format!("named-pipe-demo-{}", std::process::id());
    let mut client = Command::new(std::env::current_exe()?)
        .args(["client", &name])
        .spawn()?;
    std::thread::sleep(Duration::from_millis(500));
    println!("server: binding {name:?} (the client has been waiting for 500 ms)");
    serve(&name, Some(1))?;
    let status = client.wait()?;
    if !status.success() {
        return Err(format!("the client failed: {status}").into());
    }
    println!("demo: ok");
    Ok(())
}

/// Serves `connections` clients (forever if `None`): sums the numbers of each client's lines.
fn serve(name: &str, connections: Option<usize>) -> Result<()> {
    let server = NamedPipeServer::bind(PipeName::new(name), Default::default())?;
    if let Some(p) = server.path() {
        println!("server: listening at {}", p.display());
    }
    let mut served = 0;
    while connections.map_or(true, |n| served < n) {
        let conn = server.wait_for_connection()?;
        let peer = conn.peer_credentials();
        println!("server: client pid {} uid {}", peer.pid, peer.uid);
        let (end, transport) = conn.into_duplex(TransportOptions::new())?;
        let (mut input, mut output) = end.into_parts();
        let (mut sum, mut lines) = (0u64, 0u64);
        loop {
            let res = input.read_blocking()?;
            let data = res.buffer();
            let mut r = SequenceReader::new(data);
            // Every whole line; a partial one stays for the next read (consumed stops before
            // it, examined goes to the end, so the next read waits for more bytes).
            while let Some(line) = r.read_to(b'\n', true) {
                let text = line.to_contiguous();
                let n: u64 = std::str::from_utf8(&text)?.trim().parse()?;
                sum += n;
                lines += 1;
            }
            let (consumed, examined, done) = (r.position(), data.end(), res.is_completed());
            input.advance_to(consumed, examined)?;
            if done {
                break;
            }
        }
        output.write_all_blocking(format!("{lines} {sum}\n").as_bytes())?;
        drop((input, output));
        transport.join()?;
        served += 1;
    }
    Ok(())
}

fn client(name: &str) -> Result<()> {
    let cpu = cpu_time();
    let t = Instant::now();
    let mut conn = NamedPipeClient::connect_timeout(
        PipeName::new(name),
        &Default::default(),
        Duration::from_secs(10),
    )?;
    println!(
        "client: connected after {:?}, {:?} of CPU spent waiting",
        t.elapsed(),
        cpu_time() - cpu
    );
    let mut text = String::new();
    for i in 1..=LINES {
        text.push_str(&i.to_string());
        text.push('\n');
    }
    // Odd-sized pieces, so that lines straddle the server's reads.
    for piece in text.as_bytes().chunks(1017) {
        conn.write_all(piece)?;
    }
    conn.as_unix_stream().shutdown(std::net::Shutdown::Write)?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    let expected = format!("{LINES} {}\n", LINES * (LINES + 1) / 2);
    if reply != expected {
        return Err(format!("the server answered {reply:?}, not {expected:?}").into());
    }
    println!("client: the server counted {}", reply.trim());
    Ok(())
}

/// This process's CPU time.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
