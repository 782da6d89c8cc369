//! The stream adapters over real files and real Unix socket pairs: a pipe fed from a file, a
//! pipe drained into a file and into a socket, a source's error passed to the reader with its
//! kind, a sink's error passed to the writer as `BrokenPipe`, pipe-to-pipe copies, and the tokio
//! forms over tokio's `UnixStream` and `File`. Every byte is checked.

mod support;

use ringpipe::{
    copy_from_reader, copy_to_blocking, copy_to_writer, drain_to_writer, fill_from_reader,
    pipe_from_reader, pipe_to_writer, PipeOptions, ReadError,
};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use support::{pattern, with_timeout, TempPath};

/// Small chunks, so every copy spans many chunks (and write_vectored gets several slices).
fn small() -> PipeOptions {
    PipeOptions::builder()
        .chunk_size(256)
        .capacity(4096)
        .build()
        .unwrap()
}

const BYTES: usize = if cfg!(miri) { 10_000 } else { 1 << 20 };

#[test]
fn a_pipe_fed_from_a_file() {
    with_timeout(|| {
        let path = TempPath::new("source");
        let data = pattern(BYTES);
        std::fs::write(&path.0, &data).unwrap();
        let (mut reader, feeder) = pipe_from_reader(File::open(&path.0).unwrap(), small());
        let mut got = Vec::new();
        Read::read_to_end(&mut reader, &mut got).unwrap();
        assert_eq!(got, data);
        assert_eq!(feeder.join().unwrap().unwrap(), BYTES as u64);
    });
}

#[test]
fn a_source_error_reaches_the_reader_with_its_kind() {
    with_timeout(|| {
        let path = TempPath::new("write-only");
        // Reading a file opened for writing only fails (EBADF): a real source error.
        let source = File::create(&path.0).unwrap();
        let expected_kind = (&source).read(&mut [0u8; 1]).unwrap_err().kind();
        let (writer, mut reader) = ringpipe::pipe(small());
        let e = fill_from_reader(source, writer).unwrap_err();
        assert_eq!(e.kind(), expected_kind);
        let read = Read::read(&mut reader, &mut [0u8; 8]).unwrap_err();
        assert_eq!(read.kind(), expected_kind, "the kind crosses the pipe");
        let inner = read.get_ref().unwrap().downcast_ref::<ReadError>().unwrap();
        assert!(matches!(inner, ReadError::WriterFailed(_)));
    });
}

#[test]
fn a_pipe_drained_into_a_file() {
    with_timeout(|| {
        let path = TempPath::new("sink");
        let data = pattern(BYTES);
        let (mut writer, drain) = pipe_to_writer(File::create(&path.0).unwrap(), small());
        for piece in data.chunks(1000) {
            writer.write_all_blocking(piece).unwrap();
        }
        drop(writer);
        assert_eq!(drain.join().unwrap().unwrap(), BYTES as u64);
        assert_eq!(std::fs::read(&path.0).unwrap(), data);
    });
}

#[test]
fn a_unix_socket_pair_through_pipes_both_ways() {
    with_timeout(|| {
        // socket -> pipe -> socket: copy_from_reader feeds a pipe from one end of a socket
        // pair, copy_to_writer drains it into another socket pair, read on its far end.
        let (mut src_near, mut src_far) = UnixStream::pair().unwrap();
        let (mut dst_near, mut dst_far) = UnixStream::pair().unwrap();
        let (mut writer, mut reader) = ringpipe::pipe(small());
        let data = pattern(BYTES);
        let expected = data.clone();
        let source = thread::spawn(move || {
            src_far.write_all(&data).unwrap();
        }); // src_far dropped: the source's end
        let feeder = thread::spawn(move || {
            let n = copy_from_reader(&mut src_near, &mut writer).unwrap();
            writer.complete();
            n
        });
        let drainer = thread::spawn(move || {
            let n = copy_to_writer(&mut reader, &mut dst_near).unwrap();
            dst_near.shutdown(std::net::Shutdown::Write).unwrap();
            n
        });
        let mut got = Vec::new();
        dst_far.read_to_end(&mut got).unwrap();
        assert_eq!(got, expected);
        source.join().unwrap();
        assert_eq!(feeder.join().unwrap(), BYTES as u64);
        assert_eq!(drainer.join().unwrap(), BYTES as u64);
    });
}

