//! ringpipe and its peers behind the workload traits of `common`.
//!
//! Each adapter uses the peer's cheapest natural API for the job: zero-copy grants where the
//! peer has them (ringpipe `try_get_memory`/`read`, rtrb chunks, bbqueue grants, piper
//! `peek_buf`, async-ringbuf `as_slices`), copying calls where that is what the peer offers
//! (ringbuf `push_slice`/`pop_slice`, OS pipe and socketpair `write`/`read`, tokio `duplex`).

// The async adapters spell out `-> impl Future + Send` like the traits they implement, so that
// a peer whose future is not `Send` fails to compile here rather than in a driver.
#![allow(clippy::manual_async_fn)]

use super::{AsyncRx, AsyncTx, BlockRx, BlockTx, Checker, SpinRx, SpinTx};
use std::future::{poll_fn, Future};
use std::io::{Read, Write};
use std::mem::MaybeUninit;

// ---------------------------------------------------------------------------------------------
// ringpipe

/// ringpipe's options for a cell: the capacity is the hard bound (as for every peer) and the
/// pause threshold is the capacity too, so the writer pauses only when the ring is full and
/// resumes when half of it is free; `spin > 0` re-checks that many times before parking
/// (blocking and async), `spin == 0` keeps the default adaptive spinning. The wake fences are
/// the default (`Auto`: asymmetric while nobody parks, symmetric while the sides park).
pub fn ringpipe_options(cap: usize, spin: u32) -> ringpipe::PipeOptions {
    ringpipe_options_with(cap, spin, ringpipe::WakeFences::Auto)
}

/// As [`ringpipe_options`], with the given wake fences.
pub fn ringpipe_options_with(
    cap: usize,
    spin: u32,
    fences: ringpipe::WakeFences,
) -> ringpipe::PipeOptions {
    let b = cell_builder(cap).wake_fences(fences);
    // 0 keeps the default spinning (`SpinWait::Adaptive`), as a user who sets nothing gets.
    let b = if spin > 0 {
        b.spin_before_park(spin)
    } else {
        b
    };
    b.build().expect("valid ringpipe options")
}

/// The capacity of a cell, which is also the pause threshold (see [`ringpipe_options`]).
fn cell_builder(cap: usize) -> ringpipe::PipeOptionsBuilder {
    ringpipe::PipeOptions::builder()
        .capacity(cap)
        .pause_writer_threshold(cap)
}

ringpipe_adapter!(rp, ringpipe);
pub use rp::{Rx as RpRx, Tx as RpTx};

/// A ringpipe of `cap` bytes (default 16 KiB chunks from the global pool), default fences.
pub fn ringpipe(cap: usize, spin: u32) -> (RpTx, RpRx) {
    ringpipe_with(ringpipe_options(cap, spin))
}

/// A ringpipe of `cap` bytes whose waits park at once (`SpinWait::Never`, default fences).
pub fn ringpipe_nospin(cap: usize) -> (RpTx, RpRx) {
    ringpipe_with(
        cell_builder(cap)
            .spin_wait(ringpipe::SpinWait::Never)
            .build()
            .expect("valid ringpipe options"),
    )
}

/// A ringpipe with asymmetric wake fences always (`WakeFences::Asymmetric`): what a user who
/// busy-polls it (`try_*` loops) had to ask for before `Auto` switched by itself.
pub fn ringpipe_spinning(cap: usize) -> (RpTx, RpRx) {
    ringpipe_with(ringpipe_options_with(
        cap,
        0,
        ringpipe::WakeFences::Asymmetric,
    ))
}

/// A ringpipe of `cap` bytes with symmetric fences (a fence on every publish).
pub fn ringpipe_symmetric(cap: usize) -> (RpTx, RpRx) {
    ringpipe_with(ringpipe_options_with(
        cap,
        0,
        ringpipe::WakeFences::Symmetric,
    ))
}

fn ringpipe_with(opts: ringpipe::PipeOptions) -> (RpTx, RpRx) {
    rp::pipe(opts)
}

