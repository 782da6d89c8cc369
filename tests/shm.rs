//! The pipe over shared memory between two real processes: this test binary runs itself again
//! as the other process (`support::child`), which attaches to its end with the handle string
//! it inherited.
//!
//! Covered: streams of several MiB both ways with every byte checked by position, with the
//! receiving side blocking, async (tokio and the test executor) and spinning (`try_read`);
//! completion and completion errors both ways (the message arrives); cancel of a pending read
//! in the reading process; backpressure (a paused writer resumes only once the other process
//! consumes); a peer killed with SIGKILL while this side waits, and while it streams, seen as
//! `PeerError::Gone` within 100 ms; a handshake sent over a Unix socket (`PeerEnd::send_over`);
//! a duplex (two rings) for request/response, inherited by a child and sent over a named pipe
//! connection to a child that connected as a client; the std and tokio I/O traits; hostile
//! handles and handshakes refused. The hostile peer that
//! scribbles over the shared region is `tests/shm_hostile.rs`. Hang guards are generous: no
//! timing is asserted but the peer-death bound.
#![cfg(target_os = "linux")]

mod support;

use ringpipe::shm::{self, PeerEnd, PeerError, SharedDuplex, SharedReader, SharedWriter};
use ringpipe::{PipeOptions, ReadError, SpinWait, WriteError};
use std::time::{Duration, Instant};
use support::child::{command, role, say, ChildProc};
use support::procfs::sleeps_of;
use support::sockets::stream_byte;

/// The watcher thread of a shared ring's end.
const WATCHER: &str = "ringpipe-shm-watch";

/// Several MiB, an odd length (the last chunk is partial).
const STREAM: usize = (3 << 20) + 4099;

fn options() -> PipeOptions {
    PipeOptions::builder()
        .capacity(256 << 10)
        .chunk_size(16 << 10)
        .build()
        .unwrap()
}

/// Spawns this binary as the other process with `args`, inheriting `peer`.
fn spawn(peer: PeerEnd, args: &[&str]) -> ChildProc {
    let handle = peer.handle_string();
    let mut all = vec![args[0], &handle];
    all.extend_from_slice(&args[1..]);
    let mut cmd = command(&all);
    peer.inherit(&mut cmd).unwrap();
    let child = ChildProc::start(cmd);
    drop(peer); // this process's copy: the child's exit must hang the socket up
    child
}

/// Writes `total` bytes of the position pattern in writes of `piece` bytes, blocking.
fn write_stream(w: &mut SharedWriter, total: usize, piece: usize) {
    let mut pos = 0;
    while pos < total {
        let n = piece.min(total - pos);
        let buf = w.get_memory_blocking(n).unwrap();
        let n = n.min(buf.len());
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = stream_byte(pos + i);
        }
        w.advance(n);
        w.flush_blocking().unwrap();
        pos += n;
    }
}

/// Checks a result's bytes against the pattern from `pos`; returns how many there were.
fn check(res: &ringpipe::ReadResult<'_>, pos: usize) -> usize {
    let mut at = pos;
    for chunk in res.buffer().chunks() {
        for &b in chunk {
            assert_eq!(b, stream_byte(at), "byte {at}");
            at += 1;
        }
    }
    at - pos
}

/// Reads to the end, checking every byte; `mode` is "blocking", "spin" or "tokio".
fn read_stream(mut r: SharedReader, mode: &str) -> usize {
    let mut pos = 0;
    match mode {
        "blocking" => loop {
            let res = r.read_blocking().unwrap();
            pos += check(&res, pos);
            let (end, done) = (res.buffer().end(), res.is_completed());
            r.advance_to(end, end).unwrap();
            if done {
                return pos;
            }
        },
        "spin" => loop {
            let Some(res) = r.try_read().unwrap() else {
                std::hint::spin_loop();
                continue;
            };
            pos += check(&res, pos);
            let (end, done) = (res.buffer().end(), res.is_completed());
            r.advance_to(end, end).unwrap();
            if done {
                return pos;
            }
        },
        "tokio" => tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async move {
                loop {
                    let res = r.read().await.unwrap();
                    pos += check(&res, pos);
                    let (end, done) = (res.buffer().end(), res.is_completed());
                    r.advance_to(end, end).unwrap();
                    if done {
                        return pos;
                    }
                }
            }),
        "exec" => support::exec::block_on(async move {
            loop {
                let res = r.read().await.unwrap();
                pos += check(&res, pos);
                let (end, done) = (res.buffer().end(), res.is_completed());
                r.advance_to(end, end).unwrap();
                if done {
                    return pos;
                }
            }
        }),
        m => panic!("unknown mode {m}"),
    }
}

