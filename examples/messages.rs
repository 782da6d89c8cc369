//! Length-prefixed messages through a ringpipe: the main demo.
//!
//! ```text
//! cargo run --release --example messages
//! cargo run --release --example messages -- --messages 100000 --capacity 65536 --chunk 4096
//! cargo run --release --example messages -- --read-at-least
//! ```
//!
//! Two threads share one pipe:
//!
//! * the **producer** serializes batches of messages (a `u32` little-endian length, then the
//!   payload) into a local `Vec`, and feeds each batch to the pipe in odd-sized pieces (1, 7,
//!   333, 4093… bytes), so messages are cut at arbitrary places. Half of the pieces go through
//!   `write_all_blocking` (copy, then flush); the other half through the .NET `GetMemory` / `Advance`
//!   style: `try_get_memory` / `get_memory_blocking` + `advance` + `commit`, with a `flush_blocking`
//!   every few pieces;
//! * the **consumer** reads everything that is buffered, parses as many complete messages as it
//!   holds (a message may straddle chunks: the parser uses `Sequence::slice`, `copy_to_slice`
//!   and `chunks`), and calls `advance_to(consumed, examined)` with `consumed` = the end of the
//!   last complete message and `examined` = the end of the buffer. The incomplete message at
//!   the end stays in the pipe, and because everything was examined the next read waits for
//!   **more** data instead of returning the same bytes again.
//!
//! Both threads draw the payload lengths (0..=2000 bytes) from the same xorshift generator,
//! and payload bytes are a function of the message index, so the consumer verifies every
//! byte. With `--read-at-least` the consumer instead asks for exactly the bytes it needs to
//! finish the next message (`read_at_least_blocking`: 4 for a header, 4 + length for a body),
//! so it is not woken for every piece of a large message.
//!
//! If a check fails, the consumer completes the reader with the error, the producer's next
//! flush returns it (`WriteError::ReaderFailed`), and the program exits with a non-zero status.

use ringpipe::{ChunkPool, PipeOptions, PipeReader, PipeWriter, Sequence, WriteError};
use std::process::ExitCode;
use std::thread;
use std::time::Instant;

/// The length prefix: a `u32`, little-endian.
const HEADER: usize = 4;
/// Payload lengths are drawn from `0..=MAX_PAYLOAD`.
const MAX_PAYLOAD: usize = 2000;
/// The largest message on the wire. The pipe must be able to hold one whole.
const MAX_MESSAGE: usize = HEADER + MAX_PAYLOAD;
/// The producer serializes about this many bytes of messages at a time.
const BATCH_BYTES: usize = 64 * 1024;
/// The producer cuts each batch into pieces of these sizes, in turn. An odd number of sizes,
/// so that every size meets both ways of writing (which alternate piece by piece).
const PIECE_SIZES: [usize; 7] = [1, 7, 333, 4093, 64, 1500, 9001];
/// In get_memory mode the producer only commits; it flushes (and so honours backpressure)
/// after this many such pieces.
const FLUSH_EVERY: u64 = 8;

// ---------------------------------------------------------------------------------------------
// The messages both threads agree on.
// ---------------------------------------------------------------------------------------------

/// Generates the payload length of each message: an xorshift64 generator with a fixed seed,
/// so the producer and the consumer each run a copy and get the same sequence.
struct Lengths(u64);

impl Lengths {
    fn new() -> Lengths {
        Lengths(0x2545_F491_4F6C_DD1D)
    }

    fn next(&mut self) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % (MAX_PAYLOAD as u64 + 1)) as usize
    }
}

/// Byte `j` of message `index`'s payload is `first_byte(index) + j` (wrapping).
fn first_byte(index: u64) -> u8 {
    (index.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
}

fn fill_payload(index: u64, payload: &mut [u8]) {
    let first = first_byte(index);
    for (j, byte) in payload.iter_mut().enumerate() {
        *byte = first.wrapping_add(j as u8);
    }
}

/// Whether `payload` (possibly spread over several chunks) is message `index`'s payload.
fn payload_is_valid(index: u64, payload: Sequence<'_>) -> bool {
    let mut expected = first_byte(index);
    let mut ok = true;
    for chunk in payload.chunks() {
        // No early exit: a plain loop over the chunk is one the compiler vectorizes.
        for &byte in chunk {
            ok &= byte == expected;
            expected = expected.wrapping_add(1);
        }
    }
    ok
}

// ---------------------------------------------------------------------------------------------
// The producer.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct ProducerStats {
    messages: u64,
    bytes: u64,
    pieces: u64,
    write_all_pieces: u64,
    get_memory_pieces: u64,
    flushes: u64,
    /// Times `try_get_memory` found the ring full and the producer waited for room.
    waits_for_room: u64,
}

