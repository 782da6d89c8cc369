//! # ringpipe
//!
//! A lock-free single-producer single-consumer **byte pipe** with the contract of .NET's
//! `System.IO.Pipelines`, spelled the Rust way.
//!
//! * The writer asks for memory ([`PipeWriter::try_get_memory`] and friends), fills it,
//!   [`advance`](PipeWriter::advance)s, then [`commit`](PipeWriter::commit)s (publish without
//!   waiting) or [`flush`](PipeWriter::flush)es (publish, then wait while backpressure holds:
//!   pause when the *unexamined* bytes reach the pause threshold, resume strictly below the
//!   resume threshold).
//! * The reader [`read`](PipeReader::read)s a view of **all** flushed, unconsumed bytes across
//!   chunks (a [`Sequence`]), then calls [`advance_to(consumed, examined)`](PipeReader::advance_to):
//!   consumed bytes are released, and when `examined` is the end of the data the next read
//!   waits for **more** data, so a parser that needs more bytes never spins.
//! * Either side can be canceled from another thread ([`PipeCanceller`]) and completed, with an
//!   optional error the other side receives. A pipe whose both sides completed can be
//!   [`reset`] and reused without allocating.
//!
//! Storage is a fixed-capacity ring of cache-padded cursors over chunks from a [`ChunkPool`]
//! that many pipes can share: the memory a pipe holds follows the data in it, an idle pipe
//! holds at most the writer's current chunk, and steady-state streaming allocates nothing. A
//! chunk the reader has finished with stays in its slot for the writer's next use of the slot,
//! until the reader waits for data, so a stream recycles its chunks without the shared pool
//! (and holds up to one chunk per slot while it streams).
//! Writer commit and reader advance are wait-free (no locks, no retry loops); each side caches
//! the other's cursors and re-reads them only when it must. Who pays for "a parked side is
//! never missed" ([`WakeFences`]): by default each pipe switches between no fence on the
//! publish path with a `membarrier(2)` per park (asymmetric, Linux) while its sides do not
//! park, and a fence per publish with cheap parks (symmetric) while they do; either can be
//! fixed instead.
//!
//! Every wait comes three ways over the same core: **async** (plain futures woken through an
//! atomic waker slot, [atomic-waker](https://docs.rs/atomic-waker)'s algorithm, any executor,
//! cancel-safe on drop; each named in [`future`] and with a `poll_*` form),
//! **blocking** (`*_blocking`, parks the thread), and **non-blocking** (`try_*`). Before an
//! async or blocking wait parks it spins as [`SpinWait`] says: by default adaptively, up to
//! 20 µs while that pays off (the other side runs on another core) and rarely while it does not.
//!
//! Around the pipe: duplex pipes and Rust's I/O traits ([I/O traits, duplex pipes, stream
//! adapters](#io-traits-duplex-pipes-stream-adapters)), parsing and framing
//! ([`SequenceReader`], [`FrameReader`]), socket transports that move a socket's bytes straight
//! into and out of pipe memory ([Socket transports](#socket-transports)), and on Linux .NET's
//! `PipeStream` family: named pipes, anonymous pipes to a child, message mode ([Named
//! pipes](#named-pipes-linux), [Message mode](#message-mode)).
//!
//! ```
//! use std::thread;
//!
//! let (mut writer, mut reader) = ringpipe::pipe(Default::default());
//! let producer = thread::spawn(move || {
//!     for i in 0..100u32 {
//!         writer.write_all_blocking(format!("line {i}\n").as_bytes()).unwrap();
//!     }
//!     // Dropping the writer completes it.
//! });
//! let mut lines = 0;
//! loop {
//!     let result = reader.read_blocking().unwrap();
//!     let mut buf = result.buffer();
//!     while let Some(nl) = buf.find(b'\n') {
//!         lines += 1;
//!         buf = buf.slice_from(buf.position(buf.offset_of(nl).unwrap() + 1));
//!     }
//!     let (consumed, examined, done) = (buf.start(), buf.end(), result.is_completed());
//!     reader.advance_to(consumed, examined).unwrap();
//!     if done {
//!         break;
//!     }
//! }
//! producer.join().unwrap();
//! assert_eq!(lines, 100);
//! ```
//!
//! The same loop, async (any executor):
//!
//! ```
//! # async fn demo(mut reader: ringpipe::PipeReader) -> Result<usize, ringpipe::ReadError> {
//! let mut total = 0;
//! loop {
//!     let result = reader.read().await?;
//!     let buf = result.buffer();
//!     total += buf.len();
//!     let (end, done) = (buf.end(), result.is_completed());
//!     reader.advance_to(end, end).unwrap();
//!     if done {
//!         return Ok(total);
//!     }
//! }
//! # }
//! ```
//!
//! # Completion, cancellation, errors
//!
//! * After the writer completes, reads return the remaining bytes with
//!   [`ReadResult::is_completed`]; a writer completed with an error makes every read return
//!   [`ReadError::WriterFailed`] with that very error (unread data is not delivered, as in .NET).
//! * After the reader completes, flushes return [`FlushResult::is_completed`] (or
//!   [`WriteError::ReaderFailed`]), written bytes are dropped, and no backpressure applies.
//! * The obsolete .NET completion callbacks become futures:
//!   [`PipeWriter::reader_completion`] and [`PipeReader::writer_completion`] (and their
//!   `poll_*` forms), which resolve when the other side completes.
//! * [`PipeCanceller::cancel_pending_read`] makes the pending read, or the next one, return
//!   [`ReadResult::is_canceled`] with whatever data there is; likewise for flushes, and a
//!   writer waiting for room is released too (`get_memory` returns [`WriteError::Canceled`],
//!   `write_all` returns canceled with [`FlushResult::written`]). One-shot.
//! * A read that can never be satisfied (the ring is full, all of it examined and none of it
//!   consumed) returns [`ReadError::WouldDeadlock`] instead of hanging, and a writer waiting
//!   for room at that moment gets [`WriteError::WouldDeadlock`].
//!
//! # Schedulers and wakers
//!
//! .NET's `PipeScheduler` decides where a continuation runs. In Rust the executor owns that:
//! a pending read or flush stores the task's [`Waker`](core::task::Waker) in the side's
//! atomic waker, and the other side calls `wake()` after publishing. `PipeScheduler.Inline`
//! corresponds to the blocking forms (the parked thread continues itself);
//! `PipeScheduler.ThreadPool` corresponds to an executor that runs woken tasks on its pool
//! (tokio's multi-thread runtime). `UseSynchronizationContext` has no Rust counterpart.
//!
//! # Parsing and framing
//!
//! * [`SequenceReader`] (.NET `SequenceReader<byte>`) walks a [`Sequence`] for a parser: bytes
//!   and integers of every width in both byte orders, reads up to a delimiter (one byte, any of
//!   a set, or a multi-byte delimiter straddling chunks), skip, rewind, and the
//!   [`position`](SequenceReader::position) to hand to [`PipeReader::advance_to`]. What it
//!   returns as bytes is a sub-`Sequence` borrowed from the pipe;
//!   [`Sequence::as_contiguous`] / [`Sequence::to_contiguous`] give a `&[u8]` / `Cow` that
//!   copies only when the bytes span chunks.
//! * Framing: [`LengthDelimited`] (length-prefixed frames, with tokio-util
//!   `LengthDelimitedCodec`'s options) and [`LineDecoder`] (lines with a maximum length) are
//!   [`FrameDecoder`]s; [`FrameReader`] reads whole frames from a pipe, handing each to a
//!   closure and advancing consumed/examined for you; [`FrameWriter`] writes length-prefixed
//!   frames, or builds one in pipe memory ([`FrameGuard`]). Decoders never allocate, never
//!   panic on any input, and report bad input as [`FrameError`].
//!
//! ```
//! use ringpipe::{FrameReader, FrameWriter, LengthDelimited, SequenceReader};
//!
//! let (writer, reader) = ringpipe::pipe(Default::default());
//! let mut frames = FrameWriter::new(writer, LengthDelimited::new());
//! frames.write_frame_blocking(b"\x00\x07name=ringpipe").unwrap();
//! drop(frames);
//!
//! let mut frames = FrameReader::new(reader, LengthDelimited::new());
//! let parsed = frames
//!     .read_frame_blocking(|frame| {
//!         let mut r = SequenceReader::new(frame);
//!         let version = r.read_u16_be()?;
//!         let key = r.read_to(b'=', true)?.to_vec();
//!         Some((version, key, r.unread_sequence().to_vec()))
//!     })
//!     .unwrap();
//! assert_eq!(parsed, Some(Some((7, b"name".to_vec(), b"ringpipe".to_vec()))));
//! assert_eq!(frames.read_frame_blocking(|f| f.len()).unwrap(), None); // a clean end
//! ```
//!
//! # I/O traits, duplex pipes, stream adapters
//!
//! * [`duplex`] / [`duplex_pair`] (.NET `IDuplexPipe` and a connection pair) give two
//!   [`DuplexEnd`]s, each an [`input`](DuplexEnd::input) (the reader of what the other end
//!   writes) and an [`output`](DuplexEnd::output); [`into_parts`](DuplexEnd::into_parts) /
//!   [`from_parts`](DuplexEnd::from_parts) split and join them, and dropping an end completes
//!   both of its halves.
//! * [`PipeReader`], [`PipeWriter`] and [`DuplexEnd`] implement `std::io::Read`, `BufRead` and
//!   `Write` (blocking), and with the features below tokio's and futures-io's `AsyncRead`,
//!   `AsyncBufRead` and `AsyncWrite`: a duplex end stands in for tokio's `DuplexStream`.
//!   A read copies what the buffer holds of the unconsumed bytes (across chunks) and consumes
//!   exactly that; `fill_buf` hands out the first chunk of the unconsumed bytes and consumes
//!   and examines nothing, `consume(n)` consumes `n` (and panics past the data read: a bug that
//!   would lose bytes), so after a partial `consume` the next `fill_buf` returns the rest at
//!   once. A write copies what fits in the writer's memory, waiting for room only when the
//!   pipe is full, and commits it (the reader sees it without a flush, as with `DuplexStream`);
//!   `flush` is the pipe's flush (it waits while backpressure holds); tokio's `poll_shutdown`
//!   and futures-io's `poll_close` flush, then complete the writer. An empty buffer reads or
//!   writes `Ok(0)` at once: only a read into a non-empty buffer returning `Ok(0)` is the end of
//!   the stream. A pending poll leaves the half registered as waiting until its next call;
//!   dropping the future that polled it leaves the pipe usable.
//! * On a half, the inherent [`PipeReader::read`], [`PipeWriter::flush`] and
//!   [`PipeWriter::write_all`] (the pipe's futures) take precedence over the traits' methods of
//!   the same names: call those as `Read::read(&mut reader, buf)`,
//!   `AsyncWriteExt::flush(&mut writer)`, ..., or through a [`DuplexEnd`], which has no such
//!   methods of its own.
//! * The pipe's errors become [`std::io::Error`]s (`From`, and [`ReadError::io_kind`] /
//!   [`WriteError::io_kind`]); the pipe's error is the payload (`get_ref` downcasts to it), so
//!   the peer's error is the [`source`](std::error::Error::source):
//!
//! | the pipe says | the I/O traits say | why |
//! |---|---|---|
//! | the writer completed ([`ReadResult::is_completed`], no bytes left) | `Ok(0)` from a read, an empty `fill_buf` | the end of the stream |
//! | [`ReadError::WriterFailed`] | the kind of the writer's error if it is an `io::Error` (a stream adapter's source failed), else `Other`; the error is the source | the peer failed; its reason survives the pipe |
//! | [`ReadError::ReaderCompleted`] | `NotConnected` | reading after this end was completed |
//! | [`ReadError::WouldDeadlock`], [`WriteError::WouldDeadlock`] | `Other` | `Deadlock` is stable only since Rust 1.83 (after the MSRV); `WouldBlock` would make callers retry forever |
//! | [`ReadError::MinimumTooLarge`], [`WriteError::TooLarge`] | `InvalidInput` | (not reached through the traits) |
//! | the reader completed ([`FlushResult::is_completed`]), [`WriteError::ReaderFailed`] | `BrokenPipe` (with the reader's error as the source) | writing to a closed socket |
//! | [`WriteError::WriterCompleted`] | `BrokenPipe` | as a socket after `shutdown(Write)` and tokio's `DuplexStream` after `shutdown` |
//! | [`WriteError::Full`] | `WouldBlock` | (not reached through the traits, which wait for room) |
//! | a canceled read or flush ([`PipeCanceller`]), [`WriteError::Canceled`] | `Interrupted` | the wait was interrupted; std's `read_exact`, `read_to_end`, `write_all` and `io::copy` retry it, so a cancel ends only a single `read`/`write`/`flush` call |
//!
//! * Stream adapters (.NET `PipeReader.Create(Stream)`, `PipeWriter.Create(Stream)`,
//!   `CopyToAsync`): [`copy_from_reader`] / [`fill_from_reader`] / [`pipe_from_reader`] feed a
//!   pipe from a `Read`, reading straight into the writer's memory and flushing after every
//!   read, and complete the writer at the source's end or with its error (the owning forms);
//!   [`copy_to_writer`] / [`drain_to_writer`] / [`pipe_to_writer`] drain a pipe into a `Write`
//!   with `write_vectored` over up to [`MAX_IO_SLICES`] of the read's chunks, consuming what
//!   was written; [`copy_to`] / [`copy_to_blocking`] copy a pipe into another. The tokio forms
//!   (`copy_from_async_read`, `fill_from_async_read`, `copy_to_async_write`,
//!   `drain_to_async_write`) take `AsyncRead`/`AsyncWrite`.
//! * With `bytes`: `WriterBufMut` is the writer's granted memory as a `BufMut` (advancing the
//!   writer), `SequenceBuf` a read's bytes as a `Buf`, and `read_buf` hands one to a closure and
//!   advances the reader to where the closure left it.
//!
//! # Socket transports
//!
//! The socket transports (what Kestrel's socket transport is to System.IO.Pipelines): a connected
//! socket goes in, the application's [`DuplexEnd`] comes out, and two loops
//! move the bytes between them:
//!
//! * the **receive loop** reads the socket straight into the receive pipe's writer memory
//!   (`get_memory`, no bounce buffer) and flushes after every read; while the pipe is paused
//!   (the application is behind by the pause threshold) it does not read, so the socket's
//!   receive buffer fills and TCP's flow control holds the peer back;
//! * the **send loop** writes everything the application flushed with one vectored write over
//!   the read's chunks (up to [`TRANSPORT_MAX_IO_SLICES`] `IoSlice`s) and consumes what the
//!   kernel accepted, no more.
//!
//! How each loop ends, and what the application sees:
//!
//! | event | receive loop | send loop |
//! |---|---|---|
//! | the peer shuts its write side down (EOF) | completes the application's input: it reads the end of the stream | goes on |
//! | a socket error on receive or send (a reset, ...) | completes the application's input with that error (its reads fail with the socket's `ErrorKind`) | ends: the application's writes fail with `BrokenPipe`, the socket's error as the source |
//! | the application completes its output | goes on | writes what is left, then shuts the socket's write side down (the peer reads EOF) |
//! | the application completes its output with an error | ends: the input completes with `ConnectionAborted` | ends without writing what is left |
//! | the application completes its input (drops it) | ends, even while waiting for the socket | goes on |
//!
//! The transport ends when both loops have, and closes the socket then. Dropped before that (a
//! task aborted, a runtime shut down, a thread's transport abandoned), it completes the
//! application's halves with `ConnectionAborted`, so the application never mistakes an
//! abandoned connection for a clean end of stream.
//!
//! A peer that never reads keeps the send loop waiting in its write (as a socket's linger
//! does); the transport ends when the peer reads, resets, or the transport is dropped.
//!
//! `SocketTransport` is the async form (feature `tokio`): a future over any tokio
//! `AsyncRead + AsyncWrite` (`TcpStream`, `UnixStream`, a TLS stream), polled by one task on
//! any runtime flavour. `BlockingTransport` runs the two loops on two threads over std's
//! `TcpStream` or `UnixStream` (Linux).
//!
//! # Named pipes (Linux)
//!
//! .NET's `NamedPipeServerStream` and `NamedPipeClientStream` on Linux, with the holes .NET
//! and the Rust crates leave closed. A named pipe is a Unix stream socket at a
//! [`PipeName`]: a plain name in a private per-user directory (`$XDG_RUNTIME_DIR/ringpipe/`,
//! else `$TMPDIR/ringpipe-<uid>/`, mode 0700 and checked to be ours), an absolute path as
//! given, [`PipeName::dotnet`] for the path a .NET process uses (`$TMPDIR/CoreFxPipe_<name>`),
//! or Linux's abstract namespace on request (no file, so no file permissions). Paths longer
//! than `sun_path` work, through a descriptor of their directory.
//!
//! * **Secure by default**: the socket file is 0600 from the moment it exists (`fchmod`
//!   before `bind`; the umask never decides), and both sides refuse a peer of another user
//!   (`current_user_only`, checked with the kernel's peer credentials; every connection
//!   exposes [`PeerCredentials`]).
//! * **No hijack, safe reclaim**: a server listens at a temporary name and renames its
//!   socket into place only if the name is free, so the name never points at a socket that
//!   is not listening; a live server's name is refused ("in use"); a stale socket (its server
//!   killed) is probed, then removed, under a lock file so two starting servers cannot both
//!   win; anything that is not a socket is never deleted. A server removes its socket file
//!   when dropped, only if it is still its own.
//! * **Waiting without spinning**: [`NamedPipeClient::connect_timeout`] watches the
//!   directory with inotify and sleeps until the server appears or the time is up; a full
//!   backlog is waited out in the kernel within the same timeout.
//! * **Instances across processes**: [`NamedPipeServerOptions::max_instances`] counts
//!   connections with locks on slots of the name's lock file, so it holds across every
//!   process serving the name ([`NamedPipeServer::inherit_into`] hands the listening socket
//!   to a child).
//! * **Directions**: `In`/`Out` shut the unused side of each connection down.
//!
//! A connection ([`NamedPipeStream`]) reads and writes as a socket, or becomes a ringpipe
//! [`DuplexEnd`] moved by a transport ([`NamedPipeStream::into_duplex`], two threads; or
//! `into_async_duplex`, one future, feature `tokio`): reads land in pipe memory.
//!
//! ```
//! use ringpipe::{NamedPipeClient, NamedPipeServer, TransportOptions};
//! use std::io::{Read, Write};
//! use std::time::Duration;
//!
//! let name = format!("doc-example-{}", std::process::id());
//! let server = NamedPipeServer::bind(name.as_str(), Default::default())?;
//! let client = std::thread::spawn({
//!     let name = name.clone();
//!     move || -> std::io::Result<String> {
//!         let mut conn =
//!             NamedPipeClient::connect_timeout(name.as_str(), &Default::default(), Duration::from_secs(5))?;
//!         conn.write_all(b"hello")?;
//!         conn.as_unix_stream().shutdown(std::net::Shutdown::Write)?;
//!         let mut reply = String::new();
//!         conn.read_to_string(&mut reply)?;
//!         Ok(reply)
//!     }
//! });
//! let conn = server.wait_for_connection()?;
//! let (end, transport) = conn.into_duplex(TransportOptions::new())?;
//! let (mut input, mut output) = end.into_parts();
//! let res = input.read_blocking().unwrap(); // in pipe memory
//! assert_eq!(res.buffer().to_vec(), b"hello");
//! let end_pos = res.buffer().end();
//! input.advance_to(end_pos, end_pos).unwrap();
//! output.write_all_blocking(b"world").unwrap();
//! drop((input, output));
//! transport.join()?;
//! assert_eq!(client.join().unwrap()?, "world");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Anonymous pipes
//!
//! Linux: a one-way OS pipe from a parent to the child it spawns, each end a ringpipe half
//! (.NET `AnonymousPipeServerStream` / `AnonymousPipeClientStream`). The parent's
//! [`AnonymousPipeServer`] makes the pipe with both ends close-on-exec;
//! [`inherit_client_handle`](AnonymousPipeServer::inherit_client_handle) lets the child of one
//! `std::process::Command` inherit exactly the client end, whose number
//! [`client_handle_string`](AnonymousPipeServer::client_handle_string) gives as a string for
//! the child's arguments or environment; after spawning, the parent disposes of its copy of
//! the client end, so that the child's exit is the end of the stream (or a broken pipe) for
//! it. The child opens the end with [`AnonymousPipeClient::from_handle_string`], which checks
//! the string strictly and the descriptor (open, a pipe, the right direction) before taking
//! it. On either side `into_writer` / `into_reader` give the end as a [`PipeWriter`] or
//! [`PipeReader`] with a [`Pump`] thread that moves its bytes with the stream adapters (or,
//! with the `tokio` feature, `into_async_writer` / `into_async_reader` and a future).
//! [`PipeDirection`] (`In`, `Out`; `InOut` for named pipes) is seen from the end that holds it.
//!
//! ```no_run
//! use ringpipe::{AnonymousPipeClient, AnonymousPipeServer, PipeDirection};
//! use std::io::Read;
//! use std::process::Command;
//!
//! # fn main() -> std::io::Result<()> {
//! if let Some(handle) = std::env::args().nth(1) {
//!     // The child. SAFETY: the end was inherited for this client and is taken once.
//!     let client = unsafe { AnonymousPipeClient::from_handle_string(&handle, PipeDirection::In)? };
//!     let (mut reader, _pump) = client.into_reader(Default::default())?;
//!     let mut text = String::new();
//!     reader.read_to_string(&mut text)?;
//!     assert_eq!(text, "hello, child");
//!     return Ok(());
//! }
//! let mut server = AnonymousPipeServer::new(PipeDirection::Out)?;
//! let mut cmd = Command::new(std::env::current_exe()?);
//! cmd.arg(server.client_handle_string()?);
//! server.inherit_client_handle(&mut cmd)?;
//! let mut child = cmd.spawn()?;
//! server.dispose_local_copy_of_client_handle();
//! let (mut writer, pump) = server.into_writer(Default::default())?;
//! writer.write_all_blocking(b"hello, child").unwrap();
//! writer.complete();
//! pump.join()?;
//! assert!(child.wait()?.success());
//! # Ok(())
//! # }
//! ```
//!
//! # Message mode
//!
//! .NET's `PipeTransmissionMode.Message`, which .NET refuses on Linux, over any pipe: a
//! [`MessageWriter`] sends each message (each `write` call, as in .NET) with a 4-byte
//! little-endian length before it ([`message_format`]: tokio-util's `LengthDelimitedCodec`
//! with a 4-byte little-endian field reads and writes the same), and a [`MessageReader`] gives
//! messages back whole as a [`Sequence`] in pipe memory
//! ([`read_message`](MessageReader::read_message)) or in parts through `Read` into a buffer of
//! any size, with [`is_message_complete`](MessageReader::is_message_complete) saying when a
//! part was a message's last. Messages go up to [`DEFAULT_MAX_MESSAGE`] (64 MiB, far past
//! `SOCK_SEQPACKET`'s ~208 KiB) or the maximum you set; a larger one is refused before any of
//! it is sent, and a length over it from a hostile sender is `InvalidData` before anything is
//! allocated. A named-pipe connection becomes one with
//! [`NamedPipeStream::into_message_duplex`]; an anonymous pipe's halves are wrapped with
//! [`MessageReader::new`] / [`MessageWriter::new`] (give the reader's pipe
//! [`message_pipe_options`] to read whole messages).
//!
//! # Shared memory between processes (Linux)
//!
//! [`shm`]: the same ring with its bytes in memory two processes map, and the same halves
//! ([`shm::SharedWriter`] is a `PipeWriter<shm::SharedMemory>`; every method and I/O trait
//! works the same), no system call on the hot path (a publish rings the other process, a
//! byte on the ring's socket, only when it waits), a peer that is not trusted (every value it
//! can write is checked; see the module docs for what a hostile peer can and cannot do), and a
//! peer's death seen at once as [`shm::PeerError::Gone`].
//!
//! ```
//! use ringpipe::shm::{self, SharedReader};
//! use std::os::unix::net::UnixStream;
//!
//! # fn main() -> std::io::Result<()> {
//! let (here, there) = UnixStream::pair()?;
//! let (mut writer, peer) = shm::writer(Default::default())?;
//! peer.send_over(&here)?; // or peer.inherit(&mut command) for a child
//! let mut reader = SharedReader::receive(&there, Default::default())?;
//! writer.write_all_blocking(b"across processes").unwrap();
//! assert_eq!(reader.read_blocking().unwrap().buffer().to_vec(), b"across processes");
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! None is on by default; the std I/O traits, duplex ends and blocking adapters need none.
//!
//! | feature | adds |
//! |---|---|
//! | `tokio` | tokio's `AsyncRead`, `AsyncBufRead`, `AsyncWrite` for [`PipeReader`], [`PipeWriter`], [`DuplexEnd`]; the async stream adapters `copy_from_async_read`, `fill_from_async_read`, `copy_to_async_write`, `drain_to_async_write`; the socket transport `SocketTransport`; `into_async_writer` / `into_async_reader` of the anonymous pipes (tokio with its `net` feature, for its Unix pipe ends) |
//! | `futures-io` | futures-io's `AsyncRead`, `AsyncBufRead`, `AsyncWrite` for the same types |
//! | `bytes` | `WriterBufMut` (`BufMut`), `SequenceBuf` (`Buf`), `read_buf`, `read_buf_blocking` |
//!
//! # .NET → ringpipe
//!
//! | .NET | ringpipe | notes |
//! |---|---|---|
//! | `new Pipe()`, `new Pipe(options)` | [`pipe(PipeOptions::default())`](pipe()), [`pipe(options)`](pipe()) | returns the two halves, each `Send`, neither `Clone` |
//! | `Pipe.Reader` / `Pipe.Writer` | the tuple returned by [`pipe()`] | halves move to their threads |
//! | `Pipe.Reset()` | [`reset(&mut writer, &mut reader)`](reset) | both sides completed, else [`ResetError`] |
//! | `PipeOptions(pool, …, pauseWriterThreshold, resumeWriterThreshold, minimumSegmentSize)` | [`PipeOptions::builder`] `.pool()`, `.pause_writer_threshold()`, `.resume_writer_threshold()`, `.chunk_size()`, plus `.capacity()` | validation errors are [`OptionsError`]; .NET's `-1` ("default") is simply not calling the setter |
//! | `PipeOptions.ReaderScheduler` / `WriterScheduler` / `UseSynchronizationContext` | the executor | see *Schedulers and wakers* |
//! | `MemoryPool<byte>` | [`ChunkPool`] | fixed-size chunks, shareable, bounded retention |
//! | `PipeWriter.GetMemory(sizeHint)` / `GetSpan` | [`try_get_memory`](PipeWriter::try_get_memory) (never waits), [`get_memory`](PipeWriter::get_memory)`.await`, [`get_memory_blocking`](PipeWriter::get_memory_blocking) | a `&mut [u8]`; one type serves both; the ring's capacity is a hard bound, so the waiting forms wait for room |
//! | `PipeWriter.Advance(bytes)` | [`advance`](PipeWriter::advance) | panics past the memory handed out (.NET throws) |
//! | `PipeWriter.FlushAsync()` | [`flush`](PipeWriter::flush)`.await`, [`flush_blocking`](PipeWriter::flush_blocking), [`try_flush`](PipeWriter::try_flush), [`commit`](PipeWriter::commit) (publish only) | [`FlushResult`] |
//! | `PipeWriter.WriteAsync(source)` | [`write_all`](PipeWriter::write_all)`.await`, [`write_all_blocking`](PipeWriter::write_all_blocking) | copies across chunks, waiting for room as it goes |
//! | `PipeWriter.UnflushedBytes` / `CanGetUnflushedBytes` | [`unflushed_bytes`](PipeWriter::unflushed_bytes) | always available |
//! | `PipeWriter.CancelPendingFlush()` | [`PipeCanceller::cancel_pending_flush`] | callable from any thread; also ends a wait for room ([`WriteError::Canceled`] from `get_memory`, a canceled `write_all` with [`FlushResult::written`]): .NET's `GetMemory` never waits, its backpressure is in `FlushAsync`/`WriteAsync` |
//! | `PipeWriter.Complete(ex)` / `CompleteAsync` | [`complete`](PipeWriter::complete), [`complete_with_error`](PipeWriter::complete_with_error), drop | completion never blocks, so there is no async form |
//! | `PipeWriter.OnReaderCompleted` (obsolete) | [`reader_completion`](PipeWriter::reader_completion)`.await` | a future instead of a callback |
//! | `PipeReader.ReadAsync()` | [`read`](PipeReader::read)`.await`, [`read_blocking`](PipeReader::read_blocking), [`poll_read`](PipeReader::poll_read) | [`ReadResult`] borrows the reader |
//! | `PipeReader.TryRead(out result)` | [`try_read`](PipeReader::try_read) | `Ok(None)` = false |
//! | `PipeReader.ReadAtLeastAsync(n)` | [`read_at_least`](PipeReader::read_at_least), [`read_at_least_blocking`](PipeReader::read_at_least_blocking) | counts unconsumed bytes (`Buffer.Length`); overrides the pause threshold while it waits |
//! | `PipeReader.AdvanceTo(consumed[, examined])` | [`advance_to`](PipeReader::advance_to), [`advance_to_consumed`](PipeReader::advance_to_consumed) | errors instead of exceptions; un-examining allowed |
//! | `PipeReader.CancelPendingRead()` | [`PipeCanceller::cancel_pending_read`] | |
//! | `PipeReader.Complete(ex)` | [`complete`](PipeReader::complete), [`complete_with_error`](PipeReader::complete_with_error), drop | |
//! | `PipeReader.OnWriterCompleted` (obsolete) | [`writer_completion`](PipeReader::writer_completion)`.await` | |
//! | `ReadResult.Buffer` / `IsCanceled` / `IsCompleted` | [`ReadResult::buffer`], [`is_canceled`](ReadResult::is_canceled), [`is_completed`](ReadResult::is_completed) | |
//! | `ReadOnlySequence<byte>` | [`Sequence`] | `len`, `chunks`, `start`/`end`, `position(offset)`, `slice`, `slice_between`, `find`, `copy_to_slice`, `to_vec` |
//! | `SequencePosition` | [`Position`] | tagged with its pipe: foreign or pre-reset positions are refused |
//! | `SequenceReader<byte>` | [`SequenceReader`] | a `Copy` cursor; `TryRead*` are `read_*` returning `Option`, `TryReadTo` is [`read_to`](SequenceReader::read_to)/[`read_to_slice`](SequenceReader::read_to_slice) returning a sub-[`Sequence`]; no escaped delimiters yet |
//! | `FlushResult` | [`FlushResult`] | plus [`written`](FlushResult::written) for `write_all` |
//! | `CancellationToken` arguments | drop the future | Rust futures are cancelled by dropping them; the pipe stays consistent |
//! | awaiting one `ValueTask` twice, `GetResult` before completion | impossible | futures are polled by one owner; results come from `poll` |
//! | "Reading is already in progress" | impossible | a [`ReadResult`] borrows the reader mutably; a second read does not compile |
//! | `IDuplexPipe`, `DuplexPipe.CreateConnectionPair` | [`DuplexEnd`] ([`input`](DuplexEnd::input), [`output`](DuplexEnd::output)), [`duplex`], [`duplex_pair`] | dropping an end completes both halves |
//! | `PipeReader.Create(Stream)` | [`pipe_from_reader`] (a thread), [`fill_from_reader`]; `fill_from_async_read` (feature `tokio`) | reads straight into the writer's memory; the source's error completes the writer |
//! | `PipeWriter.Create(Stream)` | [`pipe_to_writer`] (a thread), [`drain_to_writer`]; `drain_to_async_write` | writes from the read's chunks with `write_vectored` |
//! | `PipeReader.AsStream()` / `PipeWriter.AsStream()` | the halves themselves | they implement `Read`/`BufRead`/`Write`, and tokio's or futures-io's traits with those features; drop = dispose |
//! | `Stream.CopyToAsync(PipeWriter)` | [`copy_from_reader`], `copy_from_async_read` | does not complete the writer |
//! | `PipeReader.CopyToAsync(Stream)` | [`copy_to_writer`], `copy_to_async_write` | consumes what the sink took, even when it then fails |
//! | `PipeReader.CopyToAsync(PipeWriter)` | [`copy_to`], [`copy_to_blocking`] | stops when the destination's reader completes |
//! | `NamedPipeServerStream` (`WaitForConnection[Async]`, `maxNumberOfServerInstances`, `PipeOptions.CurrentUserOnly`, `PipeDirection`) | [`NamedPipeServer`] ([`wait_for_connection`](NamedPipeServer::wait_for_connection), `wait_for_connection_async`), [`NamedPipeServerOptions`] | secure by default; a live name is never taken over; instances count across processes; see [Named pipes](#named-pipes-linux) |
//! | `PipeTransmissionMode.Message`, `ReadMode`, `IsMessageComplete` (PNSE on Linux) | [`MessageWriter`], [`MessageReader`] ([`is_message_complete`](MessageReader::is_message_complete)), [`NamedPipeStream::into_message_duplex`] | any pipe; messages up to a maximum you choose; whole as a sequence or in parts |
//! | `NamedPipeClientStream.Connect(timeout)` | [`NamedPipeClient::connect_timeout`], `connect_async` | waits for a server that does not exist yet without spinning |
//! | `GetImpersonationUserName` | [`NamedPipeStream::peer_credentials`] | pid, uid and gid from the kernel |
//! | Kestrel's socket transport (`SocketConnection`: a receive loop and a send loop around a duplex pipe pair) | `SocketTransport` (feature `tokio`; one future over any `AsyncRead + AsyncWrite`), `BlockingTransport` (two threads over std's sockets) | see [Socket transports](#socket-transports); an abandoned transport aborts the application's halves |
//!
//! Remaining differences a .NET user could trip on:
//!
//! * **`advance_to` without a read outstanding is accepted.** .NET throws when `AdvanceTo` is
//!   called with no `ReadAsync` to complete; here positions from any read since the last
//!   advance past them are valid, and advancing twice to the same place changes nothing.
//! * **A stale position equal to the consumed position is accepted** (it moves nothing); one
//!   *before* it is [`AdvanceError::AlreadyConsumed`], and a position of another pipe or from
//!   before a [`reset`] is [`AdvanceError::ForeignPosition`], where .NET may misread them.
//! * **[`ReadResult`] and [`FlushResult`] cannot be constructed** by user code (.NET's have
//!   public constructors for tests and adapters): a test double of a pipe is a real pipe.
//! * **No `Length` of what the pipe holds.** .NET's `Pipe.Length` is internal as well; a read's
//!   [`Sequence::len`], [`PipeWriter::unflushed_bytes`] and [`PipeReader::consumed_bytes`] say
//!   what can be known without racing the other side.
//! * **When chunks go back to the pool.** .NET returns segments in `AdvanceTo`. Here a chunk goes
//!   back once every byte of it is consumed *and* the writer has moved past it: in `advance_to`,
//!   in a read that is about to park, and (waking the reader to do it) when the writer moves
//!   past a chunk the parked reader had consumed; a read that returns data gives nothing back.
//!   A released chunk first waits in its slot as a spare for the writer's next use of the slot;
//!   spares go to the pool when the reader is about to wait for data, after 1024 `try_read`s in
//!   a row that found nothing, or once it has seen the writer complete (so a streaming pipe
//!   holds up to one chunk per slot, an idle one what it held without spares). Whatever is left
//!   goes back when the second half completes or is dropped.
//! * **The capacity is a hard bound** and `get_memory` waits for room (see *Capacity*), so
//!   `WouldDeadlock` exists: .NET's pipe grows instead.
//! * **Futures are named** `ReadFuture`, `FlushFuture`, … in [`future`] (none of them is
//!   `std::io::Read`: the halves implement that too, see *I/O traits*), and dropping one is how a wait
//!   is cancelled.
//!
//! # Capacity
//!
//! Unlike .NET's pipe, a ringpipe has a hard capacity: the writer never holds more than
//! `capacity` bytes unconsumed (flushed or not). Memory is handed out in contiguous pieces of
//! at most [`PipeWriter::max_memory`] bytes (the smaller of chunk size and capacity). When a
//! size hint does not fit in what is left of the current chunk, the writer moves to a fresh
//! chunk and the rest of the old one goes unused until the reader releases it. The ring has
//! [`PipeOptions::slots`] chunk slots (enough for `capacity` when chunks are filled), so a writer
//! that keeps abandoning partly filled chunks (large hints, few bytes advanced) runs out of
//! slots before it reaches the capacity: ask for small hints, or hints that fit, to use it all.
//!
//! # Backpressure
//!
//! A commit (from [`commit`](PipeWriter::commit), [`flush`](PipeWriter::flush),
//! [`write_all`](PipeWriter::write_all) or completion) that makes the *unexamined* bytes cross
//! the pause threshold pauses the writer; a flush then waits until the reader's examined position
//! brings them strictly below the resume threshold (or the reader completes, the flush is
//! canceled, or a [`read_at_least`](PipeReader::read_at_least) lifts the pause while it waits).
//! Like .NET, the pause is an edge: bytes already above the threshold without a pause (after
//! un-examining, or after `read_at_least` lifted it) pause again only after dropping below and
//! crossing again.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    clippy::undocumented_unsafe_blocks,
    missing_docs,
    missing_debug_implementations
)]

