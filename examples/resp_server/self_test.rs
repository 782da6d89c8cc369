//! `--self-test`: starts each implementation's server in this process and talks to it over
//! real TCP connections with clients that share no code with the server:
//!
//! * **pipelined clients**: 8 connections at once, each a pipeline of 1500 random requests
//!   (every command, multibulk and inline forms, random-case names, binary values from 0 bytes
//!   to 600 KB, empty requests, unknown commands, wrong arities, `CONFIG GET`), written in
//!   pieces cut at random points (1 byte to 20 KB) by one thread while another reads; every
//!   reply byte is compared with what a model (a `HashMap`, and RESP written out by hand) says,
//!   and the pipeline ends with `QUIT`, whose `+OK` must be followed by the server closing;
//! * **one byte at a time**: a pipeline of small requests written one byte per `write`;
//! * **hostile input**: every protocol error (bad counts and lengths, `$999999999`, a length
//!   over the maximum, a request over the maximum, a missing `$` or `\r\n`, an inline line
//!   without end) must get Redis's error reply and then the end of the stream; a client that
//!   vanishes mid-request must not hurt the server;
//! * **garbage**: 300 connections of random bytes (biased towards RESP's own characters) must
//!   get well-formed replies and an end of stream, never a hang, and the server must still
//!   answer afterwards;
//! * **one store**: a key set on one connection is read and deleted on others;
//! * **Python**: when `python3` is there, a client written with Python's `socket` module
//!   (pipelined `SET`/`GET`/`DEL` with random values, inline `PING`, `CONFIG GET`).
//!
//! The random choices come from a seed printed at the start; `RESP_SELF_TEST_SEED=<seed>`
//! replays a run.

use crate::client::{connect, exchange, pipelined, End, Outcome};
use crate::commands::Store;
use crate::parser::{MAX_BULK_LEN, MAX_INLINE_LEN};
use crate::rng::Rng;
use crate::{accept_loop, Impl};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 1500;
const GARBAGE_CONNECTIONS: usize = 300;