/// Sends `count` messages, then completes the writer.
fn produce(mut writer: PipeWriter, count: u64) -> Result<ProducerStats, WriteError> {
    let mut stats = ProducerStats::default();
    let mut lengths = Lengths::new();
    let mut piece_sizes = PIECE_SIZES.iter().copied().cycle();
    let mut batch = Vec::with_capacity(BATCH_BYTES + MAX_MESSAGE);

    while stats.messages < count {
        // 1. Serialize a batch of messages into a local buffer.
        batch.clear();
        while stats.messages < count && batch.len() < BATCH_BYTES {
            let len = lengths.next();
            batch.extend_from_slice(&(len as u32).to_le_bytes());
            let start = batch.len();
            batch.resize(start + len, 0);
            fill_payload(stats.messages, &mut batch[start..]);
            stats.messages += 1;
        }
        stats.bytes += batch.len() as u64;

        // 2. Feed it to the pipe in odd-sized pieces: message boundaries mean nothing here.
        let mut rest = &batch[..];
        while !rest.is_empty() {
            let (piece, tail) = rest.split_at(piece_sizes.next().unwrap().min(rest.len()));
            rest = tail;
            stats.pieces += 1;
            if stats.pieces % 2 == 0 {
                // Copy and flush in one call (.NET `WriteAsync`). The flush waits while the
                // reader lags behind by the pause threshold (backpressure).
                let flushed = writer.write_all_blocking(piece)?;
                stats.write_all_pieces += 1;
                stats.flushes += 1;
                if flushed.is_completed() {
                    return Ok(stats); // the reader has gone away: stop producing
                }
            } else {
                stats.waits_for_room += write_via_memory(&mut writer, piece)?;
                stats.get_memory_pieces += 1;
                if stats.get_memory_pieces % FLUSH_EVERY == 0 {
                    stats.flushes += 1;
                    if writer.flush_blocking()?.is_completed() {
                        return Ok(stats);
                    }
                }
            }
        }
    }
    // Commits whatever is left and tells the reader that no more data will come.
    // (Dropping the writer would do the same.)
    writer.complete();
    Ok(stats)
}

/// Copies `piece` into memory the pipe lends (.NET `GetMemory` / `Advance`), then commits it
/// (publishes it without waiting for backpressure). Returns how many times it had to wait for
/// room.
fn write_via_memory(writer: &mut PipeWriter, mut piece: &[u8]) -> Result<u64, WriteError> {
    let mut waits = 0;
    while !piece.is_empty() {
        // The size hint is a *minimum*: the writer waits until that many contiguous bytes are
        // free. The consumer may hold back one incomplete message, so a large hint could wait
        // for room that never comes; we ask for 1 byte and take whatever we are given.
        let memory = match writer.try_get_memory(1) {
            Ok(memory) => memory,
            Err(WriteError::Full { .. }) => {
                // The ring is full. Publish what we have advanced first: the reader can only
                // make room by consuming data it can see. (Waiting with uncommitted bytes that
                // the reader needs fails with `WouldDeadlock` instead of hanging.)
                waits += 1;
                writer.commit();
                writer.get_memory_blocking(1)?
            }
            Err(e) => return Err(e),
        };
        let n = memory.len().min(piece.len());
        memory[..n].copy_from_slice(&piece[..n]);
        writer.advance(n);
        piece = &piece[n..];
    }
    writer.commit();
    Ok(waits)
}

// ---------------------------------------------------------------------------------------------
// The consumer.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct ConsumerStats {
    messages: u64,
    bytes: u64,
    reads: u64,
    /// Reads that ended in the middle of a message: `consumed < examined == end`, so the next
    /// read waited for more data.
    partial_reads: u64,
    /// Reads that found nothing new (`try_read` returned `None`) and parked the thread.
    parked: u64,
    /// Messages whose payload was spread over more than one chunk.
    straddling: u64,
}