// The crate's layout (see README.md, "Layout"):
// * `protocol`: the ring protocol, generic over where the bytes live and how a side is woken;
// * `pipe`: the in-process pipe: pooled chunks, wakers and parked threads, the two halves;
// * `sync`: the only place that names the synchronisation primitives (std or loom);
// * `io`: parsing and framing over a pipe (`SequenceReader`, length-prefixed frames, lines), and
//   the pipe among Rust's I/O (duplex ends, the I/O traits, bytes, stream adapters, socket
//   transports);
// * `error`: the errors of every operation.
// * `ipc` (Linux): pipes between processes (anonymous pipes to a child; named pipes next).
mod bell;
mod error;
mod io;
#[cfg(target_os = "linux")]
mod ipc;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_shm;
mod pipe;
mod protocol;
#[cfg(all(target_os = "linux", not(loom)))]
pub mod shm;
mod sync;

pub use error::{AdvanceError, CompletionError, ReadError, ResetError, WriteError};
#[cfg(feature = "tokio")]
pub use io::{
    copy_from_async_read, copy_to_async_write, drain_to_async_write, fill_from_async_read,
    SocketTransport,
};
pub use io::{
    copy_from_reader, copy_to, copy_to_blocking, copy_to_writer, drain_to_writer, duplex,
    duplex_pair, fill_from_reader, pipe_from_reader, pipe_to_writer, DuplexEnd, MAX_IO_SLICES,
};
pub use io::{
    message_format, message_pipe_options, MessageReader, MessageWriter, DEFAULT_MAX_MESSAGE,
};
#[cfg(feature = "bytes")]
pub use io::{read_buf, read_buf_blocking, SequenceBuf, WriterBufMut};
#[cfg(target_os = "linux")]
pub use io::{BlockingSocket, BlockingTransport};
pub use io::{
    Frame, FrameDecoder, FrameError, FrameFormatError, FrameGuard, FrameReader, FrameWriter,
    LengthDelimited, LengthDelimitedBuilder, LineDecoder, SequenceReader, DEFAULT_MAX_FRAME_LENGTH,
    DEFAULT_MAX_LINE_LENGTH,
};
pub use io::{
    TransportOptions, TransportStats, TRANSPORT_CHUNK_SIZE, TRANSPORT_MAX_IO_SLICES,
    TRANSPORT_PAUSE_THRESHOLD,
};
#[cfg(target_os = "linux")]
pub use ipc::creds::PeerCredentials;
#[cfg(target_os = "linux")]
pub use ipc::named::client::{NamedPipeClient, NamedPipeClientOptions};
#[cfg(target_os = "linux")]
pub use ipc::named::name::PipeName;
#[cfg(target_os = "linux")]
pub use ipc::named::server::{is_all_instances_busy, NamedPipeServer, NamedPipeServerOptions};
#[cfg(target_os = "linux")]
pub use ipc::named::stream::{NamedPipeStream, NamedSocket};
#[cfg(target_os = "linux")]
pub use ipc::{AnonymousPipeClient, AnonymousPipeServer, PipeDirection, Pump};
pub use pipe::canceller::PipeCanceller;
pub use pipe::future;
pub use pipe::home::{Home, InProcess};
pub use pipe::options::{
    OptionsError, PipeOptions, PipeOptionsBuilder, SpinWait, WakeFences, DEFAULT_CAPACITY,
    DEFAULT_CHUNK_SIZE, DEFAULT_PAUSE_THRESHOLD, DEFAULT_SPIN_WAIT, MAX_SLOTS,
};
pub use pipe::pool::{ChunkPool, MAX_CHUNK_SIZE, MAX_RETAINED};
pub use pipe::reader::{PipeReader, ReadResult};
pub use pipe::sequence::{Chunks, Position, Sequence};
pub use pipe::writer::PipeWriter;
pub use pipe::{pipe, reset};
pub use protocol::FlushResult;

#[cfg(doctest)]
mod compile_fail_tests;

/// The README's examples, compiled and run as doctests with the `tokio` feature on (its socket
/// example needs it; CI's `cargo test --all-features` runs them).
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
