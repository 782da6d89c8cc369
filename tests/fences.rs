//! Wake fences (`WakeFences`): which scheme a pipe gets, and that parked sides are woken under
//! every scheme (the asymmetric one parks through `membarrier(2)` on Linux; `Auto` switches
//! between the two, see also `alternating` below). The scheme is the
//! pipe's own choice: nothing process-wide (no environment variable, no global switch) changes
//! it.

mod support;

use ringpipe::{PipeOptions, WakeFences};
use std::thread;

fn options(fences: WakeFences, spin: u32, capacity: usize, chunk: usize) -> PipeOptions {
    PipeOptions::builder()
        .capacity(capacity)
        .chunk_size(chunk)
        .spin_before_park(spin)
        .wake_fences(fences)
        .build()
        .expect("valid options")
}

/// Two pipes, a ping-pong of `trips` 3-byte messages through 8-byte rings: every read and
/// every wait for room parks (no spinning), so a lost wake-up hangs (caught by the timeout).
fn pingpong(fences: WakeFences, trips: u32) {
    let (mut w1, mut r1) = ringpipe::pipe(options(fences, 0, 8, 4));
    let (mut w2, mut r2) = ringpipe::pipe(options(fences, 0, 8, 4));
    let echo = thread::spawn(move || {
        let mut n = 0u32;
        loop {
            let res = r1.read_at_least_blocking(3).expect("echo read");
            let buf = res.buffer();
            let done = res.is_completed() && buf.len() < 3;
            if done {
                assert_eq!(buf.len(), 0, "a partial message at the end");
                break;
            }
            let mut msg = [0u8; 3];
            buf.slice_to(buf.position(3)).copy_to_slice(&mut msg);
            let next = buf.position(3);
            r1.advance_to(next, next).expect("advance");
            w2.write_all_blocking(&msg).expect("echo write");
            n += 1;
        }
        n
    });
    for i in 0..trips {
        let msg = [(i % 251) as u8, (i / 251 % 251) as u8, 7];
        w1.write_all_blocking(&msg).expect("write");
        let res = r2.read_at_least_blocking(3).expect("read back");
        let buf = res.buffer();
        assert_eq!(buf.len(), 3, "exactly the one echoed message");
        assert_eq!(buf.to_vec(), msg, "trip {i}");
        let end = buf.end();
        r2.advance_to(end, end).expect("advance");
    }
    drop(w1);
    assert_eq!(echo.join().expect("echo thread"), trips);
}

/// A stream of `total` bytes through a 16-byte ring with the writer paused at 8 bytes: the
/// writer parks for room and for backpressure, the reader for data.
fn stream(fences: WakeFences, total: usize) {
    let opts = PipeOptions::builder()
        .capacity(16)
        .chunk_size(4)
        .pause_writer_threshold(8)
        .resume_writer_threshold(2)
        .wake_fences(fences)
        .build()
        .expect("valid options");
    let (mut w, mut r) = ringpipe::pipe(opts);
    let producer = thread::spawn(move || {
        let data: Vec<u8> = (0..total).map(|i| (i * 31 % 256) as u8).collect();
        for piece in data.chunks(5) {
            w.write_all_blocking(piece).expect("write");
        }
    });
    let mut got = Vec::with_capacity(total);
    loop {
        let res = r.read_blocking().expect("read");
        let buf = res.buffer();
        got.extend_from_slice(&buf.to_vec());
        let (end, done) = (buf.end(), res.is_completed());
        r.advance_to(end, end).expect("advance");
        if done {
            break;
        }
    }
    producer.join().expect("producer");
    let want: Vec<u8> = (0..total).map(|i| (i * 31 % 256) as u8).collect();
    assert_eq!(got, want);
}

#[test]
fn wake_fences_choice_and_wake_ups() {
    support::with_timeout(|| {
        let trips = if cfg!(miri) { 20 } else { 3000 };
        let total = if cfg!(miri) { 200 } else { 200_000 };

        // Symmetric is what it says, everywhere.
        let (w, r) = ringpipe::pipe(options(WakeFences::Symmetric, 100, 64, 16));
        assert!(!w.asymmetric_fences() && !r.asymmetric_fences());

        // Asymmetric where membarrier works (Linux; emulated under Miri); both halves agree.
        let (w, r) = ringpipe::pipe(options(WakeFences::Asymmetric, 0, 64, 16));
        let available = w.asymmetric_fences();
        assert_eq!(r.asymmetric_fences(), available);
        if cfg!(all(not(miri), not(target_os = "linux"))) {
            assert!(!available, "membarrier is Linux's");
        }

        // Auto (the default) may use asymmetric fences wherever they are available, whatever
        // the spin policy: it switches between the two as the sides park or not.
        let (w0, _r0) = ringpipe::pipe(options(WakeFences::Auto, 0, 64, 16));
        let (w1, _r1) = ringpipe::pipe(options(WakeFences::Auto, 10, 64, 16));
        let adaptive = PipeOptions::builder()
            .spin_wait(ringpipe::SpinWait::Adaptive {
                max: std::time::Duration::from_micros(5),
            })
            .build()
            .expect("valid options");
        let (w2, _r2) = ringpipe::pipe(adaptive);
        let (w3, _r3) = ringpipe::pipe(PipeOptions::default());
        for w in [&w0, &w1, &w2, &w3] {
            assert_eq!(w.asymmetric_fences(), available);
        }
        assert_eq!(
            PipeOptions::default().wake_fences(),
            WakeFences::Auto,
            "the default"
        );

        // Parked sides are woken under every scheme.
        for fences in [
            WakeFences::Symmetric,
            WakeFences::Asymmetric,
            WakeFences::Auto,
        ] {
            pingpong(fences, trips);
            stream(fences, total);
        }
    });
}
