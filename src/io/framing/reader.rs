//! [`FrameReader`]: the read loop that hands out whole frames from a pipe.

use super::{FrameDecoder, FrameError};
use crate::pipe::reader::{PipeReader, ReadResult};
use crate::pipe::sequence::{Position, Sequence};
use crate::pipe::wait::block_on;
use core::task::Poll;

/// Reads whole frames from a pipe with a [`FrameDecoder`] ([`LengthDelimited`](crate::LengthDelimited),
/// [`LineDecoder`](crate::LineDecoder), or your own), and advances the pipe for you.
///
/// Each call hands one whole frame to a closure, as a [`Sequence`] borrowed from the pipe (no
/// copy), and returns what the closure returns. Why a closure: the frame borrows the read, the
/// read borrows the reader, and the reader must advance past the frame before the next one, so
/// the frame's borrow has to end inside the call. (A guard holding the frame and advancing on
/// drop would have to hold both the reader and a borrow of it.) The closure parses or copies
/// what it needs; what it returns must not borrow the frame.
///
/// The advancing follows the Pipelines contract:
/// * a whole frame: consumed and examined = the end of that frame (so the bytes after it, the
///   next frame perhaps, are read again at once);
/// * no whole frame: consumed = where the frame starts, examined = the end of the buffer, so
///   the next read waits for **more** data instead of spinning on the same partial frame;
/// * the writer completed: the frames left are handed out, then `Ok(None)` if the stream ends
///   between frames, or [`FrameError::UnexpectedEof`] if it ends inside one (as the decoder's
///   [`decode_eof`](FrameDecoder::decode_eof) says).
///
/// A decoder error ([`FrameError::FrameTooLarge`], ...) is final: nothing is advanced, and the
/// next call finds the same bytes and returns the same error. [`FrameError::Canceled`] is not.
///
/// [`new`](Self::new) lowers the decoder's maximum frame to what the pipe can hold whole
/// ([`FrameDecoder::fit_capacity`]): a larger frame could never be read.
///
/// ```
/// use ringpipe::{FrameReader, FrameWriter, LengthDelimited, PipeOptions};
///
/// let opts = PipeOptions::builder().chunk_size(16).capacity(256).build().unwrap();
/// let (writer, reader) = ringpipe::pipe(opts);
/// let producer = std::thread::spawn(move || {
///     let mut frames = FrameWriter::new(writer, LengthDelimited::new());
///     for i in 0..100u32 {
///         frames.write_frame_blocking(format!("frame {i}").as_bytes()).unwrap();
///     }
/// }); // dropping the writer completes it: the reader sees a clean end
///
/// let mut frames = FrameReader::new(reader, LengthDelimited::new());
/// let mut n = 0;
/// while let Some(len) = frames.read_frame_blocking(|frame| frame.len()).unwrap() {
///     assert!(len >= 7);
///     n += 1;
/// }
/// assert_eq!(n, 100);
/// producer.join().unwrap();
/// ```
#[derive(Debug)]
pub struct FrameReader<D> {
    reader: PipeReader,
    decoder: D,
}

/// What one read came to, with the read's borrow over.
enum Outcome<R> {
    /// A frame, passed to the closure, and the position after it.
    Frame(R, Position),
    /// No whole frame: consume and examine these, then wait for more.
    Incomplete {
        consumed: Position,
        examined: Position,
        canceled: bool,
    },
    /// The writer completed between frames.
    End,
}