/// The other process: `args[0]` its role, `args[1]` its handle string.
#[test]
fn child_main() {
    let Some(args) = role() else { return };
    // A child never outlives a hung test by much.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(120));
        std::process::exit(3);
    });
    let handle = &args[1];
    // SAFETY (both): the parent made this descriptor for this process, which takes it once.
    let writer =
        || unsafe { SharedWriter::from_handle_string(handle, SpinWait::default()) }.unwrap();
    let reader =
        || unsafe { SharedReader::from_handle_string(handle, SpinWait::default()) }.unwrap();
    match args[0].as_str() {
        "read" => {
            let r = reader();
            let n = read_stream(r, &args[2]);
            say(&format!("read {n}"));
        }
        "write" => {
            let mut w = writer();
            let piece: usize = args[2].parse().unwrap();
            write_stream(&mut w, STREAM, piece);
            w.complete();
        }
        "fail" => {
            let mut w = writer();
            w.write_all_blocking(b"partial").unwrap();
            w.complete_with_error("the child gave up");
        }
        "reader-fails" => {
            let mut r = reader();
            let res = r.read_blocking().unwrap();
            let end = res.buffer().end();
            r.advance_to(end, end).unwrap();
            r.complete_with_error("no more, thanks");
        }
        "write-forever" => {
            let mut w = writer();
            say("attached");
            let mut pos = 0;
            loop {
                write_stream_from(&mut w, &mut pos, 4096);
            }
        }
        "attach-then-wait" => {
            let _r = reader();
            say("attached");
            std::thread::sleep(Duration::from_secs(100));
        }
        "attach-as-writer-then-wait" => {
            let _w = writer();
            say("attached");
            std::thread::sleep(Duration::from_secs(100));
        }
        "echo-duplex" => {
            // The duplex's two ends, inherited: answers each 64-byte request reversed.
            // SAFETY: the parent made these descriptors for this process, which takes them once.
            let end = unsafe { shm::attach_duplex(handle, SpinWait::default()) }.unwrap();
            echo(end);
        }
        "echo-parked" => {
            // As echo-duplex, never spinning (every wait parks), and says how often its
            // watcher threads (one per end) woke meanwhile.
            // SAFETY: as for echo-duplex.
            let end = unsafe { shm::attach_duplex(handle, SpinWait::Never) }.unwrap();
            let before = sleeps_of(WATCHER);
            let end = echo(end);
            say(&format!("watcher wakes {}", sleeps_of(WATCHER) - before));
            drop(end);
        }
        "echo-named" => {
            // Connects to the parent's named pipe and gets the duplex's ends over it.
            let conn = ringpipe::NamedPipeClient::connect_timeout(
                handle.as_str(),
                &Default::default(),
                Duration::from_secs(10),
            )
            .unwrap();
            let end = shm::receive_duplex(&conn, SpinWait::default()).unwrap();
            echo(end);
        }
        "slow-read" => {
            // Reads 1 KiB, says how much the writer had written by then, repeatedly.
            let mut r = reader();
            let mut pos = 0;
            loop {
                let res = r.read_blocking().unwrap();
                let len = res.buffer().len().min(1024);
                let done = res.is_completed() && len == res.buffer().len();
                let upto = res.buffer().position(len);
                pos += len;
                r.advance_to(upto, upto).unwrap();
                if done {
                    break;
                }
            }
            say(&format!("read {pos}"));
        }
        r => panic!("unknown role {r}"),
    }
}