// ---------------------------------------------------------------------------------------------
// rtrb: write_chunk_uninit / read_chunk (zero-copy, all-or-nothing chunks)

pub struct RtrbTx(rtrb::Producer<u8>);
pub struct RtrbRx(rtrb::Consumer<u8>);

pub fn rtrb(cap: usize) -> (RtrbTx, RtrbRx) {
    let (p, c) = rtrb::RingBuffer::new(cap);
    (RtrbTx(p), RtrbRx(c))
}

#[inline]
fn copy_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: same length, distinct buffers (one is the ring's free space, the other ours);
    // `MaybeUninit<u8>` has the layout of `u8`.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), src.len()) }
}

impl SpinTx for RtrbTx {
    #[inline]
    fn try_send(&mut self, src: &[u8]) -> usize {
        match self.0.write_chunk_uninit(src.len()) {
            Ok(mut chunk) => {
                let (a, b) = chunk.as_mut_slices();
                let k = a.len();
                copy_uninit(a, &src[..k]);
                copy_uninit(b, &src[k..]);
                // SAFETY: every slot of the chunk was written just above.
                unsafe { chunk.commit_all() };
                src.len()
            }
            Err(_) => 0,
        }
    }
}

impl SpinRx for RtrbRx {
    #[inline]
    fn try_recv(&mut self, chk: &mut Checker) -> usize {
        let n = self.0.slots();
        if n == 0 {
            return 0;
        }
        let chunk = self.0.read_chunk(n).expect("slots are readable");
        let (a, b) = chunk.as_slices();
        chk.check(a);
        chk.check(b);
        chunk.commit_all();
        n
    }
}

// ---------------------------------------------------------------------------------------------
// ringbuf: push_slice / pop_slice (copies in and out)

pub struct RbTx(ringbuf::HeapProd<u8>);
pub struct RbRx(ringbuf::HeapCons<u8>, Vec<u8>);

pub fn ringbuf(cap: usize) -> (RbTx, RbRx) {
    use ringbuf::traits::Split;
    let (p, c) = ringbuf::HeapRb::<u8>::new(cap).split();
    (RbTx(p), RbRx(c, vec![0; 64 << 10]))
}

impl SpinTx for RbTx {
    #[inline]
    fn try_send(&mut self, src: &[u8]) -> usize {
        use ringbuf::traits::Producer;
        self.0.push_slice(src)
    }
}

impl SpinRx for RbRx {
    #[inline]
    fn try_recv(&mut self, chk: &mut Checker) -> usize {
        use ringbuf::traits::Consumer;
        let n = self.0.pop_slice(&mut self.1);
        chk.check(&self.1[..n]);
        n
    }
}

// ---------------------------------------------------------------------------------------------
// bbqueue 0.7 (stream producer/consumer, exact grants)

type BbqSync = bbqueue::BBQueue<
    bbqueue::traits::storage::BoxedSlice,
    bbqueue::traits::coordination::cas::AtomicCoord,
    bbqueue::traits::notifier::polling::Polling,
>;
type BbqAsync = bbqueue::BBQueue<
    bbqueue::traits::storage::BoxedSlice,
    bbqueue::traits::coordination::cas::AtomicCoord,
    bbqueue::traits::notifier::maitake::MaiNotSpsc,
>;

pub struct BbqTx<'a>(bbqueue::prod_cons::stream::StreamProducer<&'a BbqSync>);
pub struct BbqRx<'a>(bbqueue::prod_cons::stream::StreamConsumer<&'a BbqSync>);

/// Runs `f` with the two halves of a bbqueue of `cap` bytes (polling flavour).
pub fn with_bbqueue<R>(cap: usize, f: impl for<'a> FnOnce(BbqTx<'a>, BbqRx<'a>) -> R) -> R {
    let q = BbqSync::new_with_storage(bbqueue::traits::storage::BoxedSlice::new(cap));
    f(BbqTx(q.stream_producer()), BbqRx(q.stream_consumer()))
}

