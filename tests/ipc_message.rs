//! Message mode over real named-pipe connections and an anonymous pipe to a child: messages
//! from 0 B to 16 MiB arrive whole and in order, read whole or in parts with random buffer
//! sizes (`is_message_complete` exactly at each end), whatever way the bytes were split on the
//! wire; a message over the maximum is refused by the sender, and from a hostile sender (huge
//! lengths, garbage, a close in the middle) the receiver errors without allocating the claimed
//! size, panicking or hanging.
#![cfg(target_os = "linux")]

mod support;

use ringpipe::{
    AnonymousPipeServer, MessageReader, MessageWriter, NamedPipeClient, NamedPipeServer,
    PipeDirection, PipeName, TransportOptions, DEFAULT_MAX_MESSAGE,
};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use support::child::{self, ChildProc};
use support::rng::{splitmix64, Rng};
use support::sockets::fresh_path;
use support::with_timeout;

/// Byte `i` of message `m`.
fn msg_byte(m: u64, i: usize) -> u8 {
    (splitmix64(m.wrapping_mul(0x1_0000_0001) ^ (i as u64 >> 3)) >> ((i & 7) * 8)) as u8
}

fn message(m: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| msg_byte(m, i)).collect()
}

/// The sizes of a test run: the edges, then random ones, one of 16 MiB.
fn sizes(seed: u64, n: usize) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut v = vec![
        0,
        1,
        2,
        3,
        4,
        5,
        4095,
        4096,
        4097,
        65_536,
        1 << 20,
        16 << 20,
        0,
        7,
    ];
    while v.len() < n {
        let len = match rng.below(4) {
            0 => rng.below(16),
            1 => rng.below(5000),
            2 => rng.below(200_000),
            _ => rng.below(2 << 20),
        };
        v.push(len);
    }
    v
}

/// A connected pair of named-pipe connections: (server side, client side).
fn named_pair() -> (ringpipe::NamedPipeStream, ringpipe::NamedPipeStream) {
    let path = fresh_path("pair");
    let server = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap();
    let client = NamedPipeClient::connect(PipeName::path(&path), &Default::default()).unwrap();
    (server.wait_for_connection().unwrap(), client)
}

/// Reads messages in parts of random sizes, checking bytes, boundaries and
/// `is_message_complete`; returns how many non-empty messages came (Read skips empty ones).
fn read_in_parts(reader: &mut MessageReader, sizes: &[usize], seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let mut buf = vec![0u8; 300_000];
    let mut count = 0;
    for (m, &len) in sizes.iter().enumerate() {
        if len == 0 {
            continue; // Read has no bytes to return for an empty message
        }
        let mut at = 0;
        while at < len {
            let want = match rng.below(3) {
                0 => rng.range(1, 8),
                1 => rng.range(1, 5000),
                _ => rng.range(1, buf.len()),
            };
            let n = reader.read(&mut buf[..want]).unwrap();
            assert!(n > 0, "message {m} ended early at {at} of {len}");
            assert!(at + n <= len, "a read crossed message {m}'s end");
            for (i, &b) in buf[..n].iter().enumerate() {
                assert_eq!(b, msg_byte(m as u64, at + i), "message {m} byte {}", at + i);
            }
            at += n;
            assert_eq!(
                reader.is_message_complete(),
                at == len,
                "message {m} at {at}"
            );
        }
        count += 1;
    }
    assert_eq!(reader.read(&mut buf).unwrap(), 0, "more than was sent");
    count
}

/// Reads whole messages, checking each.
fn read_whole(reader: &mut MessageReader, sizes: &[usize]) {
    for (m, &len) in sizes.iter().enumerate() {
        let ok = reader
            .read_message_blocking(|msg| {
                msg.len() == len
                    && msg
                        .chunks()
                        .flat_map(|c| c.iter())
                        .enumerate()
                        .all(|(i, &b)| b == msg_byte(m as u64, i))
            })
            .unwrap()
            .expect("a message, not the end");
        assert!(ok, "message {m} ({len} bytes) arrived wrong");
    }
    assert!(reader.read_message_blocking(|_| ()).unwrap().is_none());
}