/// Reads and consumes until a read fails; the writer's error it fails with.
fn writer_error(r: &mut SharedReader) -> ringpipe::CompletionError {
    loop {
        match r.read_blocking() {
            Ok(res) => {
                let end = res.buffer().end();
                r.advance_to(end, end).unwrap();
            }
            Err(ReadError::WriterFailed(e)) => return e,
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Answers 64-byte requests, each reversed, until the requests end; gives the end back.
fn echo(mut end: SharedDuplex) -> SharedDuplex {
    // Through the duplex end's std I/O traits (the other side uses the pipe calls).
    use std::io::{Read, Write};
    let mut msg = [0u8; 64];
    loop {
        match end.read_exact(&mut msg) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return end,
            Err(e) => panic!("{e}"),
        }
        msg.reverse();
        end.write_all(&msg).unwrap();
        end.flush().unwrap();
    }
}

/// Sends `trips` 64-byte requests over a duplex and checks each answer.
fn request_response(end: &mut SharedDuplex, trips: usize) {
    for trip in 0..trips {
        let msg: Vec<u8> = (0..64).map(|i| stream_byte(trip * 64 + i)).collect();
        end.output().write_all_blocking(&msg).unwrap();
        let r = end.input();
        let res = r.read_at_least_blocking(64).unwrap();
        let mut got = res.buffer().to_vec();
        assert_eq!(got.len(), 64, "one answer per request");
        got.reverse();
        assert_eq!(got, msg, "trip {trip}");
        let end = res.buffer().end();
        r.advance_to(end, end).unwrap();
    }
}

/// Writes one piece of the pattern at `*pos`.
fn write_stream_from(w: &mut SharedWriter, pos: &mut usize, piece: usize) {
    let buf = w.get_memory_blocking(piece).unwrap();
    let n = piece.min(buf.len());
    for (i, b) in buf[..n].iter_mut().enumerate() {
        *b = stream_byte(*pos + i);
    }
    w.advance(n);
    w.flush_blocking().unwrap();
    *pos += n;
}

fn parent_writes_child_reads(mode: &str) {
    let (mut w, peer) = shm::writer(options()).unwrap();
    let mut child = spawn(peer, &["read", mode]);
    write_stream(&mut w, STREAM, 1000);
    w.complete();
    assert_eq!(child.line(), format!("read {STREAM}"));
    child.expect_success();
}

#[test]
fn stream_to_a_blocking_reader() {
    parent_writes_child_reads("blocking");
}

#[test]
fn stream_to_a_tokio_reader() {
    parent_writes_child_reads("tokio");
}

#[test]
fn stream_to_a_reader_on_another_executor() {
    parent_writes_child_reads("exec");
}

#[test]
fn stream_to_a_spinning_reader() {
    parent_writes_child_reads("spin");
}

#[test]
fn stream_from_a_child_writer_in_1_and_16_kib_writes() {
    for piece in ["1024", "16384"] {
        let (r, peer) = shm::reader(options()).unwrap();
        let child = spawn(peer, &["write", piece]);
        assert_eq!(read_stream(r, "blocking"), STREAM);
        child.expect_success();
    }
}

#[test]
fn a_writer_error_arrives_with_its_message() {
    let (mut r, peer) = shm::reader(options()).unwrap();
    let child = spawn(peer, &["fail"]);
    let e = writer_error(&mut r);
    assert_eq!(
        e.downcast_ref::<PeerError>(),
        Some(&PeerError::Failed("the child gave up".into()))
    );
    child.expect_success();
}

#[test]
fn a_reader_error_arrives_with_its_message() {
    let (mut w, peer) = shm::writer(options()).unwrap();
    let child = spawn(peer, &["reader-fails"]);
    w.write_all_blocking(b"one").unwrap();
    let e = loop {
        match w.write_all_blocking(b"more") {
            Ok(_) => std::thread::sleep(Duration::from_millis(1)),
            Err(WriteError::ReaderFailed(e)) => break e,
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(
        e.downcast_ref::<PeerError>(),
        Some(&PeerError::Failed("no more, thanks".into()))
    );
    child.expect_success();
}

#[test]
fn backpressure_holds_the_writer_until_the_other_process_consumes() {
    let opts = PipeOptions::builder()
        .capacity(64 << 10)
        .chunk_size(4 << 10)
        .pause_writer_threshold(16 << 10)
        .resume_writer_threshold(8 << 10)
        .build()
        .unwrap();
    let (mut w, peer) = shm::writer(opts).unwrap();
    let mut child = spawn(peer, &["slow-read"]);
    // The child consumes 1 KiB per read: every flush past the pause threshold waits for it.
    let total = 256 << 10;
    write_stream(&mut w, total, 4096);
    assert!(w.unflushed_bytes() == 0);
    w.complete();
    assert_eq!(child.line(), format!("read {total}"));
    child.expect_success();
}

/// A shared ring maps its whole capacity up front, so unless a pause threshold is set its
/// writer never pauses (it waits only when the ring is full); one that is set holds.
#[test]
fn a_shared_ring_pauses_its_writer_only_at_a_threshold_that_was_set() {
    for set in [None, Some(64 << 10)] {
        let mut b = PipeOptions::builder();
        if let Some(pause) = set {
            b = b.pause_writer_threshold(pause);
        }
        let (mut w, peer) = shm::writer(b.build().unwrap()).unwrap();
        let (a, z) = std::os::unix::net::UnixStream::pair().unwrap();
        peer.send_over(&a).unwrap();
        let mut r = SharedReader::receive(&z, SpinWait::Never).unwrap();
        // 256 KiB committed while nobody reads (the default capacity is 1 MiB).
        let mut written = 0;
        while written < 256 << 10 {
            let n = w
                .try_get_memory(16 << 10)
                .unwrap()
                .len()
                .min((256 << 10) - written);
            w.advance(n);
            written += n;
        }
        let flushed = w.try_flush().unwrap();
        match set {
            None => assert!(flushed.is_some() && !w.is_paused(), "paused by default"),
            Some(_) => assert!(flushed.is_none() && w.is_paused(), "the set threshold"),
        }
        // Either way every byte is committed and readable.
        let res = r.try_read().unwrap().expect("data");
        assert_eq!(res.buffer().len(), 256 << 10);
    }
}

#[test]
fn cancel_ends_a_pending_read_of_a_shared_pipe() {
    let (mut r, peer) = shm::reader(options()).unwrap();
    let mut child = spawn(peer, &["attach-as-writer-then-wait"]);
    assert_eq!(child.line(), "attached");
    let canceller = r.canceller();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        canceller.cancel_pending_read();
    });
    let res = r.read_blocking().unwrap();
    assert!(res.is_canceled());
    t.join().unwrap();
    child.kill();
}

/// How long after a SIGKILL of the other process a waiting read ends.
fn read_error_after_kill(mut r: SharedReader, child: ChildProc) -> Duration {
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        let at = Instant::now();
        child.kill();
        at
    });
    let e = writer_error(&mut r);
    let seen = Instant::now();
    let killed = killer.join().unwrap();
    assert_eq!(e.downcast_ref::<PeerError>(), Some(&PeerError::Gone));
    // Later calls fail the same way.
    assert!(matches!(r.try_read(), Err(ReadError::WriterFailed(_))));
    seen.saturating_duration_since(killed)
}