impl SpinTx for BbqTx<'_> {
    #[inline]
    fn try_send(&mut self, src: &[u8]) -> usize {
        match self.0.grant_exact(src.len()) {
            Ok(mut g) => {
                g[..src.len()].copy_from_slice(src);
                g.commit(src.len());
                src.len()
            }
            Err(_) => 0,
        }
    }
}

impl SpinRx for BbqRx<'_> {
    #[inline]
    fn try_recv(&mut self, chk: &mut Checker) -> usize {
        match self.0.read() {
            Ok(g) => {
                chk.check(&g);
                let n = g.len();
                g.release(n);
                n
            }
            Err(_) => 0,
        }
    }
}

pub struct BbqaTx(bbqueue::prod_cons::stream::StreamProducer<&'static BbqAsync>);
pub struct BbqaRx(bbqueue::prod_cons::stream::StreamConsumer<&'static BbqAsync>);

/// Runs `f` with the two halves of a bbqueue of `cap` bytes (async flavour, maitake
/// notifier). The queue is leaked for the duration of `f` (async tasks need `'static`
/// halves) and freed after it: `f` must not let the halves outlive it (the drivers in
/// `common` join their threads and drop their runtimes before returning).
pub fn with_bbqueue_async<R>(cap: usize, f: impl FnOnce(BbqaTx, BbqaRx) -> R) -> R {
    let raw: *mut BbqAsync = Box::into_raw(Box::new(BbqAsync::new_with_storage(
        bbqueue::traits::storage::BoxedSlice::new(cap),
    )));
    // SAFETY: `raw` comes from `Box::into_raw` and is freed only below, after `f` (which
    // consumed both halves) has returned.
    let q: &'static BbqAsync = unsafe { &*raw };
    let out = f(BbqaTx(q.stream_producer()), BbqaRx(q.stream_consumer()));
    // SAFETY: see above; no reference from `q` is alive any more.
    drop(unsafe { Box::from_raw(raw) });
    out
}

impl AsyncTx for BbqaTx {
    fn send<'a>(&'a mut self, src: &'a [u8]) -> impl Future<Output = ()> + Send + 'a {
        async move {
            let mut g = self.0.wait_grant_exact(src.len()).await;
            g[..src.len()].copy_from_slice(src);
            g.commit(src.len());
        }
    }
}

impl AsyncRx for BbqaRx {
    fn recv<'a>(&'a mut self, chk: &'a mut Checker) -> impl Future<Output = usize> + Send + 'a {
        async move {
            let g = self.0.wait_read().await;
            chk.check(&g);
            let n = g.len();
            g.release(n);
            n
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OS pipe and socketpair (blocking read/write)

pub struct FdTx<W>(W);
pub struct FdRx<R>(R, Vec<u8>);

/// An OS pipe whose kernel buffer is set to `cap` bytes (F_SETPIPE_SZ).
pub fn os_pipe(cap: usize) -> (FdTx<std::fs::File>, FdRx<std::fs::File>) {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: fds[1] is the pipe's write end, just created.
    unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, cap as libc::c_int) };
    // SAFETY: both descriptors are fresh and owned by nothing else.
    let (r, w) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    (FdTx(w), FdRx(r, vec![0; 64 << 10]))
}

fn set_sockbuf(s: &std::os::unix::net::UnixStream, opt: libc::c_int, cap: usize) {
    use std::os::fd::AsRawFd;
    let v = cap as libc::c_int;
    // SAFETY: a valid socket and a c_int option value of the right size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// A Unix stream socketpair with SO_SNDBUF / SO_RCVBUF set to `cap` bytes.
pub fn socketpair(
    cap: usize,
) -> (
    FdTx<std::os::unix::net::UnixStream>,
    FdRx<std::os::unix::net::UnixStream>,
) {
    let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    set_sockbuf(&a, libc::SO_SNDBUF, cap);
    set_sockbuf(&b, libc::SO_RCVBUF, cap);
    (FdTx(a), FdRx(b, vec![0; 64 << 10]))
}

impl<W: Write + Send> BlockTx for FdTx<W> {
    #[inline]
    fn send(&mut self, src: &[u8]) {
        self.0.write_all(src).expect("write");
    }
}

impl<R: Read + Send> BlockRx for FdRx<R> {
    #[inline]
    fn recv(&mut self, chk: &mut Checker) -> usize {
        let n = self.0.read(&mut self.1).expect("read");
        chk.check(&self.1[..n]);
        n
    }
}

// ---------------------------------------------------------------------------------------------
// piper: poll_fill_bytes / poll + peek_buf + consume (zero-copy read)

pub struct PiperTx(piper::Writer);
pub struct PiperRx(piper::Reader);

pub fn piper(cap: usize) -> (PiperTx, PiperRx) {
    let (r, w) = piper::pipe(cap);
    (PiperTx(w), PiperRx(r))
}

impl AsyncTx for PiperTx {
    fn send<'a>(&'a mut self, src: &'a [u8]) -> impl Future<Output = ()> + Send + 'a {
        async move {
            let mut sent = 0;
            while sent < src.len() {
                let k = poll_fn(|cx| self.0.poll_fill_bytes(cx, &src[sent..])).await;
                assert!(k > 0, "piper closed");
                sent += k;
            }
        }
    }
}

impl AsyncRx for PiperRx {
    fn recv<'a>(&'a mut self, chk: &'a mut Checker) -> impl Future<Output = usize> + Send + 'a {
        async move {
            if !poll_fn(|cx| self.0.poll(cx)).await {
                return 0;
            }
            let buf = self.0.peek_buf();
            let n = buf.len();
            chk.check(buf);
            self.0.consume(n);
            n
        }
    }
}

// ---------------------------------------------------------------------------------------------
// async-ringbuf: push_exact / wait_occupied + as_slices + skip (zero-copy read)

pub struct ArbTx(async_ringbuf::AsyncHeapProd<u8>);
pub struct ArbRx(async_ringbuf::AsyncHeapCons<u8>);

pub fn async_ringbuf(cap: usize) -> (ArbTx, ArbRx) {
    use async_ringbuf::traits::Split;
    let (p, c) = async_ringbuf::AsyncHeapRb::<u8>::new(cap).split();
    (ArbTx(p), ArbRx(c))
}

impl AsyncTx for ArbTx {
    fn send<'a>(&'a mut self, src: &'a [u8]) -> impl Future<Output = ()> + Send + 'a {
        use async_ringbuf::traits::AsyncProducer;
        async move {
            self.0.push_exact(src).await.expect("async-ringbuf closed");
        }
    }
}

impl AsyncRx for ArbRx {
    fn recv<'a>(&'a mut self, chk: &'a mut Checker) -> impl Future<Output = usize> + Send + 'a {
        use async_ringbuf::traits::{AsyncConsumer, Consumer};
        async move {
            if self.0.wait_occupied(1).await.is_err() {
                return 0;
            }
            let (a, b) = self.0.as_slices();
            let n = a.len() + b.len();
            chk.check(a);
            chk.check(b);
            self.0.skip(n);
            n
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tokio::io::duplex: write_all / read (copies in and out)

pub struct DuplexTx(tokio::io::DuplexStream);
pub struct DuplexRx(tokio::io::DuplexStream, Vec<u8>);

pub fn duplex(cap: usize) -> (DuplexTx, DuplexRx) {
    let (a, b) = tokio::io::duplex(cap);
    (DuplexTx(a), DuplexRx(b, vec![0; 64 << 10]))
}

impl AsyncTx for DuplexTx {
    fn send<'a>(&'a mut self, src: &'a [u8]) -> impl Future<Output = ()> + Send + 'a {
        use tokio::io::AsyncWriteExt;
        async move {
            self.0.write_all(src).await.expect("duplex write");
        }
    }
}

impl AsyncRx for DuplexRx {
    fn recv<'a>(&'a mut self, chk: &'a mut Checker) -> impl Future<Output = usize> + Send + 'a {
        use tokio::io::AsyncReadExt;
        async move {
            let n = self.0.read(&mut self.1).await.expect("duplex read");
            chk.check(&self.1[..n]);
            n
        }
    }
}
