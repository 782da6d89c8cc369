//! Two async tasks streaming on tokio: ringpipe (`write_all().await` / `read().await`, with and
//! without spin-before-park) against piper, async-ringbuf, `tokio::io::duplex` and bbqueue
//! (async flavour). Three placements (see `AsyncMode`): `x2` two current_thread runtimes on
//! two pinned threads (the tasks on different cores), `mt2` one multi-thread runtime with two
//! pinned workers (tokio places the tasks), `ct1` one current_thread runtime on one core.
//! Write sizes 64 B, 1 KiB, 16 KiB; capacities 64 KiB, 1 MiB; every byte verified.
//! `RINGPIPE_BENCH_QUICK=1` for a short run.

mod common;

use common::peers;
use common::{async_stream, iter_bytes, short, AsyncMode, Spec, CAPS, SIZES, SPIN};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

fn async_tokio(c: &mut Criterion) {
    for mode in AsyncMode::ALL {
        for cap in CAPS {
            let mut g = c.benchmark_group(format!("async_{}/cap={}", mode.name(), short(cap)));
            g.sampling_mode(SamplingMode::Flat);
            for size in SIZES {
                let bytes = iter_bytes(size) / if size < 1024 { 4 } else { 1 };
                g.throughput(Throughput::Bytes(bytes));
                let spec = move |iters: u64| Spec::plain(size, bytes * iters);
                g.bench_function(BenchmarkId::new("ringpipe", short(size)), |b| {
                    b.iter_custom(|iters| {
                        let (tx, rx) = peers::ringpipe(cap, 0);
                        async_stream(mode, tx, rx, &spec(iters)).elapsed
                    })
                });
                if mode != AsyncMode::Single {
                    // Spinning inside a poll on the only thread would only delay the other task.
                    g.bench_function(BenchmarkId::new("ringpipe+spin", short(size)), |b| {
                        b.iter_custom(|iters| {
                            let (tx, rx) = peers::ringpipe(cap, SPIN);
                            async_stream(mode, tx, rx, &spec(iters)).elapsed
                        })
                    });
                }
                g.bench_function(BenchmarkId::new("piper", short(size)), |b| {
                    b.iter_custom(|iters| {
                        let (tx, rx) = peers::piper(cap);
                        async_stream(mode, tx, rx, &spec(iters)).elapsed
                    })
                });
                g.bench_function(BenchmarkId::new("async-ringbuf", short(size)), |b| {
                    b.iter_custom(|iters| {
                        let (tx, rx) = peers::async_ringbuf(cap);
                        async_stream(mode, tx, rx, &spec(iters)).elapsed
                    })
                });
                g.bench_function(BenchmarkId::new("duplex", short(size)), |b| {
                    b.iter_custom(|iters| {
                        let (tx, rx) = peers::duplex(cap);
                        async_stream(mode, tx, rx, &spec(iters)).elapsed
                    })
                });
                g.bench_function(BenchmarkId::new("bbqueue", short(size)), |b| {
                    b.iter_custom(|iters| {
                        peers::with_bbqueue_async(cap, |tx, rx| {
                            async_stream(mode, tx, rx, &spec(iters)).elapsed
                        })
                    })
                });
            }
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = async_tokio
}
criterion_main!(benches);
