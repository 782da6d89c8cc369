//! Duplex ends: both directions, each with its own options, split and put back together, and
//! dropping an end completes both of its halves (the other end reads the end of the stream,
//! and its writes find the reader gone).

mod support;

use ringpipe::{duplex, duplex_pair, DuplexEnd, PipeOptions};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::thread;
use support::{opts, pattern, private_pool, with_timeout};

#[test]
fn both_directions_carry_their_own_bytes() {
    let (mut a, mut b) = duplex_pair(PipeOptions::default());
    a.output().write_all_blocking(b"a to b").unwrap();
    b.output().write_all_blocking(b"b to a").unwrap();
    let mut buf = [0u8; 6];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"a to b");
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"b to a");
}

#[test]
fn each_direction_has_its_options() {
    let pool = private_pool(16, 8);
    let (a, b) = duplex(opts(64, &pool, 0, 0), opts(128, &pool, 0, 0));
    assert_eq!(a.output_ref().capacity(), 64);
    assert_eq!(b.input_ref().capacity(), 64);
    assert_eq!(b.output_ref().capacity(), 128);
    assert_eq!(a.input_ref().capacity(), 128);
}

#[test]
fn dropping_an_end_completes_both_of_its_halves() {
    let (mut a, mut b) = duplex_pair(PipeOptions::default());
    a.write_all(b"before the drop").unwrap();
    drop(a);
    // b's input: the bytes, then the end of the stream.
    let mut got = String::new();
    b.read_to_string(&mut got).unwrap();
    assert_eq!(got, "before the drop");
    assert!(b.input_ref().is_writer_completed());
    // b's output: the reader is gone.
    assert!(b.output_ref().is_reader_completed());
    assert_eq!(b.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    assert!(b.output().flush_blocking().unwrap().is_completed());
}

#[test]
fn complete_ends_both_directions() {
    let (mut a, mut b) = duplex_pair(PipeOptions::default());
    a.complete();
    assert!(a.input_ref().is_completed() && a.output_ref().is_completed());
    assert_eq!(b.read(&mut [0u8; 4]).unwrap(), 0);
    assert_eq!(b.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[test]
fn split_and_put_back_together() {
    let (a, mut b) = duplex_pair(PipeOptions::default());
    let (input, output) = a.into_parts();
    let mut a = DuplexEnd::from_parts(input, output);
    a.write_all(b"still connected").unwrap();
    let mut buf = [0u8; 15];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"still connected");
    let (input, output) = b.parts_mut();
    assert!(!input.is_completed() && !output.is_completed());
}

#[test]
fn an_echo_server_on_another_thread() {
    const LINES: usize = if cfg!(miri) { 20 } else { 5_000 };
    with_timeout(|| {
        let small = PipeOptions::builder()
            .chunk_size(64)
            .capacity(256)
            .build()
            .unwrap();
        let (client, server) = duplex_pair(small);
        let echo = thread::spawn(move || {
            let (input, mut output) = server.into_parts();
            let mut n = 0;
            for line in BufReader::new(input).lines() {
                writeln!(output, "{}", line.unwrap().to_uppercase()).unwrap();
                n += 1;
            }
            n
        });
        // The client writes on one thread and reads on another: real concurrency both ways.
        let (input, mut output) = client.into_parts();
        let writer = thread::spawn(move || {
            for i in 0..LINES {
                writeln!(output, "line {i} {}", pattern(i % 50).len()).unwrap();
            }
        }); // the output is dropped: the server's lines() ends, and so does its output
        let mut n = 0;
        for line in BufReader::new(input).lines() {
            assert_eq!(line.unwrap(), format!("LINE {n} {}", n % 50));
            n += 1;
        }
        assert_eq!(n, LINES);
        writer.join().unwrap();
        assert_eq!(echo.join().unwrap(), LINES);
    });
}
