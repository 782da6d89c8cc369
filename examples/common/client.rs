//! The examples' self-test client: plain `std::net::TcpStream`s, a writer thread sending a
//! request stream in the pieces it is given while the calling thread reads the replies and
//! compares them byte for byte with what a model expects.

use crate::rng::Rng;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

/// A read or write that takes longer than this is a hang, and fails the test.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A check's result: what went wrong, in words.
pub type Outcome = Result<(), String>;

/// A connection with `TCP_NODELAY` (so small pieces go out as they are written) and the
/// timeouts.
pub fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// What the server should do after the bytes it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Keep the connection open.
    Open,
    /// Close it after the last reply.
    Closed,
}

/// Connects, writes `pieces` on another thread while this one reads, and checks that the
/// replies are exactly `expected` (then, with [`End::Closed`], the end of the stream).
pub fn exchange(addr: SocketAddr, pieces: &[&[u8]], expected: &[u8], end: End) -> Outcome {
    let stream = connect(addr)?;
    let mut write_half = stream.try_clone().map_err(|e| e.to_string())?;
    let mut read_half = stream;
    thread::scope(|s| {
        let writer = s.spawn(move || -> Outcome {
            for piece in pieces {
                if let Err(e) = write_half.write_all(piece) {
                    // A server that closes (as expected) may do it before reading everything.
                    return if end == End::Closed {
                        Ok(())
                    } else {
                        Err(format!("write: {e}"))
                    };
                }
            }
            Ok(())
        });
        let got = read_up_to(&mut read_half, expected.len())?;
        compare(&got, expected)?;
        if end == End::Closed {
            let mut byte = [0u8; 1];
            match read_half.read(&mut byte) {
                Ok(0) => {}
                Ok(_) => return Err("more bytes after the last expected reply".into()),
                Err(e) => return Err(format!("reading the end of the stream: {e}")),
            }
        }
        writer
            .join()
            .map_err(|_| "the writer thread panicked".to_string())?
    })
}

/// Reads until `n` bytes came, or the stream ended (fewer, then).
fn read_up_to(stream: &mut TcpStream, n: usize) -> Result<Vec<u8>, String> {
    let mut got = vec![0u8; n];
    let mut at = 0;
    while at < n {
        match stream.read(&mut got[at..]) {
            Ok(0) => break,
            Ok(k) => at += k,
            Err(e) => return Err(format!("read after {at} of {n} reply bytes: {e}")),
        }
    }
    got.truncate(at);
    Ok(got)
}

/// `Ok` if equal; otherwise where they differ, with some context.
pub fn compare(got: &[u8], expected: &[u8]) -> Outcome {
    if got == expected {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    let from = at.saturating_sub(40);
    Err(format!(
        "replies differ at byte {at} of {} expected ({} received): got {:?}, expected {:?}",
        expected.len(),
        got.len(),
        String::from_utf8_lossy(&got[from..(at + 40).min(got.len())]),
        String::from_utf8_lossy(&expected[from..(at + 40).min(expected.len())]),
    ))
}

/// `clients` connections at once, each on its own thread: client `c` gets an `Rng` seeded from
/// `seed` and `c`, sends what `conversation` makes of them in random pieces, and checks every
/// reply byte ([`exchange`], the server closing at the end). Returns the bytes sent and the
/// reply bytes checked, over all clients.
pub fn pipelined<F>(
    addr: SocketAddr,
    seed: u64,
    clients: usize,
    conversation: F,
) -> Result<(usize, usize), String>
where
    F: Fn(&mut Rng, usize) -> (Vec<u8>, Vec<u8>) + Sync,
{
    let conversation = &conversation;
    thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                s.spawn(move || {
                    let mut rng = Rng::new(seed ^ ((client as u64 + 1) * 0x1000_0001));
                    let (sent, expected) = conversation(&mut rng, client);
                    let pieces = rng.pieces(&sent);
                    exchange(addr, &pieces, &expected, End::Closed)
                        .map_err(|e| format!("client {client}: {e}"))?;
                    Ok::<_, String>((sent.len(), expected.len()))
                })
            })
            .collect();
        let (mut sent, mut received) = (0, 0);
        for handle in handles {
            let (s, r) = handle
                .join()
                .map_err(|_| "a client thread panicked".to_string())??;
            sent += s;
            received += r;
        }
        Ok((sent, received))
    })
}