#[test]
fn a_killed_writer_is_seen_at_once_by_a_waiting_or_streaming_reader() {
    for role in ["attach-then-wait", "write-forever"] {
        let (r, peer) = shm::reader(options()).unwrap();
        let mut child = {
            let handle = peer.handle_string();
            let mut cmd = command(&[
                if role == "write-forever" {
                    "write-forever"
                } else {
                    "attach-as-writer-then-wait"
                },
                &handle,
            ]);
            peer.inherit(&mut cmd).unwrap();
            let c = ChildProc::start(cmd);
            drop(peer);
            c
        };
        assert_eq!(child.line(), "attached");
        let after = read_error_after_kill(r, child);
        assert!(
            after < Duration::from_millis(100),
            "{role}: the peer's death was seen {after:?} after the kill"
        );
    }
}

#[test]
fn a_killed_reader_fails_a_writer_held_by_backpressure() {
    let (mut w, peer) = shm::writer(options()).unwrap();
    let mut child = spawn(peer, &["attach-then-wait"]);
    assert_eq!(child.line(), "attached");
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        child.kill();
    });
    let err = loop {
        match w.write_all_blocking(&[7; 4096]) {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    let WriteError::ReaderFailed(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.downcast_ref::<PeerError>(), Some(&PeerError::Gone));
}

#[test]
fn an_end_sent_over_a_unix_socket_attaches_on_the_other_side() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (mut w, peer) = shm::writer(options()).unwrap();
    peer.send_over(&a).unwrap();
    let t = std::thread::spawn(move || {
        let r = SharedReader::receive(&b, SpinWait::default()).unwrap();
        read_stream(r, "blocking")
    });
    write_stream(&mut w, 1 << 20, 3000);
    w.complete();
    assert_eq!(t.join().unwrap(), 1 << 20);
}

