//! A TCP line server whose connections go through ringpipe's `SocketTransport`, and whose
//! protocol code parses lines with a `SequenceReader` over the pipe's multi-chunk reads.
//!
//! ```text
//! cargo run --release --features tokio --example line_server -- --listen 127.0.0.1:7000
//! printf 'echo hello\nupper shout\ncount\nquit\n' | nc 127.0.0.1 7000
//! cargo run --release --features tokio --example line_server -- --self-test
//! ```
//!
//! Flags: `--listen ADDR` (default `127.0.0.1:0`; the bound address is printed) and
//! `--self-test` (starts the server, checks it with the clients of `self_test.rs`, and exits
//! non-zero on a failure).
//!
//! * `protocol.rs`: the commands (`echo`, `upper`, `count`, `quit`) and the maximum line length;
//! * `server.rs`: a connection: the transport, the read loop, consumed and examined;
//! * `self_test.rs`: the self-test.
//!
//! The server runs on tokio's multi-thread runtime, one task per connection plus one for its
//! transport.

#[path = "../common/client.rs"]
mod client;
#[path = "../common/linger.rs"]
mod linger;
mod protocol;
// Shared with resp_server, which uses more of it.
#[allow(dead_code)]
#[path = "../common/rng.rs"]
mod rng;
mod self_test;
mod server;

use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpListener;

/// Whether a connection's error is just the client going away.
fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::NotConnected
    )
}

/// Accepts connections for ever, each served on its own task.
pub async fn accept_loop(listener: TcpListener) {
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                eprintln!("line_server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = socket.set_nodelay(true) {
            eprintln!("line_server: TCP_NODELAY: {e}");
        }
        tokio::spawn(async move {
            if let Err(e) = server::serve(socket).await {
                if !is_disconnect(&e) {
                    eprintln!("line_server: connection: {e}");
                }
            }
        });
    }
}

fn main() -> ExitCode {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut self_test = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next() {
                Some(addr) => listen = addr,
                None => {
                    eprintln!("--listen needs an address");
                    return ExitCode::from(2);
                }
            },
            "--self-test" => self_test = true,
            _ => {
                eprintln!("usage: line_server [--listen ADDR] [--self-test]");
                return ExitCode::from(2);
            }
        }
    }
    if self_test {
        return match self_test::run() {
            Ok(()) => {
                println!("line_server self-test: all passed");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("line_server self-test FAILED: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("line_server: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match TcpListener::bind(&listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("line_server: bind {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match listener.local_addr() {
            Ok(addr) => println!("line_server listening on {addr}"),
            Err(e) => {
                eprintln!("line_server: local address: {e}");
                return ExitCode::FAILURE;
            }
        }
        let _ = io::stdout().flush();
        accept_loop(listener).await;
        ExitCode::SUCCESS
    })
}
