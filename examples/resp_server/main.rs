//! A key-value server speaking the Redis protocol (RESP2), three times: over ringpipe's
//! socket transport, over tokio's `BufReader`/`BufWriter`, and over tokio-util's `Framed`,
//! with the same parser, commands and store, so that only the I/O path differs.
//! `benches/redis/run.sh` puts redis-benchmark in front of each.
//!
//! ```text
//! cargo run --release --features tokio --example resp_server -- --impl ringpipe --listen 127.0.0.1:6380
//! redis-cli -p 6380 set greeting hello
//! cargo run --release --features tokio --example resp_server -- --self-test
//! cargo test --features tokio --example resp_server      # the parser's properties
//! ```
//!
//! Flags: `--impl ringpipe|bufio|framed` (default `ringpipe`), `--listen ADDR` (default
//! `127.0.0.1:0`; the bound address is printed), `--self-test` (runs every implementation
//! against the checks in `self_test.rs` and exits non-zero on a failure).
//!
//! * `parser.rs`: the RESP request parser (multibulk and inline requests, pipelined, limits),
//!   written once over the `Cursor` trait of `cursor.rs`, which ringpipe's `SequenceReader`
//!   and a plain slice implement.
//! * `commands.rs`: the store (one `HashMap` behind a `Mutex`) and the commands: `PING`,
//!   `ECHO`, `SET`, `GET`, `DEL`, `CONFIG GET`, `QUIT`.
//! * `reply.rs`: the RESP encoding of the replies.
//! * `server_ringpipe.rs`, `server_bufio.rs`, `server_framed.rs`: the three I/O paths.
//! * `self_test.rs`: the self-test's clients (ours and, when `python3` is there, Python's).
//! * `tests.rs`: quickcheck properties of the parser over real ringpipe reads.

#[path = "../common/client.rs"]
mod client;
mod commands;
mod cursor;
#[path = "../common/linger.rs"]
mod linger;
mod parser;
mod reply;
#[path = "../common/rng.rs"]
mod rng;
mod self_test;
mod server_bufio;
mod server_framed;
mod server_ringpipe;
#[cfg(test)]
mod tests;

use commands::Store;
use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long a connection that is closing (after `QUIT` or a protocol error) goes on reading
/// and discarding what the client sends, so that its last replies are not lost to a reset.
pub const LINGER: Duration = Duration::from_secs(1);

/// The I/O path a server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Ringpipe,
    Bufio,
    Framed,
}

impl Impl {
    /// Every implementation, in the order the self-test and the benchmark use.
    pub const ALL: [Impl; 3] = [Impl::Ringpipe, Impl::Bufio, Impl::Framed];

    /// The name `--impl` takes.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Ringpipe => "ringpipe",
            Impl::Bufio => "bufio",
            Impl::Framed => "framed",
        }
    }

    fn from_name(name: &str) -> Option<Impl> {
        Impl::ALL.into_iter().find(|i| i.name() == name)
    }
}

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

/// Accepts connections for ever, each served on its own task by `imp`.
pub async fn accept_loop(listener: TcpListener, imp: Impl, store: Arc<Store>) {
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                eprintln!("resp_server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Replies go out at once (Redis sets TCP_NODELAY too).
        if let Err(e) = socket.set_nodelay(true) {
            eprintln!("resp_server: TCP_NODELAY: {e}");
        }
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let served = match imp {
                Impl::Ringpipe => server_ringpipe::serve(socket, store).await,
                Impl::Bufio => server_bufio::serve(socket, store).await,
                Impl::Framed => server_framed::serve(socket, store).await,
            };
            if let Err(e) = served {
                if !is_disconnect(&e) {
                    eprintln!("resp_server ({}): connection: {e}", imp.name());
                }
            }
        });
    }
}

struct Flags {
    imp: Impl,
    listen: String,
    self_test: bool,
}

fn parse_flags() -> Result<Flags, String> {
    let mut flags = Flags {
        imp: Impl::Ringpipe,
        listen: "127.0.0.1:0".to_owned(),
        self_test: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--impl" => {
                let name = args.next().ok_or("--impl needs a value")?;
                flags.imp = Impl::from_name(&name)
                    .ok_or_else(|| format!("--impl {name}: expected ringpipe, bufio or framed"))?;
            }
            "--listen" => flags.listen = args.next().ok_or("--listen needs an address")?,
            "--self-test" => flags.self_test = true,
            "--help" | "-h" => return Err(
                "usage: resp_server [--impl ringpipe|bufio|framed] [--listen ADDR] [--self-test]"
                    .to_owned(),
            ),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(flags)
}

fn main() -> ExitCode {
    let flags = match parse_flags() {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if flags.self_test {
        return match self_test::run() {
            Ok(()) => {
                println!("resp_server self-test: all passed");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("resp_server self-test FAILED: {message}");
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
            eprintln!("resp_server: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match TcpListener::bind(&flags.listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("resp_server: bind {}: {e}", flags.listen);
                return ExitCode::FAILURE;
            }
        };
        let addr: SocketAddr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => {
                eprintln!("resp_server: local address: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("resp_server ({}) listening on {addr}", flags.imp.name());
        // The benchmark script waits for this line.
        let _ = io::stdout().flush();
        accept_loop(listener, flags.imp, Arc::new(Store::new())).await;
        ExitCode::SUCCESS
    })
}
