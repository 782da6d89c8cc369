//! Delimited lines with a maximum length: [`LineDecoder`].

use super::{Frame, FrameDecoder, FrameError};
use crate::io::sequence_reader::SequenceReader;
use crate::pipe::sequence::{Position, Sequence};

/// The default maximum line length of [`LineDecoder::default`]: 8 KiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 8 << 10;

/// Cuts lines ending in `\n` (or another delimiter byte) off a buffer, each without its
/// delimiter and, by default, without a `\r` before it (so `\r\n` lines come out clean).
///
/// A line longer than the maximum is [`FrameError::LineTooLong`] as soon as the first
/// `max + 1` bytes (`max + 2` when stripping `\r`: room for `\r\n`) hold no delimiter: the
/// decoder never waits for, or looks at, more than that. It remembers how far it searched a
/// line that has not ended yet (for as long as the buffer starts at the same position), so a
/// long line arriving a byte at a time is searched once, not once per byte.
///
/// At the end of the stream ([`decode_eof`](FrameDecoder::decode_eof)) the bytes after the last
/// delimiter are a last line, as in `BufRead::lines` and tokio-util's `LinesCodec`, unless
/// [`require_final_delimiter`](Self::require_final_delimiter) makes them
/// [`FrameError::UnexpectedEof`].
///
/// ```
/// use ringpipe::{FrameReader, LineDecoder};
///
/// let (mut writer, reader) = ringpipe::pipe(Default::default());
/// writer.write_all_blocking(b"HELO\r\nDATA\nQUIT").unwrap();
/// drop(writer);
/// let mut lines = FrameReader::new(reader, LineDecoder::new(80));
/// let mut got = Vec::new();
/// while let Some(line) = lines.read_frame_blocking(|line| line.to_vec()).unwrap() {
///     got.push(line);
/// }
/// assert_eq!(got, [&b"HELO"[..], b"DATA", b"QUIT"]);
/// ```
#[derive(Clone, Debug)]
pub struct LineDecoder {
    max_length: usize,
    delimiter: u8,
    strip_cr: bool,
    final_delimiter_required: bool,
    /// Where the buffer searched last started, and how many of its bytes hold no delimiter.
    searched: Option<(Position, usize)>,
}

impl Default for LineDecoder {
    fn default() -> LineDecoder {
        LineDecoder::new(DEFAULT_MAX_LINE_LENGTH)
    }
}

impl LineDecoder {
    /// Lines of at most `max_length` bytes (without the delimiter and the stripped `\r`),
    /// ending in `\n`, with a `\r` before the `\n` stripped.
    pub fn new(max_length: usize) -> LineDecoder {
        LineDecoder {
            max_length,
            delimiter: b'\n',
            strip_cr: true,
            final_delimiter_required: false,
            searched: None,
        }
    }

    /// Lines end in `delimiter` instead of `\n` (a `\r` before it is still stripped unless
    /// [`strip_cr`](Self::strip_cr) says otherwise).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Whether a `\r` just before the delimiter is taken off the line (default `true`).
    pub fn strip_cr(mut self, strip: bool) -> Self {
        self.strip_cr = strip;
        self
    }

    /// Whether bytes after the last delimiter at the end of the stream are an error
    /// ([`FrameError::UnexpectedEof`]) rather than a last line (default `false`).
    pub fn require_final_delimiter(mut self, required: bool) -> Self {
        self.final_delimiter_required = required;
        self
    }

    /// The maximum line length.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// How many bytes may hold a line of the maximum length and its ending.
    fn window(&self) -> usize {
        self.max_length
            .saturating_add(1)
            .saturating_add(usize::from(self.strip_cr))
    }

    /// The line in the first `end` bytes of `buf`, `\r` stripped, checked against the maximum.
    fn line<'a>(&self, buf: &Sequence<'a>, end: usize) -> Result<Sequence<'a>, FrameError> {
        let mut len = end;
        if self.strip_cr && len > 0 && SequenceReader::new(*buf).peek_at(len - 1) == Some(b'\r') {
            len -= 1;
        }
        if len > self.max_length {
            return Err(FrameError::LineTooLong {
                max: self.max_length,
            });
        }
        Ok(buf.slice(..len))
    }
}

impl FrameDecoder for LineDecoder {
    fn decode<'a>(&mut self, buf: Sequence<'a>) -> Result<Option<Frame<'a>>, FrameError> {
        let window = self.window();
        let limit = window.min(buf.len());
        let from = match self.searched {
            Some((start, n)) if start == buf.start() => n.min(limit),
            _ => 0,
        };
        let mut r = SequenceReader::new(buf);
        r.advance(from);
        let delim = self.delimiter;
        match r.find_within(limit - from, |b| b == delim) {
            Some(i) => {
                self.searched = None;
                let at = from + i;
                let line = self.line(&buf, at)?;
                Ok(Some((line, buf.position(at + 1))))
            }
            None if buf.len() >= window => {
                self.searched = None;
                Err(FrameError::LineTooLong {
                    max: self.max_length,
                })
            }
            None => {
                self.searched = Some((buf.start(), limit));
                Ok(None)
            }
        }
    }

    fn decode_eof<'a>(&mut self, buf: Sequence<'a>) -> Result<Option<Frame<'a>>, FrameError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        self.searched = None;
        if buf.is_empty() {
            Ok(None)
        } else if self.final_delimiter_required {
            Err(FrameError::UnexpectedEof { pending: buf.len() })
        } else {
            Ok(Some((self.line(&buf, buf.len())?, buf.end())))
        }
    }

    fn fit_capacity(&mut self, capacity: usize) {
        let ending = 1 + usize::from(self.strip_cr);
        self.max_length = self.max_length.min(capacity.saturating_sub(ending));
    }
}
