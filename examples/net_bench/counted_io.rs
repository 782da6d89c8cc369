//! A counting wrapper for a socket (or one of its halves): it forwards every `AsyncRead` and
//! `AsyncWrite` call unchanged and counts the polls, so that every implementation a benchmark
//! compares is counted by the same code.
//!
//! On tokio's `TcpStream` and `UnixStream` (and their halves) a poll that returns `Ready` is
//! exactly one system call: `poll_read` one `recvfrom`, `poll_write` one `sendto`,
//! `poll_write_vectored` one `writev`. A poll that returns `Pending` made one system call that
//! failed with `EAGAIN` if tokio believed the socket ready, and none if it knew it was not: the
//! pending counts are an upper bound on the failed calls (`strace -c` shows them as errors).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The polls of one socket, shared by the wrappers of its halves and the harness.
#[derive(Debug, Default)]
pub struct Counts {
    /// `poll_read` calls that returned bytes.
    reads: AtomicU64,
    /// `poll_read` calls that returned `Ok` with nothing: the end of the stream.
    empty_reads: AtomicU64,
    read_pending: AtomicU64,
    /// `poll_write` and `poll_write_vectored` calls that wrote something.
    writes: AtomicU64,
    /// Of `writes`, the vectored ones.
    vectored: AtomicU64,
    write_pending: AtomicU64,
}

/// A copy of [`Counts`] at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    pub reads: u64,
    pub empty_reads: u64,
    pub read_pending: u64,
    pub writes: u64,
    pub vectored: u64,
    pub write_pending: u64,
}

impl Counts {
    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            reads: get(&self.reads),
            empty_reads: get(&self.empty_reads),
            read_pending: get(&self.read_pending),
            writes: get(&self.writes),
            vectored: get(&self.vectored),
            write_pending: get(&self.write_pending),
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// `io` with its polls counted into `counts`.
#[derive(Debug)]
pub struct Counted<T> {
    io: T,
    counts: Arc<Counts>,
}

impl<T> Counted<T> {
    pub fn new(io: T, counts: Arc<Counts>) -> Counted<T> {
        Counted { io, counts }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.io).poll_read(cx, buf);
        match &res {
            Poll::Ready(Ok(())) if buf.filled().len() > before => bump(&this.counts.reads),
            Poll::Ready(Ok(())) => bump(&this.counts.empty_reads),
            Poll::Ready(Err(_)) => {}
            Poll::Pending => bump(&this.counts.read_pending),
        }
        res
    }
}

impl<T: AsyncWrite + Unpin> Counted<T> {
    fn count_write(&self, res: &Poll<io::Result<usize>>, vectored: bool) {
        match res {
            Poll::Ready(Ok(n)) if *n > 0 => {
                bump(&self.counts.writes);
                if vectored {
                    bump(&self.counts.vectored);
                }
            }
            Poll::Ready(_) => {}
            Poll::Pending => bump(&self.counts.write_pending),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.io).poll_write(cx, buf);
        this.count_write(&res, false);
        res
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.count_write(&res, true);
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
