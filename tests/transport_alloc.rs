//! Zero allocations per request on the socket transport's path in steady state: a
//! request/response server on a `SocketTransport` over a Unix socket pair, on a current_thread
//! runtime, warmed up, then 10,000 round trips under a counting global allocator.
//!
//! The allocator (`support::counting_alloc`) counts the allocations of the thread that asks,
//! and on a current_thread runtime everything runs on that thread inside `block_on`: the peer
//! (the test's future), the transport's task and the application's task, tokio's scheduler and
//! its I/O driver. So the count is everything the round trips cost, tokio's machinery
//! included, and nothing is subtracted. The control test runs the same peer against a server
//! made of tokio alone (the socket read and written directly, into buffers on the stack): its
//! zero shows that tokio's own path (task wakes, readiness, `block_on`) allocates nothing per
//! operation, so a non-zero count in the transport test would be ringpipe's.
//!
//! Steady state includes the chunk pool's working set. On this path each pipe holds at most
//! two chunks at a time (the one being written and the one before it, while a request or the
//! send loop's read still spans it: every trip waits for the one before), so the connection
//! needs at most [`WORKING_SET`] chunks. A pool reaches that the first time both pipes change
//! chunks in the same round trip, which with these sizes happened between trips 9,000 and 10,000
//! (a one-time allocation of the fourth chunk, not one per request): the test fills a private
//! pool with the working set before the connection starts, as a warmed-up server's pool would
//! be, and checks afterwards that no further chunk was allocated.
#![cfg(feature = "tokio")]

mod support;

use ringpipe::{ChunkPool, PipeOptions, PipeReader, PipeWriter, SocketTransport, TransportOptions};
use support::counting_alloc::{count_allocs, ThreadCounting};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::runtime::Runtime;

#[global_allocator]
static ALLOC: ThreadCounting = ThreadCounting;

/// Request and response sizes: neither divides the pipes' 16 KiB chunks, so requests straddle
/// chunks (the application reads them across two chunks) and some reads of the socket return
/// part of a request (the application examines it without consuming it and waits for more).
const REQUEST: usize = 100;
const RESPONSE: usize = 300;
/// The pipes' chunk size (the default).
const CHUNK: usize = 16 << 10;
/// The most chunks the connection holds at once: two per pipe.
const WORKING_SET: usize = 4;
/// Round trips before counting: tokio's first-use allocations (its run queue, the I/O
/// driver's registrations), and every chunk of the working set taken and given back several
/// times (100 B × 2,000 = 195 KiB in, 586 KiB out).
const WARM_UP: u64 = 2_000;
/// Round trips counted.
const TRIPS: u64 = 10_000;

/// Byte `k` of request `i`'s body (after its 8-byte number).
fn request_byte(i: u64, k: usize) -> u8 {
    (i as usize * 31 + k * 7) as u8
}

/// Byte `k` of response `i` (its first 8 bytes are the request's number).
fn response_byte(i: u64, k: usize) -> u8 {
    (i as usize * 13 + k * 3 + 1) as u8
}

fn request(i: u64) -> [u8; REQUEST] {
    let mut r = [0u8; REQUEST];
    r[..8].copy_from_slice(&i.to_le_bytes());
    for (k, b) in r.iter_mut().enumerate().skip(8) {
        *b = request_byte(i, k);
    }
    r
}

/// Checks request `req` and writes its response into `out` (at least `RESPONSE` bytes).
fn respond(req: &[u8; REQUEST], out: &mut [u8]) {
    let i = u64::from_le_bytes(req[..8].try_into().unwrap());
    for (k, &b) in req.iter().enumerate().skip(8) {
        assert_eq!(b, request_byte(i, k), "request {i}, byte {k}");
    }
    out[..8].copy_from_slice(&i.to_le_bytes());
    for (k, b) in out[..RESPONSE].iter_mut().enumerate().skip(8) {
        *b = response_byte(i, k);
    }
}

/// The application: reads whole requests from its input (examining a partial one without
/// consuming it), writes each response with `get_memory`/`advance`, flushes after each read's
/// requests, until the peer's end of stream.
async fn serve_pipes(mut input: PipeReader, mut output: PipeWriter) {
    loop {
        let res = input.read().await.expect("read");
        let data = res.buffer();
        let whole = data.len() / REQUEST;
        let mut req = [0u8; REQUEST];
        for k in 0..whole {
            data.slice(k * REQUEST..(k + 1) * REQUEST)
                .copy_to_slice(&mut req);
            let mem = output.get_memory(RESPONSE).await.expect("get_memory");
            respond(&req, mem);
            output.advance(RESPONSE);
        }
        if whole > 0 {
            output.flush().await.expect("flush");
        }
        let (consumed, examined) = (data.position(whole * REQUEST), data.end());
        let done = res.is_completed();
        input.advance_to(consumed, examined).expect("advance_to");
        if done {
            output.complete();
            return;
        }
    }
}

