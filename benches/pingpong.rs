//! 64-byte ping-pong between two pinned threads (or tasks) through two pipes: A writes 64
//! bytes into pipe 1, B reads them (verifying every byte) and writes them back into pipe 2, A
//! reads them (verifying again). Spinning (ringpipe `try_*` against rtrb, and the floor: two
//! threads flipping two cache lines), blocking (ringpipe `*_blocking` with and without
//! spin-before-park against an OS pipe and a socketpair) and async on tokio (ringpipe against
//! piper, async-ringbuf and `tokio::io::duplex`, in the `x2`, `mt2` and `ct1` placements).
//!
//! criterion reports the mean round trip; before measuring each variant, this bench also times
//! every one of 100,000 round trips (20,000 with `RINGPIPE_BENCH_QUICK=1`), prints p50 / p99 /
//! p99.9 and writes them all to `target/ringpipe-bench/pingpong.json`.

mod common;

use common::peers;
use common::{
    fmt_ns, pcts, pingpong_async, pingpong_blocking, pingpong_cachelines, pingpong_spin, quick,
    AsyncMode, Pcts, Trips, SPIN,
};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use std::time::Duration;

const CAP: usize = 64 << 10;

fn trips_for_percentiles() -> usize {
    if quick() {
        20_000
    } else {
        100_000
    }
}

struct Recorder {
    rows: Vec<(String, String, Pcts)>,
}

impl Recorder {
    /// Runs the percentile pass of a variant once, then lets criterion measure its mean.
    fn variant(
        &mut self,
        c: &mut Criterion,
        group: &str,
        name: &str,
        mut run: impl FnMut(usize, bool) -> Trips,
    ) {
        let mut done = false;
        let rows = &mut self.rows;
        let mut g = c.benchmark_group(format!("pingpong/{group}"));
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            if !done {
                done = true;
                let mut t = run(trips_for_percentiles(), true);
                let p = pcts(&mut t.latencies_ns);
                println!(
                    "pingpong/{group}/{name}: p50 {}  p99 {}  p99.9 {}  mean {}  ({} round trips)",
                    fmt_ns(p.p50 as f64),
                    fmt_ns(p.p99 as f64),
                    fmt_ns(p.p999 as f64),
                    fmt_ns(p.mean),
                    p.n
                );
                rows.push((group.to_string(), name.to_string(), p));
            }
            b.iter_custom(|iters| run(iters as usize, false).total)
        });
        g.finish();
    }

    fn write_json(&self) {
        if self.rows.is_empty() {
            return;
        }
        let mut s = String::from("[\n");
        for (i, (group, name, p)) in self.rows.iter().enumerate() {
            s += &format!(
                "  {{\"group\": \"{group}\", \"name\": \"{name}\", \"trips\": {}, \"p50_ns\": {}, \"p99_ns\": {}, \"p999_ns\": {}, \"mean_ns\": {:.1}}}{}\n",
                p.n,
                p.p50,
                p.p99,
                p.p999,
                p.mean,
                if i + 1 < self.rows.len() { "," } else { "" }
            );
        }
        s += "]\n";
        let path = common::out_dir().join("pingpong.json");
        std::fs::write(&path, s).expect("write pingpong.json");
        println!("wrote {}", path.display());
    }
}

fn pingpong(c: &mut Criterion, rec: &mut Recorder) {
    // Spinning.
    rec.variant(c, "spin", "floor-2-cache-lines", pingpong_cachelines);
    rec.variant(c, "spin", "ringpipe", |n, r| {
        let ((tx1, rx1), (tx2, rx2)) = (peers::ringpipe(CAP, 0), peers::ringpipe(CAP, 0));
        pingpong_spin((tx1, rx2), (rx1, tx2), n, r)
    });
    rec.variant(c, "spin", "ringpipe-asymmetric", |n, r| {
        let ((tx1, rx1), (tx2, rx2)) =
            (peers::ringpipe_spinning(CAP), peers::ringpipe_spinning(CAP));
        pingpong_spin((tx1, rx2), (rx1, tx2), n, r)
    });
    rec.variant(c, "spin", "ringpipe-symmetric", |n, r| {
        let ((tx1, rx1), (tx2, rx2)) = (
            peers::ringpipe_symmetric(CAP),
            peers::ringpipe_symmetric(CAP),
        );
        pingpong_spin((tx1, rx2), (rx1, tx2), n, r)
    });
    rec.variant(c, "spin", "rtrb", |n, r| {
        let ((tx1, rx1), (tx2, rx2)) = (peers::rtrb(CAP), peers::rtrb(CAP));
        pingpong_spin((tx1, rx2), (rx1, tx2), n, r)
    });
    // Blocking.
    for (name, spin) in [("ringpipe", 0), ("ringpipe+spin", SPIN)] {
        rec.variant(c, "blocking", name, |n, r| {
            let ((tx1, rx1), (tx2, rx2)) = (peers::ringpipe(CAP, spin), peers::ringpipe(CAP, spin));
            pingpong_blocking((tx1, rx2), (rx1, tx2), n, r)
        });
    }
    rec.variant(c, "blocking", "ospipe", |n, r| {
        let ((tx1, rx1), (tx2, rx2)) = (peers::os_pipe(CAP), peers::os_pipe(CAP));
        pingpong_blocking((tx1, rx2), (rx1, tx2), n, r)
    });
    rec.variant(c, "blocking", "socketpair", |n, r| {
        let ((tx1, rx1), (tx2, rx2)) = (peers::socketpair(CAP), peers::socketpair(CAP));
        pingpong_blocking((tx1, rx2), (rx1, tx2), n, r)
    });
    // Async.
    for mode in AsyncMode::ALL {
        let group = format!("async_{}", mode.name());
        rec.variant(c, &group, "ringpipe", |n, r| {
            let ((tx1, rx1), (tx2, rx2)) = (peers::ringpipe(CAP, 0), peers::ringpipe(CAP, 0));
            pingpong_async(mode, (tx1, rx2), (rx1, tx2), n, r)
        });
        if mode != AsyncMode::Single {
            rec.variant(c, &group, "ringpipe+spin", |n, r| {
                let ((tx1, rx1), (tx2, rx2)) =
                    (peers::ringpipe(CAP, SPIN), peers::ringpipe(CAP, SPIN));
                pingpong_async(mode, (tx1, rx2), (rx1, tx2), n, r)
            });
        }
        rec.variant(c, &group, "piper", |n, r| {
            let ((tx1, rx1), (tx2, rx2)) = (peers::piper(CAP), peers::piper(CAP));
            pingpong_async(mode, (tx1, rx2), (rx1, tx2), n, r)
        });
        rec.variant(c, &group, "async-ringbuf", |n, r| {
            let ((tx1, rx1), (tx2, rx2)) = (peers::async_ringbuf(CAP), peers::async_ringbuf(CAP));
            pingpong_async(mode, (tx1, rx2), (rx1, tx2), n, r)
        });
        rec.variant(c, &group, "duplex", |n, r| {
            let ((tx1, rx1), (tx2, rx2)) = (peers::duplex(CAP), peers::duplex(CAP));
            pingpong_async(mode, (tx1, rx2), (rx1, tx2), n, r)
        });
    }
}

fn main() {
    let mut c = common::criterion_config()
        .measurement_time(if quick() {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(1)
        })
        .configure_from_args();
    let mut rec = Recorder { rows: Vec::new() };
    pingpong(&mut c, &mut rec);
    rec.write_json();
    c.final_summary();
}
