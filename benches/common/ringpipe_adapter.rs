//! The ringpipe adapter behind the workload traits, written once as a macro so that the
//! criterion benches and `bench_report` (through `peers`, for the crate `ringpipe`) and
//! `benches/baseline` (for an old build, `ringpipe_base`, and the current one) drive exactly
//! the same code.
//!
//! It relies on: `pipe`, `PipeOptions`, `PipeWriter`, `PipeReader`; the writer's `max_memory`,
//! `try_get_memory` (and `WriteError::Full`), `advance`, `commit`, `write_all`,
//! `write_all_blocking`; the reader's `try_read`, `read`, `read_blocking`, `advance_to`; and
//! `buffer()` of a read result, with `chunks`, `len` and `end` of its sequence. A build that
//! lacks one of these cannot be compared by `benches/baseline`.

/// `ringpipe_adapter!(module, krate)`: a module `module` with `Tx`/`Rx` for the crate `krate`,
/// `pipe(options)` making a pair, and the workload traits of `crate::common` on them.
macro_rules! ringpipe_adapter {
    ($module:ident, $krate:ident) => {
        pub mod $module {
            use crate::common::{AsyncRx, AsyncTx, BlockRx, BlockTx, Checker, SpinRx, SpinTx};
            use ::$krate as rp;
            use std::future::Future;

            pub struct Tx {
                w: rp::PipeWriter,
                max: usize,
            }

            pub struct Rx(rp::PipeReader);

            /// A pipe with `opts`, as the two adapters.
            pub fn pipe(opts: rp::PipeOptions) -> (Tx, Rx) {
                let (w, r) = rp::pipe(opts);
                let max = w.max_memory();
                (Tx { w, max }, Rx(r))
            }

            impl SpinTx for Tx {
                #[inline]
                fn try_send(&mut self, src: &[u8]) -> usize {
                    let n = src.len().min(self.max);
                    match self.w.try_get_memory(n) {
                        Ok(buf) => {
                            buf[..n].copy_from_slice(&src[..n]);
                            self.w.advance(n);
                            self.w.commit();
                            n
                        }
                        Err(rp::WriteError::Full { .. }) => 0,
                        Err(e) => panic!("ringpipe write: {e}"),
                    }
                }
            }

            impl SpinRx for Rx {
                #[inline]
                fn try_recv(&mut self, chk: &mut Checker) -> usize {
                    let (n, end) = match self.0.try_read() {
                        Ok(Some(res)) => {
                            let buf = res.buffer();
                            for c in buf.chunks() {
                                chk.check(c);
                            }
                            (buf.len(), buf.end())
                        }
                        Ok(None) => return 0,
                        Err(e) => panic!("ringpipe read: {e}"),
                    };
                    self.0.advance_to(end, end).expect("advance_to");
                    n
                }
            }

            impl BlockTx for Tx {
                #[inline]
                fn send(&mut self, src: &[u8]) {
                    self.w.write_all_blocking(src).expect("ringpipe write_all");
                }
            }

            impl BlockRx for Rx {
                #[inline]
                fn recv(&mut self, chk: &mut Checker) -> usize {
                    let (n, end) = {
                        let res = self.0.read_blocking().expect("ringpipe read");
                        let buf = res.buffer();
                        for c in buf.chunks() {
                            chk.check(c);
                        }
                        (buf.len(), buf.end())
                    };
                    self.0.advance_to(end, end).expect("advance_to");
                    n
                }
            }

            impl AsyncTx for Tx {
                fn send<'a>(&'a mut self, src: &'a [u8]) -> impl Future<Output = ()> + Send + 'a {
                    async move {
                        self.w.write_all(src).await.expect("ringpipe write_all");
                    }
                }
            }

            impl AsyncRx for Rx {
                fn recv<'a>(
                    &'a mut self,
                    chk: &'a mut Checker,
                ) -> impl Future<Output = usize> + Send + 'a {
                    async move {
                        let (n, end) = {
                            let res = self.0.read().await.expect("ringpipe read");
                            let buf = res.buffer();
                            for c in buf.chunks() {
                                chk.check(c);
                            }
                            (buf.len(), buf.end())
                        };
                        self.0.advance_to(end, end).expect("advance_to");
                        n
                    }
                }
            }
        }
    };
}
