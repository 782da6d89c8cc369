//! Single-thread cost of the operations, no second thread: one 64-byte write (copied from the
//! pattern, committed) followed by one read of it (verified, consumed), and sixteen 64-byte
//! writes followed by one read, for ringpipe and each sync peer through the same adapters as
//! the streaming benches; ringpipe's raw calls (`try_get_memory`+`advance`+`commit` without
//! copying, `try_read` of an empty pipe); and single-thread memcpy of 1 MiB and 16 KiB buffers,
//! the bandwidth reference for the streaming benches.

mod common;

use common::peers;
use common::{src, Checker, SpinRx, SpinTx};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

const CAP: usize = 1 << 20;
const MSG: usize = 64;

struct Cycle<T, R> {
    tx: T,
    rx: R,
    wpos: u64,
    chk: Checker,
}

impl<T: SpinTx, R: SpinRx> Cycle<T, R> {
    fn new((tx, rx): (T, R)) -> Self {
        Cycle {
            tx,
            rx,
            wpos: 0,
            chk: Checker::new(None),
        }
    }

    #[inline]
    fn run(&mut self, writes: usize) {
        for _ in 0..writes {
            let n = self.tx.try_send(src(self.wpos, MSG));
            assert_eq!(n, MSG, "room for a write");
            self.wpos += MSG as u64;
        }
        // bbqueue hands out the data before and after its wrap point in two reads.
        let want = self.chk.pos + (writes * MSG) as u64;
        while self.chk.pos < want {
            assert!(self.rx.try_recv(&mut self.chk) > 0, "data was written");
        }
    }
}

fn bench_cycles<T: SpinTx, R: SpinRx>(
    c: &mut Criterion,
    name: &str,
    mut make: impl FnMut() -> (T, R),
) {
    for writes in [1usize, 16] {
        let mut g = c.benchmark_group(format!("ops/{writes}x64B-write+read"));
        g.throughput(Throughput::Elements(writes as u64));
        let mut cy = Cycle::new(make());
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| cy.run(writes))
        });
        g.finish();
    }
}

fn ops(c: &mut Criterion) {
    bench_cycles(c, "ringpipe", || peers::ringpipe(CAP, 0));
    bench_cycles(c, "ringpipe-asymmetric", || peers::ringpipe_spinning(CAP));
    bench_cycles(c, "ringpipe-symmetric", || peers::ringpipe_symmetric(CAP));
    bench_cycles(c, "rtrb", || peers::rtrb(CAP));
    bench_cycles(c, "ringbuf", || peers::ringbuf(CAP));
    peers::with_bbqueue(CAP, |tx, rx| {
        let mut halves = Some((tx, rx));
        // One queue serves both cycle sizes (the halves cannot be made twice).
        let mut cy = Cycle::new(halves.take().expect("halves"));
        for writes in [1usize, 16] {
            let mut g = c.benchmark_group(format!("ops/{writes}x64B-write+read"));
            g.throughput(Throughput::Elements(writes as u64));
            g.bench_function(BenchmarkId::from_parameter("bbqueue"), |b| {
                b.iter(|| cy.run(writes))
            });
            g.finish();
        }
    });

    // ringpipe's raw calls.
    let mut g = c.benchmark_group("ops/ringpipe-raw");
    g.throughput(Throughput::Elements(1));
    let (mut w, mut r) = ringpipe::pipe(peers::ringpipe_options(CAP, 0));
    let mut since_read = 0usize;
    g.bench_function("try_get_memory+advance+commit(64B)", |b| {
        b.iter(|| {
            let buf = w.try_get_memory(MSG).expect("room");
            black_box(buf.as_mut_ptr());
            w.advance(MSG);
            w.commit();
            since_read += MSG;
            if since_read >= 16 << 10 {
                // Amortised over 256 writes: keep the ring from filling.
                let end = r.try_read().expect("read").expect("data").buffer().end();
                r.advance_to(end, end).expect("advance");
                since_read = 0;
            }
        })
    });
    g.bench_function(
        "try_get_memory+advance+commit+try_read+advance_to(64B)",
        |b| {
            b.iter(|| {
                let buf = w.try_get_memory(MSG).expect("room");
                black_box(buf.as_mut_ptr());
                w.advance(MSG);
                w.commit();
                let end = {
                    let res = r.try_read().expect("read").expect("data");
                    black_box(res.buffer().first_chunk().as_ptr());
                    res.buffer().end()
                };
                r.advance_to(end, end).expect("advance");
            })
        },
    );
    // Drain, then poll an empty pipe.
    if let Some(res) = r.try_read().expect("read") {
        let end = res.buffer().end();
        r.advance_to(end, end).expect("advance");
    }
    g.bench_function("try_read(empty)", |b| {
        b.iter(|| assert!(black_box(r.try_read().expect("read")).is_none()))
    });
    g.finish();
    drop((w, r));

    // Bandwidth reference.
    let mut g = c.benchmark_group("ops/memcpy");
    for len in [1usize << 20, 16 << 10] {
        let a = vec![7u8; len];
        let mut bb = vec![0u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(BenchmarkId::from_parameter(common::short(len)), |b| {
            b.iter(|| {
                bb.copy_from_slice(black_box(&a));
                black_box(&mut bb);
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = ops
}
criterion_main!(benches);