#[test]
fn messages_of_every_size_arrive_whole_over_a_named_pipe() {
    with_timeout(|| {
        let sizes = sizes(1, 40);
        let (server, client) = named_pair();
        let (mut reader, _w, server_t) = server
            .into_message_duplex(TransportOptions::new(), DEFAULT_MAX_MESSAGE)
            .unwrap();
        let (_r, mut writer, client_t) = client
            .into_message_duplex(TransportOptions::new(), DEFAULT_MAX_MESSAGE)
            .unwrap();
        let s = sizes.clone();
        let sender = std::thread::spawn(move || {
            for (m, &len) in s.iter().enumerate() {
                writer.send_blocking(&message(m as u64, len)).unwrap();
            }
        }); // the writer drops: its end is completed, the socket shut down
        read_whole(&mut reader, &sizes);
        sender.join().unwrap();
        drop((reader, _w, _r));
        server_t.join().unwrap();
        client_t.join().unwrap();
    });
}

#[test]
fn messages_read_in_parts_with_random_buffers() {
    with_timeout(|| {
        let sizes = sizes(2, 60);
        let (server, client) = named_pair();
        // Parts need no pipe that holds a whole message: default options.
        let (end, server_t) = server.into_duplex(TransportOptions::new()).unwrap();
        let (input, _out) = end.into_parts();
        let mut reader = MessageReader::new(input, DEFAULT_MAX_MESSAGE);
        let (_r, mut writer, client_t) = client
            .into_message_duplex(TransportOptions::new(), DEFAULT_MAX_MESSAGE)
            .unwrap();
        let s = sizes.clone();
        let sender = std::thread::spawn(move || {
            for (m, &len) in s.iter().enumerate() {
                // Each Write::write is one message.
                assert_eq!(writer.write(&message(m as u64, len)).unwrap(), len);
            }
        });
        let nonempty = sizes.iter().filter(|&&l| l > 0).count();
        assert_eq!(read_in_parts(&mut reader, &sizes, 3), nonempty);
        sender.join().unwrap();
        drop((reader, _out, _r));
        server_t.join().unwrap();
        client_t.join().unwrap();
    });
}

/// The wire bytes of `sizes`' messages: a 4-byte little-endian length, then the bytes.
fn wire(sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for (m, &len) in sizes.iter().enumerate() {
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend(message(m as u64, len));
    }
    out
}

/// Writes `bytes` to `sock` in pieces of random sizes (the splits a network makes).
fn write_split(mut sock: UnixStream, bytes: &[u8], seed: u64) {
    let mut rng = Rng::new(seed);
    let mut at = 0;
    while at < bytes.len() {
        let n = rng.range(1, 70_000).min(bytes.len() - at);
        sock.write_all(&bytes[at..at + n]).unwrap();
        at += n;
        if rng.one_in(50) {
            std::thread::yield_now();
        }
    }
}

#[test]
fn messages_split_at_random_points_on_the_wire() {
    with_timeout(|| {
        for seed in 0..4 {
            let sizes = sizes(10 + seed, 30);
            let (server, client) = named_pair();
            let (mut reader, _w, t) = server
                .into_message_duplex(TransportOptions::new(), DEFAULT_MAX_MESSAGE)
                .unwrap();
            let bytes = wire(&sizes);
            let sock = client.as_unix_stream().try_clone().unwrap();
            drop(client);
            let sender = std::thread::spawn(move || write_split(sock, &bytes, seed));
            if seed % 2 == 0 {
                read_whole(&mut reader, &sizes);
            } else {
                read_in_parts(&mut reader, &sizes, seed);
            }
            sender.join().unwrap();
            drop((reader, _w));
            t.join().unwrap();
        }
    });
}

