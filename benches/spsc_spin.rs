//! Two-thread streaming, spin-waiting: ringpipe (`try_get_memory`/`advance`/`commit`,
//! `try_read`/`advance_to`) against rtrb (`write_chunk_uninit`/`read_chunk`), ringbuf
//! (`push_slice`/`pop_slice`) and bbqueue (`grant_exact`/`read`), write sizes 64 B, 1 KiB and
//! 16 KiB, capacities 64 KiB and 1 MiB. Producer on core 0, consumer on core 1, every byte
//! verified. `RINGPIPE_BENCH_QUICK=1` for a short run.

mod common;

use common::peers;
use common::{human, iter_bytes, short, spin_stream, Spec, CAPS, SIZES};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

fn spsc_spin(c: &mut Criterion) {
    for cap in CAPS {
        let mut g = c.benchmark_group(format!("spsc_spin/cap={}", short(cap)));
        g.sampling_mode(SamplingMode::Flat);
        for size in SIZES {
            let bytes = iter_bytes(size);
            g.throughput(Throughput::Bytes(bytes));
            let spec = move |iters: u64| Spec::plain(size, bytes * iters);
            // Default options (adaptive fences: asymmetric here, since nobody parks).
            g.bench_function(BenchmarkId::new("ringpipe", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::ringpipe(cap, 0);
                    spin_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("ringpipe-asymmetric", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::ringpipe_spinning(cap);
                    spin_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("ringpipe-symmetric", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::ringpipe_symmetric(cap);
                    spin_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("rtrb", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::rtrb(cap);
                    spin_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("ringbuf", short(size)), |b| {
                b.iter_custom(|iters| {
                    let (tx, rx) = peers::ringbuf(cap);
                    spin_stream(tx, rx, &spec(iters)).elapsed
                })
            });
            g.bench_function(BenchmarkId::new("bbqueue", short(size)), |b| {
                b.iter_custom(|iters| {
                    peers::with_bbqueue(cap, |tx, rx| spin_stream(tx, rx, &spec(iters)).elapsed)
                })
            });
        }
        g.finish();
        let _ = human(cap);
    }
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = spsc_spin
}
criterion_main!(benches);