/// Runs every check against every implementation.
pub fn run() -> Outcome {
    let seed = match std::env::var("RESP_SELF_TEST_SEED") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("RESP_SELF_TEST_SEED={s:?} is not a number"))?,
        Err(_) => Rng::clock_seed(),
    };
    println!("resp_server self-test, seed {seed} (RESP_SELF_TEST_SEED={seed} replays it)");
    let python = python_available();
    if !python {
        println!("  python3 not found: skipping the Python client");
    }
    for imp in Impl::ALL {
        let started = Instant::now();
        let server = Server::start(imp)?;
        let addr = server.addr;
        let check = |name: &str, result: Outcome| {
            result.map_err(|e| format!("{} server, {name}: {e}", imp.name()))
        };
        check("pipelined clients", pipelined_clients(addr, seed))?;
        check("one byte at a time", byte_by_byte(addr, seed))?;
        check("hostile input", hostile(addr))?;
        check("garbage", garbage(addr, seed))?;
        check("one store", shared_store(addr))?;
        if python {
            check("Python client", python_client(addr, seed))?;
        }
        drop(server);
        println!(
            "  {}: all checks passed ({} ms)",
            imp.name(),
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

/// A server on its own multi-thread runtime, on a free port of 127.0.0.1.
struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
}

impl Server {
    fn start(imp: Impl) -> Result<Server, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        runtime.spawn(accept_loop(listener, imp, Arc::new(Store::new())));
        Ok(Server {
            runtime: Some(runtime),
            addr,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// RESP, written out independently of the server's encoder.
mod resp {
    pub fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    pub fn inline(args: &[Vec<u8>], crlf: bool) -> Vec<u8> {
        let mut out = args.join(&b' ');
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        out
    }

    pub fn bulk(bytes: &[u8]) -> Vec<u8> {
        let mut out = format!("${}\r\n", bytes.len()).into_bytes();
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
        out
    }

    pub fn error(message: &str) -> Vec<u8> {
        format!("-{message}\r\n").into_bytes()
    }
}

/// The expected server: a map, and the replies of each command.
#[derive(Default)]
struct Model {
    map: HashMap<Vec<u8>, Vec<u8>>,
}

impl Model {
    fn reply(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let Some(name) = args.first() else {
            return Vec::new();
        };
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        let arity = |cmd: &str| {
            resp::error(&format!(
                "ERR wrong number of arguments for '{cmd}' command"
            ))
        };
        match (name.as_str(), args.len()) {
            ("PING", 1) => b"+PONG\r\n".to_vec(),
            ("PING", 2) | ("ECHO", 2) => resp::bulk(&args[1]),
            ("PING", _) => arity("ping"),
            ("ECHO", _) => arity("echo"),
            ("SET", 3) => {
                self.map.insert(args[1].clone(), args[2].clone());
                b"+OK\r\n".to_vec()
            }
            ("SET", n) if n > 3 => resp::error("ERR syntax error"),
            ("SET", _) => arity("set"),
            ("GET", 2) => match self.map.get(&args[1]) {
                Some(v) => resp::bulk(v),
                None => b"$-1\r\n".to_vec(),
            },
            ("GET", _) => arity("get"),
            ("DEL", n) if n >= 2 => {
                let removed = args[1..]
                    .iter()
                    .filter(|k| self.map.remove(*k).is_some())
                    .count();
                format!(":{removed}\r\n").into_bytes()
            }
            ("DEL", _) => arity("del"),
            ("CONFIG", n) if n >= 3 => {
                let known: Vec<(&str, &str)> = args[2..]
                    .iter()
                    .filter_map(|p| match p.to_ascii_lowercase().as_slice() {
                        b"save" => Some(("save", "")),
                        b"appendonly" => Some(("appendonly", "no")),
                        _ => None,
                    })
                    .collect();
                let mut out = format!("*{}\r\n", known.len() * 2).into_bytes();
                for (k, v) in known {
                    out.extend(resp::bulk(k.as_bytes()));
                    out.extend(resp::bulk(v.as_bytes()));
                }
                out
            }
            ("QUIT", _) => b"+OK\r\n".to_vec(),
            _ => resp::error(&format!(
                "ERR unknown command '{}'",
                String::from_utf8_lossy(&args[0])
            )),
        }
    }
}

/// `name` in random letter case.
fn random_case(rng: &mut Rng, name: &str) -> Vec<u8> {
    name.bytes()
        .map(|b| {
            if rng.one_in(2) {
                b.to_ascii_lowercase()
            } else {
                b
            }
        })
        .collect()
}

fn random_value(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.below(40) {
        0..=1 => rng.range(65, 40_000),
        2 if rng.one_in(4) => rng.range(100_000, 600_000),
        3 => 0,
        _ => rng.below(65),
    };
    rng.bytes(len)
}

/// The arguments of one random request of client `client` (an empty list: an empty request).
fn random_args(rng: &mut Rng, client: usize) -> Vec<Vec<u8>> {
    let key = |rng: &mut Rng| format!("c{client}:k{}", rng.below(24)).into_bytes();
    let word = |rng: &mut Rng, name: &str| random_case(rng, name);
    match rng.below(16) {
        0..=3 => vec![word(rng, "SET"), key(rng), random_value(rng)],
        4..=6 => vec![word(rng, "GET"), key(rng)],
        7 => {
            let mut args = vec![word(rng, "DEL")];
            for _ in 0..rng.range(1, 3) {
                args.push(key(rng));
            }
            args
        }
        8 => vec![word(rng, "PING")],
        9 => vec![word(rng, "PING"), random_value(rng)],
        10 => vec![word(rng, "ECHO"), random_value(rng)],
        11 => {
            let mut args = vec![word(rng, "CONFIG"), word(rng, "GET")];
            for _ in 0..rng.range(1, 3) {
                let params = ["save", "appendonly", "maxmemory", "SAVE"];
                args.push(params[rng.below(params.len())].as_bytes().to_vec());
            }
            args
        }
        12 => vec![format!("NOSUCH{}", rng.below(100)).into_bytes(), key(rng)],
        13 => match rng.below(3) {
            0 => vec![word(rng, "GET")],
            1 => vec![word(rng, "SET"), key(rng)],
            _ => vec![word(rng, "ECHO")],
        },
        14 => vec![
            word(rng, "SET"),
            key(rng),
            b"v".to_vec(),
            b"EX".to_vec(),
            b"10".to_vec(),
        ],
        _ => Vec::new(),
    }
}

/// Whether `args` can be sent as an inline request (arguments without spaces or line ends,
/// the line short enough).
fn inline_ok(args: &[Vec<u8>]) -> bool {
    !args.is_empty()
        && args
            .iter()
            .all(|a| !a.is_empty() && !a.iter().any(|b| b" \t\r\n".contains(b)))
        && args.iter().map(|a| a.len() + 1).sum::<usize>() < MAX_INLINE_LEN - 2
}

/// A client's random pipeline and the replies the model expects, ending in `QUIT`.
fn pipeline(rng: &mut Rng, client: usize, requests: usize) -> (Vec<u8>, Vec<u8>) {
    let mut model = Model::default();
    let (mut sent, mut expected) = (Vec::new(), Vec::new());
    for _ in 0..requests {
        let args = random_args(rng, client);
        let bytes = if inline_ok(&args) && rng.one_in(4) {
            resp::inline(&args, !rng.one_in(3))
        } else if args.is_empty() && rng.one_in(2) {
            b"\r\n".to_vec() // an empty inline line
        } else {
            resp::multibulk(&args)
        };
        sent.extend(bytes);
        expected.extend(model.reply(&args));
    }
    sent.extend(resp::multibulk(&[b"QUIT".to_vec()]));
    expected.extend_from_slice(b"+OK\r\n");
    (sent, expected)
}

fn pipelined_clients(addr: SocketAddr, seed: u64) -> Outcome {
    let (sent, received) = pipelined(addr, seed, CLIENTS, |rng, client| {
        pipeline(rng, client, REQUESTS_PER_CLIENT)
    })?;
    println!(
        "    pipelined: {CLIENTS} connections, {:.1} MB of requests sent in random pieces, {:.1} MB of replies checked",
        sent as f64 / 1e6,
        received as f64 / 1e6
    );
    Ok(())
}

fn byte_by_byte(addr: SocketAddr, seed: u64) -> Outcome {
    let mut rng = Rng::new(seed ^ 0xb1);
    let mut model = Model::default();
    let (mut sent, mut expected) = (Vec::new(), Vec::new());
    while sent.len() < 4000 {
        let args = random_args(&mut rng, 99);
        if args.iter().map(Vec::len).sum::<usize>() > 200 {
            continue;
        }
        let bytes = if inline_ok(&args) && rng.one_in(3) {
            resp::inline(&args, true)
        } else {
            resp::multibulk(&args)
        };
        sent.extend(bytes);
        expected.extend(model.reply(&args));
    }
    let pieces: Vec<&[u8]> = sent.chunks(1).collect();
    exchange(addr, &pieces, &expected, End::Open)
}

fn hostile(addr: SocketAddr) -> Outcome {
    let err = |m: &str| resp::error(&format!("ERR Protocol error: {m}"));
    let over_bulk = format!("*2\r\n$3\r\nGET\r\n${}\r\n", MAX_BULK_LEN + 1);
    // Two arguments of the maximum length and the header of a third: over the request maximum.
    let mut over_request = format!("*3\r\n$3\r\nSET\r\n${MAX_BULK_LEN}\r\n").into_bytes();
    over_request.resize(over_request.len() + MAX_BULK_LEN, b'k');
    over_request.extend_from_slice(format!("\r\n${MAX_BULK_LEN}\r\n").as_bytes());
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"*1\r\n$999999999\r\n".to_vec(), err("invalid bulk length")),
        (over_bulk.into_bytes(), err("invalid bulk length")),
        (b"*1\r\n$-5\r\n".to_vec(), err("invalid bulk length")),
        (
            b"*1\r\n$12345678901234567890\r\n".to_vec(),
            err("invalid bulk length"),
        ),
        (
            b"*99999999999\r\n".to_vec(),
            err("invalid multibulk length"),
        ),
        (b"*1x\r\n".to_vec(), err("invalid multibulk length")),
        (b"*\r\n".to_vec(), err("invalid multibulk length")),
        (
            b"*2\r\n$3\r\nGET\r\n:12\r\n".to_vec(),
            err("expected '$', got ':'"),
        ),
        (
            b"*1\r\n$4\r\nPINGxx".to_vec(),
            err("expected '\\r\\n' after a bulk string"),
        ),
        (
            vec![b'a'; MAX_INLINE_LEN + 10],
            err("too big inline request"),
        ),
        (over_request, err("too big request")),
        (
            b"PING\r\n*x\r\nPING\r\n".to_vec(),
            [&b"+PONG\r\n"[..], &err("invalid multibulk length")].concat(),
        ),
        (
            b"PING\r\nQUIT\r\nPING\r\n".to_vec(),
            b"+PONG\r\n+OK\r\n".to_vec(),
        ),
    ];
    for (sent, expected) in &cases {
        exchange(addr, &[sent], expected, End::Closed).map_err(|e| {
            format!(
                "after {:?}: {e}",
                String::from_utf8_lossy(&sent[..sent.len().min(40)])
            )
        })?;
    }
    // A client that vanishes in the middle of a request, then one that is still served.
    let mut gone = connect(addr)?;
    gone.write_all(b"*2\r\n$3\r\nGET\r\n$10\r\nab")
        .map_err(|e| e.to_string())?;
    drop(gone);
    exchange(addr, &[b"PING\r\n"], b"+PONG\r\n", End::Open)
}

/// Random bytes, mostly RESP's own characters, so that some of it parses.
fn garbage_bytes(rng: &mut Rng) -> Vec<u8> {
    let pieces: [&[u8]; 12] = [
        b"*", b"$", b"\r\n", b"\n", b"-1", b"3", b"99999", b"PING", b" ", b"GET", b"\r", b"0",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.range(1, 60) {
        if rng.one_in(3) {
            let len = rng.range(1, 8);
            out.extend(rng.bytes(len));
        } else {
            out.extend_from_slice(pieces[rng.below(pieces.len())]);
        }
    }
    out
}

/// Checks that `bytes` is a sequence of whole RESP replies.
fn well_formed(mut bytes: &[u8]) -> Outcome {
    fn line(bytes: &[u8]) -> Result<(&[u8], &[u8]), String> {
        let end = bytes
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a reply line without \\r\\n")?;
        Ok((&bytes[..end], &bytes[end + 2..]))
    }
    while !bytes.is_empty() {
        let (head, rest) = line(bytes)?;
        bytes = rest;
        match head.first() {
            Some(b'+' | b'-' | b':' | b'*') => {}
            Some(b'$') => {
                let n: i64 = std::str::from_utf8(&head[1..])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or("a bad bulk length")?;
                if n >= 0 {
                    let n = n as usize;
                    if bytes.len() < n + 2 || &bytes[n..n + 2] != b"\r\n" {
                        return Err("a truncated bulk reply".into());
                    }
                    bytes = &bytes[n + 2..];
                }
            }
            _ => return Err(format!("not a reply: {:?}", String::from_utf8_lossy(head))),
        }
    }
    Ok(())
}

fn garbage(addr: SocketAddr, seed: u64) -> Outcome {
    let mut rng = Rng::new(seed ^ 0x6a);
    for i in 0..GARBAGE_CONNECTIONS {
        let sent = garbage_bytes(&mut rng);
        let mut stream = connect(addr)?;
        // The server may close first (a protocol error): a failed write is fine.
        let _ = stream.write_all(&sent);
        let _ = stream.shutdown(Shutdown::Write);
        let mut got = Vec::new();
        stream.read_to_end(&mut got).map_err(|e| {
            format!(
                "connection {i}, after {:?}: {e}",
                String::from_utf8_lossy(&sent)
            )
        })?;
        well_formed(&got).map_err(|e| {
            format!(
                "connection {i}, after {:?}: {e} in {:?}",
                String::from_utf8_lossy(&sent),
                String::from_utf8_lossy(&got)
            )
        })?;
    }
    exchange(addr, &[b"PING\r\n"], b"+PONG\r\n", End::Open)
}

fn shared_store(addr: SocketAddr) -> Outcome {
    let set = resp::multibulk(&[b"SET".to_vec(), b"shared".to_vec(), b"across".to_vec()]);
    exchange(addr, &[&set], b"+OK\r\n", End::Open)?;
    exchange(
        addr,
        &[b"GET shared\r\n"],
        &resp::bulk(b"across"),
        End::Open,
    )?;
    exchange(addr, &[b"DEL shared shared\r\n"], b":1\r\n", End::Open)?;
    exchange(addr, &[b"GET shared\r\n"], b"$-1\r\n", End::Open)
}

fn python_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// A client written with Python's socket module: its own RESP encoding and reply parser.
const PYTHON_CLIENT: &str = r#"
import os, random, socket, sys, threading

host, port, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
sock = socket.create_connection((host, port), timeout=20)
replies = sock.makefile("rb")

def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def reply():
    line = replies.readline()
    if not line.endswith(b"\r\n"):
        sys.exit("truncated reply line %r" % line)
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-"):
        return kind + rest
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = replies.read(n + 2)
        if len(data) != n + 2 or data[-2:] != b"\r\n":
            sys.exit("truncated bulk reply")
        return data[:-2]
    if kind == b"*":
        return [reply() for _ in range(int(rest))]
    sys.exit("not a reply: %r" % line)

store, requests, expected = {}, [], []
for _ in range(400):
    key = b"py:%d" % rng.randrange(30)
    op = rng.randrange(5)
    if op == 0:
        value = os.urandom(rng.choice([0, 1, 3, 64, 5000, 70000]))
        requests.append(command(b"SET", key, value))
        expected.append(b"+OK")
        store[key] = value
    elif op == 1:
        requests.append(command(b"GET", key))
        expected.append(store.get(key))
    elif op == 2:
        requests.append(command(b"DEL", key))
        expected.append(1 if store.pop(key, None) is not None else 0)
    elif op == 3:
        requests.append(b"PING\r\n")
        expected.append(b"+PONG")
    else:
        requests.append(command(b"CONFIG", b"GET", b"appendonly"))
        expected.append([b"appendonly", b"no"])

# Send on another thread while this one reads, so neither side's buffers can fill up.
sender = threading.Thread(target=sock.sendall, args=(b"".join(requests),))
sender.start()
for i, want in enumerate(expected):
    got = reply()
    if got != want:
        sys.exit("reply %d: got %r, expected %r" % (i, repr(got)[:80], repr(want)[:80]))
sender.join()
sock.close()
print("python client: %d pipelined replies checked" % len(expected))
"#;

fn python_client(addr: SocketAddr, seed: u64) -> Outcome {
    let out = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_CLIENT)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(seed.to_string())
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if out.status.success() {
        print!("    {}", String::from_utf8_lossy(&out.stdout));
        Ok(())
    } else {
        Err(format!(
            "python3 exited with {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