#[test]
fn the_wrong_role_and_hostile_handles_are_refused() {
    let (_w, peer) = shm::writer(options()).unwrap();
    let err = SharedWriter::attach(peer.into_owned_fd(), SpinWait::default()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("Reader"), "{err}");

    for bad in ["", "-1", "abc", "0", "99999999999", "1 "] {
        // SAFETY: none of these names a descriptor this test owns elsewhere (0 is stdin, which
        // is refused before it is taken).
        let err = unsafe { SharedReader::from_handle_string(bad, SpinWait::default()) };
        assert!(err.is_err(), "{bad:?} accepted");
    }
    // A socket with no handshake waiting.
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let err = SharedReader::attach(a.into(), SpinWait::default()).unwrap_err();
    assert!(err.to_string().contains("handshake"), "{err}");
}

#[test]
fn std_io_traits_over_a_shared_pipe() {
    use std::io::{Read, Write};
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (mut w, peer) = shm::writer(options()).unwrap();
    peer.send_over(&a).unwrap();
    let t = std::thread::spawn(move || {
        let mut r = SharedReader::receive(&b, SpinWait::default()).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        all
    });
    let data: Vec<u8> = (0..200_000).map(stream_byte).collect();
    // The pipe's own `write_all` and `flush` are async; these are std's.
    Write::write_all(&mut w, &data).unwrap();
    Write::flush(&mut w).unwrap();
    drop(w);
    assert_eq!(t.join().unwrap(), data);
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_io_traits_over_a_shared_pipe() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (mut w, peer) = shm::writer(options()).unwrap();
    peer.send_over(&a).unwrap();
    let mut r = SharedReader::receive(&b, SpinWait::default()).unwrap();
    let data: Vec<u8> = (0..200_000).map(stream_byte).collect();
    let expect = data.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let got = rt.block_on(async move {
        let reading = tokio::spawn(async move {
            let mut all = Vec::new();
            r.read_to_end(&mut all).await.unwrap();
            all
        });
        AsyncWriteExt::write_all(&mut w, &data).await.unwrap();
        w.shutdown().await.unwrap();
        reading.await.unwrap()
    });
    assert_eq!(got, expect);
}

#[test]
fn request_response_over_a_duplex_inherited_by_a_child() {
    let (mut end, peer) = shm::duplex(options()).unwrap();
    let handle = peer.handle_string();
    let mut cmd = command(&["echo-duplex", &handle]);
    peer.inherit(&mut cmd).unwrap();
    let child = ChildProc::start(cmd);
    drop(peer);
    request_response(&mut end, 2000);
    end.output().complete();
    child.expect_success();
}

/// A blocking call waits on its futex word, which the other process wakes directly: the
/// watcher threads (the way an async waiter is woken) sleep through thousands of parked waits.
#[test]
fn blocking_calls_are_woken_on_their_futex_words_not_by_the_watchers() {
    let trips = 2000;
    let opts = PipeOptions::builder()
        .spin_wait(SpinWait::Never)
        .build()
        .unwrap();
    let (mut end, peer) = shm::duplex(opts).unwrap();
    let handle = peer.handle_string();
    let mut cmd = command(&["echo-parked", &handle]);
    peer.inherit(&mut cmd).unwrap();
    let mut child = ChildProc::start(cmd);
    drop(peer);
    request_response(&mut end, trips);
    end.output().complete();
    let line = child.line();
    let wakes: usize = line
        .strip_prefix("watcher wakes ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the child said {line:?}"));
    // Its request reader parked for every request, its answer writer never waited; a wake
    // or two come from this side's completion (a ring).
    assert!(wakes < 20, "{wakes} watcher wakes for {trips} parked waits");
    child.expect_success();
}

#[test]
fn a_duplex_handed_over_a_named_pipe_connection() {
    let name = format!("shm-test-{}", std::process::id());
    let server = ringpipe::NamedPipeServer::bind(name.as_str(), Default::default()).unwrap();
    let child = ChildProc::start(command(&["echo-named", &name]));
    // The server accepts only a client of this user (secure by default), and the ends travel
    // as descriptors over the connection.
    let conn = server.wait_for_connection().unwrap();
    assert_eq!(conn.peer_credentials().pid, child.child.id() as i32);
    let (mut end, peer) = shm::duplex(options()).unwrap();
    peer.send_over(&conn).unwrap();
    request_response(&mut end, 2000);
    end.output().complete();
    child.expect_success();
}
