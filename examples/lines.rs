//! Text lines through a ringpipe, with the async API.
//!
//! ```text
//! cargo run --release --example lines
//! ```
//!
//! A producer thread writes numbered lines in odd-sized pieces; the consumer thread finds each
//! `'\n'` with `Sequence::find` (lines often straddle the pipe's small chunks), prints the
//! first few lines and counts them all. Both sides use the async API (`write_all(..).await`,
//! `read().await`), driven by the tiny `block_on` below: ringpipe's futures work on any
//! executor, and need no runtime of their own.

use ringpipe::{PipeOptions, PipeReader, PipeWriter, ReadError, WriteError};
use std::borrow::Cow;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

const LINES: usize = 100_000;
const SHOW: usize = 5;
const PIECE_SIZES: [usize; 5] = [1, 17, 250, 3, 1009];

/// Line `i` of the text (without its `'\n'`): its number and 0 to 9 words.
fn line(i: usize) -> String {
    let words: Vec<&str> = "the quick brown fox jumps over the lazy dog"
        .split(' ')
        .take(i % 10)
        .collect();
    format!("line {i}: {}", words.join(" "))
}

/// A minimal executor: polls `future` on this thread, parking the thread until the pipe's
/// other side wakes it.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake that came before this park leaves a token, so it is not lost.
        thread::park();
    }
}

async fn produce(mut writer: PipeWriter) -> Result<(), WriteError> {
    let mut text = String::new();
    for i in 0..LINES {
        text.push_str(&line(i));
        text.push('\n');
    }
    let mut rest = text.as_bytes();
    for size in PIECE_SIZES.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at((*size).min(rest.len()));
        writer.write_all(piece).await?; // copies, then flushes (waiting on backpressure)
        rest = tail;
    }
    writer.complete();
    Ok(())
}

async fn consume(mut reader: PipeReader) -> Result<usize, String> {
    let mut count = 0;
    let mut straddling = 0;
    loop {
        let result = reader.read().await.map_err(|e: ReadError| e.to_string())?;
        let mut buffer = result.buffer();
        // Every complete line in the buffer; the `'\n'` search runs across chunks.
        while let Some(newline) = buffer.find(b'\n') {
            let text = buffer.slice_to(newline);
            // Zero-copy when the line sits in one chunk, else gather its pieces.
            let bytes: Cow<[u8]> = if text.is_single_chunk() {
                Cow::Borrowed(text.first_chunk())
            } else {
                straddling += 1;
                Cow::Owned(text.to_vec())
            };
            if *bytes != *line(count).as_bytes() {
                return Err(format!(
                    "line {count} is {:?}",
                    String::from_utf8_lossy(&bytes)
                ));
            }
            if count < SHOW {
                println!("  {}", String::from_utf8_lossy(&bytes));
            }
            count += 1;
            buffer = buffer.slice(text.len() + 1..);
        }
        // Consume the complete lines; examine the rest, so the next read waits for more.
        let (consumed, examined) = (buffer.start(), buffer.end());
        let (leftover, done) = (buffer.len(), result.is_completed());
        reader
            .advance_to(consumed, examined)
            .map_err(|e| e.to_string())?;
        if done {
            if leftover > 0 {
                return Err(format!("{leftover} bytes after the last newline"));
            }
            println!("  ... ({straddling} lines straddled chunks)");
            return Ok(count);
        }
    }
}

fn main() -> ExitCode {
    // Small chunks, so that many lines straddle two of them.
    let options = PipeOptions::builder()
        .capacity(4096)
        .chunk_size(256)
        .build()
        .expect("valid options");
    let (writer, reader) = ringpipe::pipe(options);

    let producer = thread::spawn(move || block_on(produce(writer)));
    let consumer = thread::spawn(move || block_on(consume(reader)));
    let produced = producer.join().expect("producer panicked");
    let consumed = consumer.join().expect("consumer panicked");

    match (produced, consumed) {
        (Ok(()), Ok(count)) if count == LINES => {
            println!("{count} lines received and checked");
            ExitCode::SUCCESS
        }
        (Ok(()), Ok(count)) => {
            eprintln!("{count} lines received, expected {LINES}");
            ExitCode::FAILURE
        }
        (produced, consumed) => {
            if let Err(e) = produced {
                eprintln!("producer failed: {e}");
            }
            if let Err(e) = consumed {
                eprintln!("consumer failed: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