/// Reads and verifies `count` messages until the writer completes.
fn consume(reader: &mut PipeReader, count: u64, at_least: bool) -> Result<ConsumerStats, String> {
    let mut stats = ConsumerStats::default();
    let mut lengths = Lengths::new();
    // With --read-at-least: how many unconsumed bytes the next message needs.
    let mut needed = HEADER;

    loop {
        let result = if at_least {
            reader.read_at_least_blocking(needed)
        } else {
            match reader.try_read() {
                Ok(Some(result)) => Ok(result),
                // Nothing new yet: wait for it.
                Ok(None) => {
                    stats.parked += 1;
                    reader.read_blocking()
                }
                Err(e) => Err(e),
            }
        }
        .map_err(|e| format!("read failed: {e}"))?;
        stats.reads += 1;
        let buffer = result.buffer();

        // Parse as many complete messages as the buffer holds; `rest` is what is left after
        // the last complete message.
        let mut rest = buffer;
        needed = loop {
            if rest.len() < HEADER {
                break HEADER;
            }
            let mut header = [0u8; HEADER];
            rest.copy_to_slice(&mut header); // the header itself may straddle two chunks
            let len = u32::from_le_bytes(header) as usize;
            let index = stats.messages;
            if len > MAX_PAYLOAD {
                // Checked before waiting for the body: a corrupt length could ask for more
                // bytes than the pipe can hold.
                return Err(format!("message {index}: length {len} is out of range"));
            }
            if rest.len() < HEADER + len {
                break HEADER + len;
            }
            let expected_len = lengths.next();
            if len != expected_len {
                return Err(format!(
                    "message {index}: length {len}, expected {expected_len}"
                ));
            }
            let payload = rest.slice(HEADER..HEADER + len);
            if !payload_is_valid(index, payload) {
                return Err(format!("message {index}: payload is corrupt"));
            }
            if !payload.is_single_chunk() {
                stats.straddling += 1;
            }
            stats.messages += 1;
            rest = rest.slice(HEADER + len..);
        };
        stats.bytes += (buffer.len() - rest.len()) as u64;

        // Consumed: up to the last complete message. Examined: everything, so that the next
        // read waits for more data rather than returning this incomplete message again.
        let consumed = rest.start();
        let examined = rest.end(); // == buffer.end()
        let leftover = rest.len();
        let done = result.is_completed();
        if leftover > 0 {
            stats.partial_reads += 1;
        }
        reader
            .advance_to(consumed, examined)
            .map_err(|e| format!("advance_to failed: {e}"))?;

        if done {
            if leftover > 0 {
                return Err(format!(
                    "the writer completed in the middle of a message ({leftover} bytes left)"
                ));
            }
            break;
        }
    }
    if stats.messages != count {
        return Err(format!(
            "received {} messages, expected {count}",
            stats.messages
        ));
    }
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------
// Command line and report.
// ---------------------------------------------------------------------------------------------

struct Config {
    messages: u64,
    capacity: usize,
    chunk: usize,
    at_least: bool,
}

const USAGE: &str =
    "usage: messages [--messages N] [--capacity BYTES] [--chunk BYTES] [--read-at-least]
  --messages N       messages to send (default 5000000)
  --capacity BYTES   the pipe's capacity (default 1 MiB; at least 2004, one whole message)
  --chunk BYTES      the pool's chunk size (default 16 KiB)
  --read-at-least    wait with read_at_least_blocking for the bytes the next message needs";

fn parse_args() -> Result<Config, String> {
    let mut config = Config {
        messages: 5_000_000,
        capacity: ringpipe::DEFAULT_CAPACITY,
        chunk: ringpipe::DEFAULT_CHUNK_SIZE,
        at_least: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--read-at-least" {
            config.at_least = true;
            continue;
        }
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args
                .next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?;
            value
                .replace('_', "")
                .parse()
                .map_err(|_| format!("{name}: not a number: {value:?}\n{USAGE}"))
        };
        match arg.as_str() {
            "--messages" => config.messages = number("--messages")?,
            "--capacity" => config.capacity = number("--capacity")? as usize,
            "--chunk" => config.chunk = number("--chunk")? as usize,
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    if config.capacity < MAX_MESSAGE {
        return Err(format!(
            "--capacity {} is too small: the pipe must hold a whole message ({MAX_MESSAGE} bytes)",
            config.capacity
        ));
    }
    Ok(config)
}

fn main() -> ExitCode {
    if std::env::args().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match parse_args() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };

    // A pool of our own, so that its counters describe this pipe alone.
    let retain = config.capacity / config.chunk.max(1) + 2;
    let pool = match ChunkPool::new(config.chunk, retain) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("--chunk: {e}");
            return ExitCode::from(2);
        }
    };
    let options = match PipeOptions::builder()
        .capacity(config.capacity)
        .pool(pool.clone())
        .build()
    {
        Ok(options) => options,
        Err(e) => {
            eprintln!("invalid options: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "pipe: capacity {} B, chunk {} B, pause at {} B, resume below {} B; consumer uses {}",
        options.capacity(),
        options.chunk_size(),
        options.pause_writer_threshold(),
        options.resume_writer_threshold(),
        if config.at_least {
            "read_at_least_blocking(bytes the next message needs)"
        } else {
            "try_read / read_blocking"
        }
    );

    let (writer, mut reader) = ringpipe::pipe(options);
    let count = config.messages;
    let start = Instant::now();
    let producer = thread::spawn(move || produce(writer, count));
    // The consumer runs on this thread. If it fails, it completes the reader with the error,
    // which the producer's next flush returns (`WriteError::ReaderFailed`), so it stops too.
    let consumed = consume(&mut reader, count, config.at_least);
    match &consumed {
        Ok(_) => reader.complete(),
        Err(e) => reader.complete_with_error(e.clone()),
    }
    let produced = producer.join().expect("the producer thread panicked");
    let elapsed = start.elapsed();

    let mut ok = true;
    let produced = match produced {
        Ok(stats) => Some(stats),
        Err(e) => {
            eprintln!("producer failed: {e}");
            ok = false;
            None
        }
    };
    let consumed = match consumed {
        Ok(stats) => Some(stats),
        Err(e) => {
            eprintln!("consumer failed: {e}");
            ok = false;
            None
        }
    };
    if let Some(p) = &produced {
        println!(
            "producer: {} messages, {} bytes in {} pieces ({} write_all, {} get_memory+commit), \
             {} flushes, waited for room {} times",
            p.messages,
            p.bytes,
            p.pieces,
            p.write_all_pieces,
            p.get_memory_pieces,
            p.flushes,
            p.waits_for_room
        );
    }
    if let Some(c) = &consumed {
        println!(
            "consumer: {} messages verified, {} bytes, {} straddling chunks",
            c.messages, c.bytes, c.straddling
        );
        println!(
            "  reads: {} ({:.0} bytes per read on average)",
            c.reads,
            c.bytes as f64 / c.reads.max(1) as f64
        );
        println!(
            "  reads ending mid-message (consumed < examined = end, next read waits for more): {}",
            c.partial_reads
        );
        if !config.at_least {
            println!("  reads that found nothing new and parked: {}", c.parked);
        }
        if let Some(p) = &produced {
            if p.bytes != c.bytes {
                eprintln!(
                    "byte count mismatch: sent {}, received {}",
                    p.bytes, c.bytes
                );
                ok = false;
            }
        }
    }

    // Both halves are gone now: every chunk must be back in the pool.
    let moved = consumed.as_ref().map_or(0, |c| c.bytes);
    println!(
        "pool: {} chunks allocated to move {} chunks' worth of data; {} in use at the end, {} retained",
        pool.allocated(),
        moved.div_ceil(config.chunk as u64),
        pool.in_use(),
        pool.retained()
    );
    if pool.in_use() != 0 {
        eprintln!("chunk leak: {} chunks still in use", pool.in_use());
        ok = false;
    }

    if let Some(c) = &consumed {
        let secs = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "elapsed {:.3} s: {:.1} MB/s, {:.2} M messages/s",
            elapsed.as_secs_f64(),
            c.bytes as f64 / 1e6 / secs,
            c.messages as f64 / 1e6 / secs
        );
    }
    if ok {
        println!("OK");
        ExitCode::SUCCESS
    } else {
        println!("FAILED");
        ExitCode::FAILURE
    }
}