#[test]
fn a_sink_error_reaches_the_writer_as_broken_pipe() {
    with_timeout(|| {
        let (near, far) = UnixStream::pair().unwrap();
        drop(far); // writes to `near` fail with EPIPE (Rust ignores SIGPIPE)
        let (mut writer, reader) = ringpipe::pipe(small());
        writer.write_all_blocking(b"nobody reads this").unwrap();
        let e = drain_to_writer(reader, near).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe);
        let w = Write::write(&mut writer, b"more").unwrap_err();
        assert_eq!(w.kind(), ErrorKind::BrokenPipe);
        assert!(writer
            .write_all_blocking(b"x")
            .unwrap_err()
            .reader_error()
            .is_some());
    });
}

#[test]
fn pipe_to_pipe_copies_until_the_end() {
    with_timeout(|| {
        let (mut w1, mut r1) = ringpipe::pipe(small());
        let (mut w2, mut r2) = ringpipe::pipe(small());
        let data = pattern(BYTES);
        let expected = data.clone();
        let producer = thread::spawn(move || {
            for piece in data.chunks(777) {
                w1.write_all_blocking(piece).unwrap();
            }
        });
        let copier = thread::spawn(move || {
            let n = copy_to_blocking(&mut r1, &mut w2).unwrap();
            w2.complete();
            n
        });
        let mut got = Vec::new();
        Read::read_to_end(&mut r2, &mut got).unwrap();
        assert_eq!(got, expected);
        producer.join().unwrap();
        assert_eq!(copier.join().unwrap(), BYTES as u64);
    });
}

#[test]
fn pipe_to_pipe_stops_when_the_destination_reader_leaves() {
    with_timeout(|| {
        let (mut w1, mut r1) = ringpipe::pipe(small());
        let (mut w2, r2) = ringpipe::pipe(small());
        w1.write_all_blocking(b"some bytes").unwrap();
        drop(r2);
        assert_eq!(copy_to_blocking(&mut r1, &mut w2).unwrap(), 0);
        // The bytes the copy could not deliver are not consumed from the source.
        assert_eq!(r1.try_read().unwrap().unwrap().buffer().len(), 10);
    });
}

#[cfg(feature = "tokio")]
mod tokio_adapters {
    use super::{pattern, small, BYTES};
    use ringpipe::{copy_from_async_read, copy_to_async_write, drain_to_async_write};
    use ringpipe::{fill_from_async_read, PipeReader};
    use std::io::ErrorKind;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;

    fn run<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(20), tokio::spawn(f))
                    .await
                    .expect("hung")
                    .unwrap();
            });
    }

    #[test]
    fn a_unix_socket_pair_through_a_pipe() {
        run(async {
            let (mut src_near, mut src_far) = UnixStream::pair().unwrap();
            let (mut dst_near, mut dst_far) = UnixStream::pair().unwrap();
            let (mut writer, mut reader) = ringpipe::pipe(small());
            let data = pattern(BYTES);
            let expected = data.clone();
            let source = tokio::spawn(async move {
                src_far.write_all(&data).await.unwrap();
            });
            let feeder = tokio::spawn(async move {
                let n = copy_from_async_read(&mut src_near, &mut writer)
                    .await
                    .unwrap();
                writer.complete();
                n
            });
            let drainer = tokio::spawn(async move {
                let n = copy_to_async_write(&mut reader, &mut dst_near)
                    .await
                    .unwrap();
                dst_near.shutdown().await.unwrap();
                n
            });
            let mut got = Vec::new();
            dst_far.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, expected);
            source.await.unwrap();
            assert_eq!(feeder.await.unwrap(), BYTES as u64);
            assert_eq!(drainer.await.unwrap(), BYTES as u64);
        });
    }

    #[test]
    fn a_pipe_fed_from_a_tokio_file() {
        run(async {
            let path = super::TempPath::new("tokio-source");
            let data = pattern(BYTES);
            std::fs::write(&path.0, &data).unwrap();
            let file = tokio::fs::File::open(&path.0).await.unwrap();
            let (writer, mut reader): (_, PipeReader) = ringpipe::pipe(small());
            let feeder = tokio::spawn(fill_from_async_read(file, writer));
            let mut got = Vec::new();
            AsyncReadExt::read_to_end(&mut reader, &mut got)
                .await
                .unwrap();
            assert_eq!(got, data);
            assert_eq!(feeder.await.unwrap().unwrap(), BYTES as u64);
        });
    }

    #[test]
    fn a_failing_async_sink_completes_the_reader_with_its_error() {
        run(async {
            let (near, far) = UnixStream::pair().unwrap();
            drop(far);
            let (mut writer, reader) = ringpipe::pipe(small());
            writer.write_all(b"nobody reads this").await.unwrap();
            let e = drain_to_async_write(reader, near).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokenPipe);
            let w = AsyncWriteExt::write(&mut writer, b"more")
                .await
                .unwrap_err();
            assert_eq!(w.kind(), ErrorKind::BrokenPipe);
        });
    }
}