#[test]
fn the_sender_refuses_a_message_over_the_maximum_and_goes_on() {
    with_timeout(|| {
        let (server, client) = named_pair();
        let (mut reader, _w, t1) = server
            .into_message_duplex(TransportOptions::new(), 1000)
            .unwrap();
        let (_r, mut writer, t2) = client
            .into_message_duplex(TransportOptions::new(), 1000)
            .unwrap();
        let err = writer.send_blocking(&[0u8; 1001]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("1001"), "{err}");
        writer.send_blocking(&message(0, 1000)).unwrap();
        drop(writer);
        read_whole(&mut reader, &[1000]);
        drop((reader, _w, _r));
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// A receiver on a named pipe whose other side sends `bytes` raw and closes; what its first
/// whole-message reads come to.
fn receive_raw(bytes: Vec<u8>, max: usize, whole: bool) -> Result<usize, std::io::Error> {
    let (server, client) = named_pair();
    let (mut reader, _w, t) = server
        .into_message_duplex(TransportOptions::new(), max)
        .unwrap();
    let mut sock = client.as_unix_stream().try_clone().unwrap();
    drop(client);
    let sender = std::thread::spawn(move || {
        let _ = sock.write_all(&bytes);
    });
    let mut messages = 0;
    let result = loop {
        let r = if whole {
            reader
                .read_message_blocking(|m| m.len())
                .map(|o| o.map(|_| ()))
        } else {
            let mut buf = [0u8; 333];
            reader.read(&mut buf).map(|n| (n > 0).then_some(()))
        };
        match r {
            Ok(Some(())) => messages += 1,
            Ok(None) => break Ok(messages),
            Err(e) => break Err(e),
        }
    };
    sender.join().unwrap();
    drop((reader, _w));
    let _ = t.join();
    result
}

#[test]
fn a_hostile_sender_gets_errors_not_allocations_hangs_or_panics() {
    with_timeout(|| {
        for whole in [true, false] {
            // A length of 4 GiB - 1, far over the maximum: refused at once.
            let err = receive_raw(u32::MAX.to_le_bytes().to_vec(), DEFAULT_MAX_MESSAGE, whole)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
            assert!(err.to_string().contains("4294967295"), "{err}");
            // One byte over the maximum.
            let err = receive_raw(1001u32.to_le_bytes().to_vec(), 1000, whole).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
            // A close in the middle of a message, and in the middle of a prefix.
            let mut bytes = 100u32.to_le_bytes().to_vec();
            bytes.extend([1u8; 40]);
            let err = receive_raw(bytes, 1000, whole).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
            let err = receive_raw(vec![5, 0], 1000, whole).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
        }
        // Garbage: messages or a clear error, never a panic or a hang.
        let mut rng = Rng::new(99);
        for round in 0..40 {
            let len = rng.below(20_000);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            match receive_raw(bytes, 4096, round % 2 == 0) {
                Ok(_) => {}
                Err(e) => assert!(
                    matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::UnexpectedEof),
                    "round {round}: {e}"
                ),
            }
        }
    });
}

#[test]
fn child_main() {
    let Some(args) = child::role() else {
        return;
    };
    assert_eq!(args[0], "send-messages");
    let handle = &args[1];
    // SAFETY: the parent gave us this end for this use alone.
    let client =
        unsafe { ringpipe::AnonymousPipeClient::from_handle_string(handle, PipeDirection::Out) }
            .unwrap();
    let (writer, pump) = client.into_writer(Default::default()).unwrap();
    let mut writer = MessageWriter::new(writer, DEFAULT_MAX_MESSAGE);
    for (m, &len) in sizes(7, 30).iter().enumerate() {
        writer.send_blocking(&message(m as u64, len)).unwrap();
    }
    writer.get_mut().complete();
    drop(writer);
    pump.join().unwrap();
    child::say("sent");
}

#[test]
fn messages_from_a_child_over_an_anonymous_pipe() {
    with_timeout(|| {
        let mut server = AnonymousPipeServer::new(PipeDirection::In).unwrap();
        let handle = server.client_handle_string().unwrap();
        let mut cmd = child::command(&["send-messages", &handle]);
        server.inherit_client_handle(&mut cmd).unwrap();
        let mut c = ChildProc::start(cmd);
        server.dispose_local_copy_of_client_handle();
        let opts = ringpipe::message_pipe_options(&Default::default(), DEFAULT_MAX_MESSAGE);
        let (reader, pump) = server.into_reader(opts).unwrap();
        let mut reader = MessageReader::new(reader, DEFAULT_MAX_MESSAGE);
        read_whole(&mut reader, &sizes(7, 30));
        assert_eq!(c.line(), "sent");
        c.expect_success();
        drop(reader);
        pump.join().unwrap();
    });
}
