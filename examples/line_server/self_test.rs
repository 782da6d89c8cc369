//! `--self-test`: starts the server in this process and talks to it over real TCP
//! connections with `std::net::TcpStream` clients:
//!
//! * **pipelined clients**: 8 connections at once, each 3000 random lines (`echo` and `upper`
//!   with random printable text up to the maximum length, `count`, unknown words, empty lines,
//!   `\n` and `\r\n` endings) written in pieces cut at random points (1 byte to 20 KB) while
//!   another thread reads; every reply byte is compared with a model's, and the last line,
//!   `quit`, must get `bye` and then the end of the stream;
//! * **one byte at a time**: lines written one byte per `write`;
//! * **the maximum**: a line of exactly the maximum length is answered; one byte more (with or
//!   without its `\n` sent) gets the error reply and the end of the stream, as does a long line
//!   after whole ones in the same write;
//! * **a last line without `\n`**, answered when the client shuts its side down;
//! * **the server is still up** after all of it.
//!
//! The random choices come from a seed printed at the start; `LINE_SELF_TEST_SEED=<seed>`
//! replays a run.

use crate::client::{connect, exchange, pipelined, End, Outcome};
use crate::protocol::{MAX_LINE, TOO_LONG};
use crate::rng::Rng;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
const LINES_PER_CLIENT: usize = 3000;

/// Runs every check.
pub fn run() -> Outcome {
    let seed = match std::env::var("LINE_SELF_TEST_SEED") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("LINE_SELF_TEST_SEED={s:?} is not a number"))?,
        Err(_) => Rng::clock_seed(),
    };
    println!("line_server self-test, seed {seed} (LINE_SELF_TEST_SEED={seed} replays it)");
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    runtime.spawn(crate::accept_loop(listener));
    let checks: [(&str, &dyn Fn() -> Outcome); 5] = [
        ("pipelined clients", &|| pipelined_clients(addr, seed)),
        ("one byte at a time", &|| byte_by_byte(addr, seed)),
        ("the maximum line length", &|| maximum(addr)),
        ("a last line without \\n", &|| unterminated(addr)),
        ("still up", &|| {
            exchange(addr, &[b"echo up\n"], b"up\n", End::Open)
        }),
    ];
    for (name, check) in checks {
        check().map_err(|e| format!("{name}: {e}"))?;
        println!("  {name}: ok");
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    println!("  all checks passed ({} ms)", started.elapsed().as_millis());
    Ok(())
}

/// The server's replies, written out independently.
#[derive(Default)]
struct Model {
    lines: u64,
}

impl Model {
    /// The reply to `line` (without its ending).
    fn reply(&mut self, line: &str) -> String {
        self.lines += 1;
        let reply = if let Some(text) = line.strip_prefix("echo ") {
            text.to_owned()
        } else if let Some(text) = line.strip_prefix("upper ") {
            text.to_ascii_uppercase()
        } else if line == "count" {
            self.lines.to_string()
        } else if line == "quit" {
            "bye".to_owned()
        } else if line.is_empty() {
            "ERR empty line".to_owned()
        } else {
            let word = line.split(' ').next().unwrap_or("");
            format!("ERR unknown command '{word}'")
        };
        reply + "\n"
    }
}

/// Random printable ASCII text, spaces included.
fn text(rng: &mut Rng, max: usize) -> String {
    let len = match rng.below(10) {
        0 => rng.range(max / 2, max),
        1 => 0,
        _ => rng.below(40),
    };
    (0..len)
        .map(|_| char::from(b' ' + rng.below(95) as u8))
        .collect()
}

fn random_line(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=3 => format!("echo {}", text(rng, MAX_LINE - 5)),
        4..=5 => format!("upper {}", text(rng, MAX_LINE - 6)),
        6..=7 => "count".to_owned(),
        8 => format!("nosuch{} {}", rng.below(100), text(rng, 100)),
        _ => String::new(),
    }
}

/// A client's random lines and the replies the model expects, ending in `quit`.
fn conversation(rng: &mut Rng, lines: usize) -> (Vec<u8>, Vec<u8>) {
    let mut model = Model::default();
    let (mut sent, mut expected) = (Vec::new(), Vec::new());
    for i in 0..=lines {
        let line = if i == lines {
            "quit".to_owned()
        } else {
            random_line(rng)
        };
        sent.extend_from_slice(line.as_bytes());
        sent.extend_from_slice(if rng.one_in(3) { b"\r\n" } else { b"\n" });
        expected.extend_from_slice(model.reply(&line).as_bytes());
    }
    (sent, expected)
}

fn pipelined_clients(addr: SocketAddr, seed: u64) -> Outcome {
    let (sent, received) = pipelined(addr, seed, CLIENTS, |rng, _client| {
        conversation(rng, LINES_PER_CLIENT)
    })?;
    println!(
        "    pipelined: {CLIENTS} connections, {:.1} MB of lines sent in random pieces, {:.1} MB of replies checked",
        sent as f64 / 1e6,
        received as f64 / 1e6
    );
    Ok(())
}

fn byte_by_byte(addr: SocketAddr, seed: u64) -> Outcome {
    let mut rng = Rng::new(seed ^ 0xb1);
    let (sent, expected) = conversation(&mut rng, 60);
    let pieces: Vec<&[u8]> = sent.chunks(1).collect();
    exchange(addr, &pieces, &expected, End::Closed)
}

fn maximum(addr: SocketAddr) -> Outcome {
    let too_long = format!("{TOO_LONG}\n");
    // Exactly the maximum, with either ending.
    let at_max = format!("echo {}", "x".repeat(MAX_LINE - 5));
    let sent = format!("{at_max}\n{at_max}\r\ncount\n");
    let expected = format!("{}\n{}\n3\n", &at_max[5..], &at_max[5..]);
    exchange(addr, &[sent.as_bytes()], expected.as_bytes(), End::Open)?;
    // One byte over, with its `\n`.
    let over = format!("echo {}", "x".repeat(MAX_LINE - 4));
    exchange(
        addr,
        &[format!("{over}\n").as_bytes()],
        too_long.as_bytes(),
        End::Closed,
    )?;
    // Over, and no `\n` yet: refused without waiting for one.
    exchange(
        addr,
        &["y".repeat(MAX_LINE + 2).as_bytes()],
        too_long.as_bytes(),
        End::Closed,
    )?;
    // Whole lines first, then a long one, in one write: the whole ones are answered.
    let sent = format!("echo a\nupper b\n{}", "z".repeat(10 * MAX_LINE));
    exchange(
        addr,
        &[sent.as_bytes()],
        format!("a\nB\n{too_long}").as_bytes(),
        End::Closed,
    )
}

fn unterminated(addr: SocketAddr) -> Outcome {
    let mut stream = connect(addr)?;
    stream
        .write_all(b"echo one\necho two")
        .map_err(|e| e.to_string())?;
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    stream
        .read_to_end(&mut got)
        .map_err(|e| format!("read: {e}"))?;
    crate::client::compare(&got, b"one\ntwo\n")
}
