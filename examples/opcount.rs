//! Single-thread hot-path cycles, for counting instructions with callgrind (repeatable on a
//! noisy machine, unlike timings): one cycle writes 64 bytes (`try_get_memory` + copy +
//! `advance` + `commit`) and reads them back (`try_read` + visit the chunks + `advance_to`);
//! the same cycle over rtrb (`write_chunk_uninit` / `read_chunk`) for reference.
//!
//! Instructions per cycle = the difference between two run lengths, divided by it:
//!
//! ```sh
//! cargo build --release --example opcount
//! for n in 100000 200000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/opcount ringpipe $n 2>&1 | grep Collected
//! done
//! ```
//!
//! Implementations: `ringpipe` (default options: `WakeFences::Auto`, asymmetric here since
//! nobody parks), `ringpipe-symmetric`, `rtrb`.
//!
//! `async-ringpipe`, `async-duplex` (tokio's `io::duplex`) and `async-ringbuf` (async-ringbuf)
//! count a 64-byte async round trip instead (`benches/common`'s ping-pong with both tasks on
//! one `current_thread` runtime, default options): each trip is two hand-offs between tasks
//! of one thread (every instruction of the runtime counts too).
//! (Measured: ringpipe 416 at 72145f5, 374 once reads stopped giving chunks back, 196 with the
//! per-operation calls `#[inline]`, 187 with the grant fast path testing one flag, 182 at
//! b7d9366; then, default options: 158 with the adaptive fence mode and the reader's chunk end
//! kept, 134 with the writer's positions (`limit`, `grant_end`, `chunk_pos`) and the common
//! `advance_to` apart, 133 without the writer's separate fast flag, 143 with the ring's home a
//! type parameter and a read's first slot base taken with the result (issue 17); rtrb 91–92.)

#[path = "../benches/common/mod.rs"]
mod common;

use common::{peers, pingpong_async, AsyncMode};
use std::hint::black_box;

const MSG: [u8; 64] = [7; 64];

fn ringpipe_cycles(fences: ringpipe::WakeFences, n: usize) -> u64 {
    let opts = ringpipe::PipeOptions::builder()
        .capacity(64 << 10)
        .pause_writer_threshold(64 << 10)
        .wake_fences(fences)
        .build()
        .expect("valid options");
    let (mut w, mut r) = ringpipe::pipe(opts);
    let mut sum = 0u64;
    for _ in 0..n {
        let buf = w.try_get_memory(MSG.len()).expect("room");
        buf[..MSG.len()].copy_from_slice(&MSG);
        w.advance(MSG.len());
        w.commit();
        let res = r.try_read().expect("read").expect("data");
        let seq = res.buffer();
        for c in seq.chunks() {
            sum += u64::from(c[0]) + c.len() as u64;
        }
        let end = seq.end();
        r.advance_to(end, end).expect("advance_to");
    }
    sum
}

fn rtrb_cycles(n: usize) -> u64 {
    let (mut p, mut c) = rtrb::RingBuffer::<u8>::new(64 << 10);
    let mut sum = 0u64;
    for _ in 0..n {
        let mut chunk = p.write_chunk_uninit(MSG.len()).expect("room");
        let (a, b) = chunk.as_mut_slices();
        let k = a.len();
        for (d, s) in a.iter_mut().zip(&MSG[..k]) {
            d.write(*s);
        }
        for (d, s) in b.iter_mut().zip(&MSG[k..]) {
            d.write(*s);
        }
        // SAFETY: every byte of the chunk was written just above.
        unsafe { chunk.commit_all() };
        let rc = c.read_chunk(c.slots()).expect("data");
        let (a, b) = rc.as_slices();
        sum += u64::from(a.first().copied().unwrap_or(0)) + (a.len() + b.len()) as u64;
        rc.commit_all();
    }
    sum
}

/// `n` async round trips of 64 bytes through two pipes made by `make`, both tasks on one
/// `current_thread` runtime; returns what `ringpipe_cycles` would for `n` cycles.
fn async_trips<T, R>(make: impl Fn() -> (T, R), n: usize) -> u64
where
    T: common::AsyncTx,
    R: common::AsyncRx,
{
    let (t1, r1) = make();
    let (t2, r2) = make();
    let done = pingpong_async(AsyncMode::Single, (t1, r2), (r1, t2), n, false);
    done.trips as u64 * (7 + 64)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "ringpipe".into());
    let n: usize = args
        .next()
        .map(|v| v.parse().expect("a cycle count"))
        .unwrap_or(100_000);
    let sum = match which.as_str() {
        "async-ringpipe" => async_trips(|| peers::ringpipe(64 << 10, 0), n),
        "async-duplex" => async_trips(|| peers::duplex(64 << 10), n),
        "async-ringbuf" => async_trips(|| peers::async_ringbuf(64 << 10), n),
        "ringpipe" => ringpipe_cycles(ringpipe::WakeFences::Auto, n),
        "ringpipe-symmetric" => ringpipe_cycles(ringpipe::WakeFences::Symmetric, n),
        "ringpipe-asymmetric" => ringpipe_cycles(ringpipe::WakeFences::Asymmetric, n),
        "rtrb" => rtrb_cycles(n),
        other => {
            eprintln!(
                "usage: opcount [ringpipe|ringpipe-symmetric|ringpipe-asymmetric|rtrb|async-ringpipe|async-duplex|async-ringbuf] [cycles]  (got {other:?})"
            );
            std::process::exit(2);
        }
    };
    assert_eq!(sum, n as u64 * (7 + 64), "every cycle saw its 64 bytes");
    black_box(sum);
}
