//! The futures of a pipe's waiting operations, each with a name of its own (none of them is
//! `std::io::Read`). Each one has a `poll_*` form on the half it borrows, which is what it
//! calls; dropping one gives up its wait and leaves the pipe as it was (cancel-safe).

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
pub struct ReadFuture<'a> {
    reader: Option<&'a mut PipeReader>,
    need: Need,
}

impl<'a> ReadFuture<'a> {
    pub(crate) fn new(reader: &'a mut PipeReader, need: Need) -> ReadFuture<'a> {
        ReadFuture {
            reader: Some(reader),
            need,
        }
    }
}

impl fmt::Debug for ReadFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFuture")
            .field("need", &self.need)
            .finish()
    }
}

impl<'a> Future for ReadFuture<'a> {
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

impl Drop for ReadFuture<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.reader.as_mut() {
            r.stop_waiting();
        }
    }
}

/// Future of [`PipeWriter::flush`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct FlushFuture<'a> {
    writer: &'a mut PipeWriter,
}

impl<'a> FlushFuture<'a> {
    pub(crate) fn new(writer: &'a mut PipeWriter) -> FlushFuture<'a> {
        FlushFuture { writer }
    }
}

impl Future for FlushFuture<'_> {
    type Output = Result<FlushResult, WriteError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.writer.poll_flush(cx)
    }
}

impl Drop for FlushFuture<'_> {
    fn drop(&mut self) {
        self.writer.stop_waiting();
    }
}

/// Future of [`PipeWriter::get_memory`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct GetMemoryFuture<'a> {
    writer: Option<&'a mut PipeWriter>,
    hint: usize,
}

impl<'a> GetMemoryFuture<'a> {
    pub(crate) fn new(writer: &'a mut PipeWriter, hint: usize) -> GetMemoryFuture<'a> {
        GetMemoryFuture {
            writer: Some(writer),
            hint,
        }
    }
}

impl<'a> Future for GetMemoryFuture<'a> {
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

impl Drop for GetMemoryFuture<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            w.stop_waiting();
        }
    }
}

/// Future of [`PipeWriter::write_all`].
#[must_use = "futures do nothing unless polled"]
pub struct WriteAllFuture<'a> {
    writer: &'a mut PipeWriter,
    data: &'a [u8],
    written: usize,
}

impl<'a> WriteAllFuture<'a> {
    pub(crate) fn new(writer: &'a mut PipeWriter, data: &'a [u8]) -> WriteAllFuture<'a> {
        WriteAllFuture {
            writer,
            data,
            written: 0,
        }
    }
}

impl fmt::Debug for WriteAllFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteAllFuture")
            .field("len", &self.data.len())
            .field("written", &self.written)
            .finish()
    }
}

impl Future for WriteAllFuture<'_> {
    type Output = Result<FlushResult, WriteError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.writer.poll_write_all(cx, this.data, &mut this.written)
    }
}

impl Drop for WriteAllFuture<'_> {
    fn drop(&mut self) {
        self.writer.stop_waiting();
    }
}

/// Future of [`PipeWriter::reader_completion`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ReaderCompletionFuture<'a> {
    writer: &'a mut PipeWriter,
}

impl<'a> ReaderCompletionFuture<'a> {
    pub(crate) fn new(writer: &'a mut PipeWriter) -> ReaderCompletionFuture<'a> {
        ReaderCompletionFuture { writer }
    }
}

impl Future for ReaderCompletionFuture<'_> {
    type Output = Result<(), CompletionError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.writer.poll_reader_completion(cx)
    }
}

/// Future of [`PipeReader::writer_completion`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriterCompletionFuture<'a> {
    reader: &'a mut PipeReader,
}

impl<'a> WriterCompletionFuture<'a> {
    pub(crate) fn new(reader: &'a mut PipeReader) -> WriterCompletionFuture<'a> {
        WriterCompletionFuture { reader }
    }
}

impl Future for WriterCompletionFuture<'_> {
    type Output = Result<(), CompletionError>;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.reader.poll_writer_completion(cx)
    }
}