/// The control: the same server on tokio alone.
async fn serve_socket(mut socket: UnixStream) {
    let mut req = [0u8; REQUEST];
    let mut resp = [0u8; RESPONSE];
    while socket.read_exact(&mut req).await.is_ok() {
        respond(&req, &mut resp);
        socket.write_all(&resp).await.expect("write");
    }
}

/// The peer: `n` round trips from request number `from`, each response checked.
async fn trips(peer: &mut UnixStream, from: u64, n: u64) {
    let mut resp = [0u8; RESPONSE];
    for i in from..from + n {
        peer.write_all(&request(i)).await.expect("peer write");
        peer.read_exact(&mut resp).await.expect("peer read");
        assert_eq!(resp[..8], i.to_le_bytes(), "response number");
        for (k, &b) in resp.iter().enumerate().skip(8) {
            assert_eq!(b, response_byte(i, k), "response {i}, byte {k}");
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Warms `peer`'s server up, counts the allocations of `TRIPS` round trips, then ends the
/// connection; returns the count.
fn count_steady_state(
    rt: &Runtime,
    mut peer: UnixStream,
    server: tokio::task::JoinHandle<()>,
) -> usize {
    rt.block_on(trips(&mut peer, 0, WARM_UP));
    let ((), allocs) = count_allocs(|| rt.block_on(trips(&mut peer, WARM_UP, TRIPS)));
    rt.block_on(async {
        peer.shutdown().await.unwrap();
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "no response without a request");
        server.await.unwrap();
    });
    allocs
}

/// A private pool holding the connection's working set, idle: a pipe over it writes
/// `WORKING_SET` chunks full, reads them back, and is dropped.
fn warmed_pool() -> ChunkPool {
    let pool = ChunkPool::new(CHUNK, 64).unwrap();
    let options = pipe_options(&pool);
    let (mut w, mut r) = ringpipe::pipe(options);
    for _ in 0..WORKING_SET {
        let mem = w.try_get_memory(CHUNK).unwrap();
        mem.fill(1);
        w.advance(CHUNK);
    }
    w.commit();
    let res = r.try_read().unwrap().unwrap();
    let end = res.buffer().end();
    r.advance_to(end, end).unwrap();
    drop((w, r));
    assert_eq!(
        (pool.allocated(), pool.retained()),
        (WORKING_SET, WORKING_SET)
    );
    pool
}

/// The default options, over `pool`.
fn pipe_options(pool: &ChunkPool) -> PipeOptions {
    PipeOptions::builder().pool(pool.clone()).build().unwrap()
}

#[test]
fn the_transport_path_allocates_nothing_per_request() {
    let rt = runtime();
    let pool = warmed_pool();
    let options = TransportOptions::new()
        .receive(pipe_options(&pool))
        .send(pipe_options(&pool));
    let (socket, peer) = rt.block_on(async { UnixStream::pair().unwrap() });
    let (end, transport) = SocketTransport::new(socket, options);
    let transport = rt.spawn(transport);
    let (input, output) = end.into_parts();
    let app = rt.spawn(serve_pipes(input, output));
    let allocs = count_steady_state(&rt, peer, app);
    let stats = rt.block_on(transport).unwrap().unwrap();
    let total = WARM_UP + TRIPS;
    assert_eq!(
        (stats.received, stats.sent),
        (total * REQUEST as u64, total * RESPONSE as u64)
    );
    assert_eq!(
        allocs, 0,
        "{TRIPS} round trips through SocketTransport allocated {allocs} times"
    );
    assert_eq!(
        pool.allocated(),
        WORKING_SET,
        "the connection needed more chunks than its working set"
    );
}

#[test]
fn the_control_tokio_alone_allocates_nothing_per_request() {
    let rt = runtime();
    let (socket, peer) = rt.block_on(async { UnixStream::pair().unwrap() });
    let server = rt.spawn(serve_socket(socket));
    let allocs = count_steady_state(&rt, peer, server);
    assert_eq!(
        allocs, 0,
        "{TRIPS} round trips through tokio alone allocated {allocs} times: the transport \
         test's count includes tokio's"
    );
}
