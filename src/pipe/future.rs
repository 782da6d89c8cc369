//! The futures of a pipe's waiting operations, each with a name of its own (none of them is
//! `std::io::Read`). Each one has a `poll_*` form on the half it borrows, which is what it
//! calls; dropping one gives up its wait and leaves the pipe as it was (cancel-safe).

use super::home::{Home, InProcess};
use super::reader::{PipeReader, ReadResult};
use super::writer::PipeWriter;
use crate::error::{CompletionError, ReadError, WriteError};
use crate::protocol::{FlushResult, Need};
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Future of [`PipeReader::read`] and [`PipeReader::read_at_least`].
#[must_use = "futures do nothing unless polled"]
pub struct ReadFuture<'a, H: Home = InProcess> {
    reader: Option<&'a mut PipeReader<H>>,
    need: Need,
}

impl<'a, H: Home> ReadFuture<'a, H> {
    pub(crate) fn new(reader: &'a mut PipeReader<H>, need: Need) -> ReadFuture<'a, H> {
        ReadFuture {
            reader: Some(reader),
            need,
        }
    }
}

impl<H: Home> fmt::Debug for ReadFuture<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFuture")
            .field("need", &self.need)
            .finish()
    }
}

impl<'a, H: Home> Future for ReadFuture<'a, H> {
    type Output = Result<ReadResult<'a>, ReadError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let need = self.need;
        let reader = self.reader.as_mut().expect("Read polled after completion");
        match reader.poll_need(cx, need) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(snap)) => {
                let reader = self.reader.take().expect("present");
                Poll::Ready(Ok(reader.result(snap)))
            }
        }
    }
}

impl<H: Home> Drop for ReadFuture<'_, H> {
    fn drop(&mut self) {
        if let Some(r) = self.reader.as_mut() {
            r.stop_waiting();
        }
    }
}

/// Future of [`PipeWriter::flush`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct FlushFuture<'a, H: Home = InProcess> {
    writer: &'a mut PipeWriter<H>,
}

impl<'a, H: Home> FlushFuture<'a, H> {
    pub(crate) fn new(writer: &'a mut PipeWriter<H>) -> FlushFuture<'a, H> {
        FlushFuture { writer }
    }
}

impl<H: Home> Future for FlushFuture<'_, H> {
    type Output = Result<FlushResult, WriteError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.writer.poll_flush(cx)
    }
}

impl<H: Home> Drop for FlushFuture<'_, H> {
    fn drop(&mut self) {
        self.writer.stop_waiting();
    }
}

/// Future of [`PipeWriter::get_memory`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct GetMemoryFuture<'a, H: Home = InProcess> {
    writer: Option<&'a mut PipeWriter<H>>,
    hint: usize,
}

impl<'a, H: Home> GetMemoryFuture<'a, H> {
    pub(crate) fn new(writer: &'a mut PipeWriter<H>, hint: usize) -> GetMemoryFuture<'a, H> {
        GetMemoryFuture {
            writer: Some(writer),
            hint,
        }
    }
}

impl<'a, H: Home> Future for GetMemoryFuture<'a, H> {
    type Output = Result<&'a mut [u8], WriteError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let hint = self.hint;
        let writer = self
            .writer
            .as_mut()
            .expect("GetMemory polled after completion");
        match writer.poll_get_memory(cx, hint) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(_)) => {
                let writer = self.writer.take().expect("present");
                Poll::Ready(Ok(writer.granted_memory()))
            }
        }
    }
}

impl<H: Home> Drop for GetMemoryFuture<'_, H> {
    fn drop(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            w.stop_waiting();
        }
    }
}

/// Future of [`PipeWriter::write_all`].
#[must_use = "futures do nothing unless polled"]
pub struct WriteAllFuture<'a, H: Home = InProcess> {
    writer: &'a mut PipeWriter<H>,
    data: &'a [u8],
    written: usize,
}

impl<'a, H: Home> WriteAllFuture<'a, H> {
    pub(crate) fn new(writer: &'a mut PipeWriter<H>, data: &'a [u8]) -> WriteAllFuture<'a, H> {
        WriteAllFuture {
            writer,
            data,
            written: 0,
        }
    }
}

impl<H: Home> fmt::Debug for WriteAllFuture<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteAllFuture")
            .field("len", &self.data.len())
            .field("written", &self.written)
            .finish()
    }
}

impl<H: Home> Future for WriteAllFuture<'_, H> {
    type Output = Result<FlushResult, WriteError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.writer.poll_write_all(cx, this.data, &mut this.written)
    }
}

impl<H: Home> Drop for WriteAllFuture<'_, H> {
    fn drop(&mut self) {
        self.writer.stop_waiting();
    }
}

/// Future of [`PipeWriter::reader_completion`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReaderCompletionFuture<'a, H: Home = InProcess> {
    writer: &'a mut PipeWriter<H>,
}

impl<'a, H: Home> ReaderCompletionFuture<'a, H> {
    pub(crate) fn new(writer: &'a mut PipeWriter<H>) -> ReaderCompletionFuture<'a, H> {
        ReaderCompletionFuture { writer }
    }
}

impl<H: Home> Future for ReaderCompletionFuture<'_, H> {
    type Output = Result<(), CompletionError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.writer.poll_reader_completion(cx)
    }
}

/// Future of [`PipeReader::writer_completion`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriterCompletionFuture<'a, H: Home = InProcess> {
    reader: &'a mut PipeReader<H>,
}

impl<'a, H: Home> WriterCompletionFuture<'a, H> {
    pub(crate) fn new(reader: &'a mut PipeReader<H>) -> WriterCompletionFuture<'a, H> {
        WriterCompletionFuture { reader }
    }
}

impl<H: Home> Future for WriterCompletionFuture<'_, H> {
    type Output = Result<(), CompletionError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.reader.poll_writer_completion(cx)
    }
}