/// Decodes the first frame of a read and passes it to `f`.
fn decode_read<D, R, F>(
    decoder: &mut D,
    res: &ReadResult<'_>,
    f: &mut Option<F>,
) -> Result<Outcome<R>, FrameError>
where
    D: FrameDecoder,
    F: FnOnce(Sequence<'_>) -> R,
{
    let buf = res.buffer();
    let found = if res.is_completed() {
        decoder.decode_eof(buf)?
    } else {
        decoder.decode(buf)?
    };
    Ok(match found {
        Some((frame, end)) => {
            let f = f.take().expect("ringpipe: a frame closure is called once");
            Outcome::Frame(f(frame), end)
        }
        None if res.is_completed() => Outcome::End,
        None => Outcome::Incomplete {
            consumed: buf.start(),
            examined: buf.end(),
            canceled: res.is_canceled(),
        },
    })
}

impl<D: FrameDecoder> FrameReader<D> {
    /// Reads `decoder`'s frames from `reader`, with the decoder's maximum lowered to what the
    /// pipe can hold whole.
    pub fn new(reader: PipeReader, mut decoder: D) -> FrameReader<D> {
        decoder.fit_capacity(reader.capacity());
        FrameReader { reader, decoder }
    }

    /// The decoder.
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    /// The pipe's reader.
    pub fn get_ref(&self) -> &PipeReader {
        &self.reader
    }

    /// The pipe's reader, to read around the frames (what you consume there is gone for the
    /// decoder, which starts at the next unconsumed byte).
    pub fn get_mut(&mut self) -> &mut PipeReader {
        &mut self.reader
    }

    /// The pipe's reader and the decoder back.
    pub fn into_parts(self) -> (PipeReader, D) {
        (self.reader, self.decoder)
    }

    /// Acts on what a read came to: advances, and says whether a call is over.
    fn finish<R>(&mut self, outcome: Outcome<R>) -> Option<Result<Option<R>, FrameError>> {
        match outcome {
            Outcome::Frame(r, end) => Some(match self.reader.advance_to(end, end) {
                Ok(()) => Ok(Some(r)),
                Err(e) => Err(e.into()),
            }),
            Outcome::End => Some(Ok(None)),
            Outcome::Incomplete {
                consumed,
                examined,
                canceled,
            } => {
                if let Err(e) = self.reader.advance_to(consumed, examined) {
                    return Some(Err(e.into()));
                }
                canceled.then_some(Err(FrameError::Canceled))
            }
        }
    }

    /// Waits for the next whole frame and returns `f(frame)`; `Ok(None)` when the writer
    /// completed between frames. Cancel-safe: dropping the future part-way loses no frame
    /// (only whole frames are consumed, after `f` ran).
    ///
    /// # Errors
    /// The decoder's errors ([`FrameError::FrameTooLarge`], [`FrameError::LineTooLong`], ...),
    /// [`FrameError::UnexpectedEof`] if the writer completed inside a frame,
    /// [`FrameError::Canceled`] if
    /// [`cancel_pending_read`](crate::PipeCanceller::cancel_pending_read) ended the wait, and
    /// [`FrameError::Read`] with the pipe's error (a writer completed with an error,
    /// [`WouldDeadlock`](crate::ReadError::WouldDeadlock) when the writer's chunks hold less
    /// than a frame, ...).
    pub async fn read_frame<R, F>(&mut self, f: F) -> Result<Option<R>, FrameError>
    where
        F: FnOnce(Sequence<'_>) -> R,
    {
        let mut f = Some(f);
        loop {
            let outcome = {
                let res = self.reader.read().await?;
                decode_read(&mut self.decoder, &res, &mut f)?
            };
            if let Some(done) = self.finish(outcome) {
                return done;
            }
        }
    }

    /// As [`read_frame`](Self::read_frame), parking the thread while it waits.
    ///
    /// # Errors
    /// As [`read_frame`](Self::read_frame).
    pub fn read_frame_blocking<R, F>(&mut self, f: F) -> Result<Option<R>, FrameError>
    where
        F: FnOnce(Sequence<'_>) -> R,
    {
        block_on(self.read_frame(f))
    }

    /// As [`read_frame`](Self::read_frame), without waiting: `Poll::Pending` when there is no
    /// whole frame now (nothing is registered to wake you: this is the non-blocking form, for
    /// loops that poll; an incomplete frame is marked examined, so the next call looks again
    /// only once more data came).
    ///
    /// # Errors
    /// As [`read_frame`](Self::read_frame).
    pub fn try_read_frame<R, F>(&mut self, f: F) -> Poll<Result<Option<R>, FrameError>>
    where
        F: FnOnce(Sequence<'_>) -> R,
    {
        let mut f = Some(f);
        let outcome = {
            let res = match self.reader.try_read() {
                Ok(Some(res)) => res,
                Ok(None) => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e.into())),
            };
            match decode_read(&mut self.decoder, &res, &mut f) {
                Ok(outcome) => outcome,
                Err(e) => return Poll::Ready(Err(e)),
            }
        };
        match self.finish(outcome) {
            Some(done) => Poll::Ready(done),
            None => Poll::Pending,
        }
    }
}
