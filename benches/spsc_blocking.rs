//! Two-thread streaming with blocking calls: ringpipe (`write_all_blocking` /
//! `read_blocking`, with and without spin-before-park) against an OS pipe (F_SETPIPE_SZ set to
//! the capacity) and a Unix socketpair (SO_SNDBUF/SO_RCVBUF set to the capacity). Write sizes
//! 64 B, 1 KiB, 16 KiB; capacities 64 KiB, 1 MiB; producer on core 0, consumer on core 1,
//! every byte verified. `RINGPIPE_BENCH_QUICK=1` for a short run.

mod common;

use common::peers;
use common::{blocking_stream, iter_bytes, short, Spec, CAPS, SIZES, SPIN};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

fn spsc_blocking(c: &mut Criterion) {
    for cap in CAPS {
        let mut g = c.benchmark_group(format!("spsc_blocking/cap={}", short(cap)));
        g.sampling_mode(SamplingMode::Flat);
        for size in SIZES {
            // Blocking 64-byte writes through the kernel are slow: stream less.
            let bytes = iter_bytes(size) / if size < 1024 { 4 } else { 1 };
            g.throughput(Throughput::Bytes(bytes));
            let spec = move |iters: u64| Spec::plain(size, bytes * iters);
            g.bench_function(BenchmarkId::new("ringpipe", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::ringpipe(cap, 0);
                    blocking_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("ringpipe+spin", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::ringpipe(cap, SPIN);
                    blocking_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("ospipe", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::os_pipe(cap);
                    blocking_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("socketpair", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::socketpair(cap);
                    blocking_stream(tx, rx, &spec(iters)).elapsed
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = spsc_blocking
}
criterion_main!(benches);
