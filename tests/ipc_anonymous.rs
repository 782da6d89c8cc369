//! Anonymous pipes to real child processes. The child is this test binary itself, run as
//! `<exe> --exact child_entry` with the environment naming its role and its handle string;
//! `child_entry` returns at once when that environment is absent (a normal test run).
//!
//! Covered: streams of several MiB parent → child and child → parent with every byte checked
//! by position (in the child for the first: it exits non-zero on a mismatch); the child
//! inheriting exactly one extra descriptor (its `/proc/self/fd` against a child spawned
//! without the handle, which holds stdio and what this process was started with); the parent's end of the stream when the child exits without writing,
//! and why the local copy must be disposed for it; the child's end of the stream when the
//! parent completes its writer; a child that exits while the parent writes (a broken pipe,
//! not a signal); a process with its stdin closed still never hands out 0, 1 or 2; spawning
//! after disposing fails instead of passing on another descriptor; hostile handle strings and
//! descriptors (garbage, out of range, standard streams, not open, a regular file, a
//! directory, a socket, the wrong end of a pipe) each refused with `InvalidInput` and a message
//! naming the problem, leaving the descriptor alone; `InOut` refused. With `tokio`: the async
//! pumps on both sides. Hang guards are generous (no timing is asserted): a child kills itself
//! after 120 s, a test gives up after 90 s.
#![cfg(target_os = "linux")]

mod support;

use ringpipe::{AnonymousPipeClient, AnonymousPipeServer, PipeDirection, PipeOptions};
use ringpipe::{PipeReader, PipeWriter};
use std::collections::BTreeSet;
use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::procfs::open_fds;
use support::sockets::stream_byte;

/// The environment that makes `child_entry` a child: its role, its handle string, and the
/// length of the stream it reads or writes.
const ROLE: &str = "RINGPIPE_TEST_ANON_ROLE";
const HANDLE: &str = "RINGPIPE_TEST_ANON_HANDLE";
const BYTES: &str = "RINGPIPE_TEST_ANON_BYTES";

/// Several MiB, an odd length (the last chunk is partial).
const STREAM: usize = (5 << 20) + 4099;

/// How long a test waits for its scenario and its child (a hang guard, not a timing bound).
const GUARD: Duration = Duration::from_secs(90);

/// Small chunks and a small ring, so a stream spans many chunks and backpressure engages.
fn small() -> PipeOptions {
    PipeOptions::builder()
        .chunk_size(4096)
        .capacity(64 * 1024)
        .build()
        .unwrap()
}

// ---- the child ----

/// A child's entry point; a no-op in a normal test run.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    // SAFETY: alarm only arms a timer. Its SIGALRM kills a child left waiting (by a parent that
    // failed without closing its end), so no test leaves a process behind for long.
    unsafe { libc::alarm(120) };
    let code = match run_child(&role) {
        Ok(()) => 0,
        Err(why) => {
            eprintln!("child {role}: {why}");
            3
        }
    };
    std::process::exit(code);
}

fn run_child(role: &str) -> Result<(), String> {
    let bytes: usize = std::env::var(BYTES)
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0);
    match role {
        "read" => {
            let (mut reader, pump) = open_client(PipeDirection::In)?
                .into_reader(small())
                .map_err(|e| e.to_string())?;
            check_stream(&mut reader, bytes)?;
            drop(reader);
            let moved = pump.join().map_err(|e| format!("pump: {e}"))?;
            expect_eq(moved, bytes as u64, "bytes pumped")
        }
        "write" => {
            let (mut writer, pump) = open_client(PipeDirection::Out)?
                .into_writer(small())
                .map_err(|e| e.to_string())?;
            write_stream(&mut writer, bytes)?;
            writer.complete();
            let moved = pump.join().map_err(|e| format!("pump: {e}"))?;
            expect_eq(moved, bytes as u64, "bytes pumped")
        }
        #[cfg(feature = "tokio")]
        "read-async" => {
            let client = open_client(PipeDirection::In)?;
            current_thread().block_on(async move {
                let (mut reader, pump) = client
                    .into_async_reader(small())
                    .map_err(|e| e.to_string())?;
                let pump = tokio::spawn(pump);
                check_stream_async(&mut reader, bytes).await?;
                drop(reader);
                let moved = pump.await.unwrap().map_err(|e| format!("pump: {e}"))?;
                expect_eq(moved, bytes as u64, "bytes pumped")
            })
        }
        #[cfg(feature = "tokio")]
        "write-async" => {
            let client = open_client(PipeDirection::Out)?;
            current_thread().block_on(async move {
                let (mut writer, pump) = client
                    .into_async_writer(small())
                    .map_err(|e| e.to_string())?;
                let pump = tokio::spawn(pump);
                write_stream_async(&mut writer, bytes).await?;
                writer.complete();
                let moved = pump.await.unwrap().map_err(|e| format!("pump: {e}"))?;
                expect_eq(moved, bytes as u64, "bytes pumped")
            })
        }
        // Exits at once, without touching its end.
        "exit" => Ok(()),
        "fds" => {
            let fds: Vec<String> = open_fds().iter().map(|fd| fd.to_string()).collect();
            println!("FDS {}", fds.join(","));
            Ok(())
        }
        "closed-stdin" => closed_stdin(),
        other => Err(format!("unknown role {other:?}")),
    }
}

/// The client end the parent named in the environment.
fn open_client(direction: PipeDirection) -> Result<AnonymousPipeClient, String> {
    let handle = std::env::var(HANDLE).map_err(|_| format!("{HANDLE} is not set"))?;
    // SAFETY: the parent passed this end to this process for this client, and it is taken
    // once, here.
    unsafe { AnonymousPipeClient::from_handle_string(&handle, direction) }
        .map_err(|e| format!("opening handle {handle:?}: {e}"))
}

/// In a process whose stdin is closed, a new pipe's ends (the lowest free number would be 0)
/// are numbered 3 or above, and stdin stays closed.
fn closed_stdin() -> Result<(), String> {
    // SAFETY: this process is a child of its own; nothing in it uses stdin.
    unsafe { libc::close(0) };
    let server = AnonymousPipeServer::new(PipeDirection::Out).map_err(|e| e.to_string())?;
    let client: RawFd = server.client_handle_string().unwrap().parse().unwrap();
    let end = server.as_fd().as_raw_fd();
    if client < 3 || end < 3 {
        return Err(format!("ends numbered {end} and {client}"));
    }
    // SAFETY: F_GETFD on a descriptor number; it only reports.
    if unsafe { libc::fcntl(0, libc::F_GETFD) } != -1 {
        return Err("descriptor 0 was reopened".into());
    }
    Ok(())
}

fn expect_eq(got: u64, want: u64, what: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got}, expected {want}"))
    }
}

// ---- the streams ----

/// Reads the stream to its end, checking every byte by position and the length.
fn check_stream(reader: &mut PipeReader, expect: usize) -> Result<(), String> {
    let mut pos = 0;
    loop {
        let res = reader.read_blocking().map_err(|e| format!("read: {e}"))?;
        let buf = res.buffer();
        check_chunks(buf.chunks(), &mut pos, expect)?;
        let (end, done) = (buf.end(), res.is_completed());
        reader.advance_to(end, end).unwrap();
        if done {
            return expect_eq(pos as u64, expect as u64, "stream length");
        }
    }
}

fn check_chunks<'a>(
    chunks: impl Iterator<Item = &'a [u8]>,
    pos: &mut usize,
    expect: usize,
) -> Result<(), String> {
    for chunk in chunks {
        for &b in chunk {
            if *pos >= expect {
                return Err(format!("more than the {expect} bytes expected"));
            }
            if b != stream_byte(*pos) {
                return Err(format!(
                    "byte {} is {b:#04x}, expected {:#04x}",
                    *pos,
                    stream_byte(*pos)
                ));
            }
            *pos += 1;
        }
    }
    Ok(())
}

/// Writes the first `n` bytes of the stream straight into the writer's memory, in pieces of
/// varying sizes, flushing after each.
fn write_stream(writer: &mut PipeWriter, n: usize) -> Result<(), String> {
    let mut pos = 0;
    let mut piece = 1;
    while pos < n {
        let mem = writer
            .get_memory_blocking(1)
            .map_err(|e| format!("get_memory: {e}"))?;
        let len = mem.len().min(piece).min(n - pos);
        fill(&mut mem[..len], pos);
        writer.advance(len);
        pos += len;
        piece = piece * 7 % 10_007 + 1;
        let f = writer.flush_blocking().map_err(|e| format!("flush: {e}"))?;
        if f.is_completed() {
            return Err(format!("the reader completed after {pos} bytes"));
        }
    }
    Ok(())
}

fn fill(mem: &mut [u8], from: usize) {
    for (i, b) in mem.iter_mut().enumerate() {
        *b = stream_byte(from + i);
    }
}

// ---- the parent ----

/// A child of this test binary in `role`, with its stdio captured.
fn child(role: &str, handle: Option<&str>, bytes: usize) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_entry",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(ROLE, role)
    .env(BYTES, bytes.to_string())
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(handle) = handle {
        cmd.env(HANDLE, handle);
    }
    cmd
}

/// A spawned child, waited for on a thread of its own.
struct Running {
    pid: libc::pid_t,
    done: mpsc::Receiver<io::Result<Output>>,
}

fn spawn(cmd: &mut Command) -> Running {
    let child = cmd.spawn().expect("spawn the child");
    let pid = child.id() as libc::pid_t;
    let (tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    Running { pid, done }
}

impl Running {
    /// Waits for the child to exit; kills it (by its id) and fails after [`GUARD`].
    fn finish(self) -> Output {
        match self.done.recv_timeout(GUARD) {
            Ok(out) => out.expect("wait for the child"),
            Err(_) => {
                // SAFETY: kill sends a signal to the child this test spawned, which has not
                // been reaped (its waiter has not returned).
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                panic!("the child hung for {GUARD:?}");
            }
        }
    }

    /// Waits for the child and fails unless it exited with status 0.
    fn success(self) -> Output {
        let out = self.finish();
        assert!(
            out.status.success(),
            "the child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// Runs `f` on another thread and fails if it does not finish within [`GUARD`].
fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(GUARD) {
        Ok(v) => {
            thread.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the scenario ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the scenario hung for {GUARD:?}"),
    }
}

/// A server of `direction` and a child in `role` that inherits its client end (the local copy
/// is disposed once the child runs).
fn with_child(
    direction: PipeDirection,
    role: &str,
    bytes: usize,
) -> (AnonymousPipeServer, Running) {
    let mut server = AnonymousPipeServer::new(direction).unwrap();
    let handle = server.client_handle_string().unwrap();
    let mut cmd = child(role, Some(&handle), bytes);
    server.inherit_client_handle(&mut cmd).unwrap();
    let running = spawn(&mut cmd);
    server.dispose_local_copy_of_client_handle();
    (server, running)
}

#[test]
fn parent_to_child_stream_checked_by_the_child() {
    guarded(|| {
        let (server, child) = with_child(PipeDirection::Out, "read", STREAM);
        let (mut writer, pump) = server.into_writer(small()).unwrap();
        write_stream(&mut writer, STREAM).unwrap();
        writer.complete(); // the child reads the end of the stream after the last byte
        assert_eq!(pump.join().unwrap(), STREAM as u64);
        child.success();
    });
}

#[test]
fn child_to_parent_stream_checked_by_the_parent() {
    guarded(|| {
        let (server, child) = with_child(PipeDirection::In, "write", STREAM);
        let (mut reader, pump) = server.into_reader(small()).unwrap();
        check_stream(&mut reader, STREAM).unwrap();
        assert_eq!(pump.join().unwrap(), STREAM as u64);
        child.success();
    });
}

/// What a child in role `fds` printed: the descriptors open in it.
fn child_fds(out: &Output) -> BTreeSet<RawFd> {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("FDS "))
        .unwrap_or_else(|| panic!("no FDS line in the child's output: {text}"));
    line.split(',').map(|fd| fd.parse().unwrap()).collect()
}

/// The descriptors open in this process without close-on-exec: what every child inherits
/// (those this process was started with; the library and std open everything close-on-exec).
fn inheritable_here() -> BTreeSet<RawFd> {
    open_fds()
        .into_iter()
        // SAFETY: F_GETFD only reports; a descriptor closed meanwhile gives -1 and is left out.
        .filter(|&fd| matches!(unsafe { libc::fcntl(fd, libc::F_GETFD) }, f if f >= 0 && f & libc::FD_CLOEXEC == 0))
        .collect()
}

#[test]
fn the_child_inherits_exactly_the_client_end() {
    guarded(|| {
        for direction in [PipeDirection::Out, PipeDirection::In] {
            let mut server = AnonymousPipeServer::new(direction).unwrap();
            let handle = server.client_handle_string().unwrap();
            let client: RawFd = handle.parse().unwrap();
            let end = server.as_fd().as_raw_fd();

            // A child spawned while the pipe exists, without the handle: neither end.
            let without = child_fds(&spawn(&mut child("fds", None, 0)).success());
            let mut cmd = child("fds", Some(&handle), 0);
            server.inherit_client_handle(&mut cmd).unwrap();
            let with = child_fds(&spawn(&mut cmd).success());
            server.dispose_local_copy_of_client_handle();

            // Stdin, stdout and stderr, and whatever this test process itself was started
            // with and may pass on (descriptors without close-on-exec: none of ours).
            let mut inherited = inheritable_here();
            inherited.extend([0, 1, 2]);
            assert_eq!(
                without, inherited,
                "a child spawned without the handle holds stdio and what this process inherited"
            );
            let mut expected = without.clone();
            expected.insert(client);
            assert_eq!(
                with, expected,
                "exactly one extra descriptor, the client end"
            );
            assert!(!with.contains(&end), "the server end stays in the parent");
        }
    });
}

#[test]
fn the_parent_reads_the_end_of_the_stream_when_the_child_exits_without_writing() {
    guarded(|| {
        let (server, child) = with_child(PipeDirection::In, "exit", 0);
        let (mut reader, pump) = server.into_reader(small()).unwrap();
        {
            let res = reader.read_blocking().unwrap();
            assert!(res.is_completed(), "the end of the stream");
            assert!(res.buffer().is_empty());
        }
        assert_eq!(pump.join().unwrap(), 0);
        child.success();
    });
}

/// Why the local copy must go: while the parent holds the client (write) end, the child's exit
/// is not the end of the stream; once disposed, it is.
#[test]
fn the_local_copy_of_the_client_end_holds_the_stream_open_until_disposed() {
    guarded(|| {
        let mut server = AnonymousPipeServer::new(PipeDirection::In).unwrap();
        let handle = server.client_handle_string().unwrap();
        let mut cmd = child("exit", Some(&handle), 0);
        server.inherit_client_handle(&mut cmd).unwrap();
        spawn(&mut cmd).success(); // the child has exited

        // A copy of the server's read end, made non-blocking to look without waiting.
        let look: OwnedFd = server.as_fd().try_clone_to_owned().unwrap();
        let set_flags = |flags: libc::c_int| {
            // SAFETY: F_SETFL on a descriptor this test owns.
            assert_ne!(
                unsafe { libc::fcntl(look.as_raw_fd(), libc::F_SETFL, flags) },
                -1
            );
        };
        set_flags(libc::O_NONBLOCK);
        let read = |fd: &OwnedFd| {
            let mut byte = 0u8;
            // SAFETY: a one-byte read into a byte of ours, from a descriptor this test owns.
            let n = unsafe { libc::read(fd.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
            if n < 0 {
                Err(io::Error::last_os_error().kind())
            } else {
                Ok(n)
            }
        };
        assert_eq!(
            read(&look),
            Err(ErrorKind::WouldBlock),
            "no end of stream yet"
        );
        server.dispose_local_copy_of_client_handle();
        // Blocking now: a child that another test forks meanwhile holds a copy of every
        // descriptor until it execs (close-on-exec closes them then), so the end of the stream
        // may come a moment after the dispose.
        set_flags(0);
        assert_eq!(read(&look), Ok(0), "the end of the stream");
    });
}

#[test]
fn the_child_reads_the_end_of_the_stream_when_the_parent_completes() {
    guarded(|| {
        let (server, child) = with_child(PipeDirection::Out, "read", 0);
        let (mut writer, pump) = server.into_writer(small()).unwrap();
        writer.complete();
        assert_eq!(pump.join().unwrap(), 0);
        child.success(); // it read the end of the stream, with no byte before it
    });
}

#[test]
fn a_child_that_exits_while_the_parent_writes_is_a_broken_pipe() {
    guarded(|| {
        let (server, child) = with_child(PipeDirection::Out, "exit", 0);
        let (mut writer, pump) = server.into_writer(small()).unwrap();
        // More than the OS pipe and the ring hold: the writes fail once the child is gone.
        let piece = vec![7u8; 64 * 1024];
        let err = loop {
            match writer.write_all_blocking(&piece) {
                Ok(f) => assert!(!f.is_completed(), "completed without the child's error"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.io_kind(), ErrorKind::BrokenPipe, "{err}");
        assert!(err.to_string().contains("Broken pipe"), "{err}");
        let pumped = pump.join().expect_err("the pump's write fails");
        assert_eq!(pumped.kind(), ErrorKind::BrokenPipe, "{pumped}");
        child.success();
    });
}

#[test]
fn stdin_closed_the_ends_are_never_standard_streams() {
    guarded(|| {
        spawn(&mut child("closed-stdin", None, 0)).success();
    });
}

#[test]
fn spawning_after_the_local_copy_is_gone_fails() {
    guarded(|| {
        let mut server = AnonymousPipeServer::new(PipeDirection::Out).unwrap();
        let handle = server.client_handle_string().unwrap();
        let mut cmd = child("fds", Some(&handle), 0);
        server.inherit_client_handle(&mut cmd).unwrap();
        server.dispose_local_copy_of_client_handle();
        let err = cmd.spawn().expect_err("the client end is closed");
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");

        let err = server.client_handle_string().expect_err("disposed");
        assert!(err.to_string().contains("disposed"), "{err}");
        let err = server
            .inherit_client_handle(&mut cmd)
            .expect_err("disposed");
        assert!(err.to_string().contains("disposed"), "{err}");
        assert!(server.client_handle().is_err());
    });
}

/// `from_handle_string` on `handle`, which must be refused with `InvalidInput` and a message
/// containing `says`.
fn refused(handle: &str, direction: PipeDirection, says: &str) {
    // SAFETY: every handle given here fails the checks (none names an open pipe end of
    // `direction`), so none is taken.
    let err =
        unsafe { AnonymousPipeClient::from_handle_string(handle, direction) }.expect_err(handle);
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{handle:?}: {err}");
    let msg = err.to_string();
    assert!(
        msg.contains(says),
        "{handle:?}: {msg:?} should say {says:?}"
    );
}

#[test]
fn garbage_handle_strings_are_refused() {
    let dir = PipeDirection::In;
    refused("", dir, "empty");
    for garbage in [
        "abc", "-1", "+5", " 5", "5 ", "5\n", "0x10", "1e3", "٣", "5;rm",
    ] {
        refused(garbage, dir, "not a descriptor number");
    }
    refused("007", dir, "leading zeros");
    for big in ["99999999999", "2147483648", "4294967299"] {
        refused(big, dir, "out of a descriptor's range");
    }
    let long = "9".repeat(1 << 20);
    refused(&long, dir, "out of a descriptor's range");
    for stdio in ["0", "1", "2"] {
        refused(stdio, dir, "standard stream");
    }
    // Within range but not open (beyond any descriptor this process opens).
    refused("2147483647", dir, "not open");
    refused("1000000", dir, "not open");
}

/// A raw pipe made by the test: (read end, write end), both close-on-exec.
fn raw_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are new descriptors this test owns.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Whether `fd` is open, and its descriptor flags (close-on-exec), unchanged by a refusal.
fn fd_flags(fd: RawFd) -> libc::c_int {
    // SAFETY: F_GETFD on a descriptor this test owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    assert_ne!(flags, -1, "descriptor {fd} is still open");
    flags
}

#[test]
fn descriptors_that_are_not_the_right_pipe_end_are_refused_and_left_alone() {
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let dir = std::fs::File::open("/").unwrap();
    let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let (read, write) = raw_pipe();
    let cases: [(RawFd, PipeDirection, &str); 6] = [
        (
            file.as_raw_fd(),
            PipeDirection::In,
            "is a regular file, not a pipe",
        ),
        (
            dir.as_raw_fd(),
            PipeDirection::Out,
            "is a directory, not a pipe",
        ),
        (
            socket.as_raw_fd(),
            PipeDirection::In,
            "is a socket, not a pipe",
        ),
        (
            socket.as_raw_fd(),
            PipeDirection::Out,
            "is a socket, not a pipe",
        ),
        (
            read.as_raw_fd(),
            PipeDirection::Out,
            "is the read end of a pipe, but PipeDirection::Out needs the write end",
        ),
        (
            write.as_raw_fd(),
            PipeDirection::In,
            "is the write end of a pipe, but PipeDirection::In needs the read end",
        ),
    ];
    for (fd, direction, says) in cases {
        let before = fd_flags(fd);
        refused(&fd.to_string(), direction, says);
        assert_eq!(fd_flags(fd), before, "descriptor {fd} left as it was");
    }

    // The safe form refuses the same, closing what it was given.
    let err = AnonymousPipeClient::from_owned_fd(OwnedFd::from(socket), PipeDirection::In)
        .expect_err("a socket");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = AnonymousPipeClient::from_owned_fd(read, PipeDirection::Out).expect_err("read end");
    assert!(err.to_string().contains("read end"), "{err}");
    // And takes the right end.
    let client = AnonymousPipeClient::from_owned_fd(write, PipeDirection::Out).unwrap();
    assert_eq!(client.direction(), PipeDirection::Out);
    assert!(fd_flags(client.as_fd().as_raw_fd()) & libc::FD_CLOEXEC != 0);
}

#[test]
fn in_out_and_the_wrong_conversions_are_refused() {
    let err = AnonymousPipeServer::new(PipeDirection::InOut).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("one-way"), "{err}");
    refused("7", PipeDirection::InOut, "one-way");

    let server = AnonymousPipeServer::new(PipeDirection::In).unwrap();
    let err = server.into_writer(small()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("into_writer"), "{err}");
    let server = AnonymousPipeServer::new(PipeDirection::Out).unwrap();
    let err = server.into_reader(small()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let (_read, write) = raw_pipe();
    let client = AnonymousPipeClient::from_owned_fd(write, PipeDirection::Out).unwrap();
    let err = client.into_reader(small()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn the_buffer_size_can_be_raised() {
    let server = AnonymousPipeServer::new(PipeDirection::Out).unwrap();
    assert!(server.buffer_size().unwrap() > 0);
    let set = server.set_buffer_size(200 * 1024).unwrap();
    assert!(set >= 200 * 1024, "{set}");
    assert_eq!(server.buffer_size().unwrap(), set);
    let err = server.set_buffer_size(usize::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

// ---- tokio ----

#[cfg(feature = "tokio")]
fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[cfg(feature = "tokio")]
async fn check_stream_async(reader: &mut PipeReader, expect: usize) -> Result<(), String> {
    let mut pos = 0;
    loop {
        let res = reader.read().await.map_err(|e| format!("read: {e}"))?;
        let buf = res.buffer();
        check_chunks(buf.chunks(), &mut pos, expect)?;
        let (end, done) = (buf.end(), res.is_completed());
        reader.advance_to(end, end).unwrap();
        if done {
            return expect_eq(pos as u64, expect as u64, "stream length");
        }
    }
}

#[cfg(feature = "tokio")]
async fn write_stream_async(writer: &mut PipeWriter, n: usize) -> Result<(), String> {
    let mut piece = vec![0; 10_007];
    let mut pos = 0;
    let mut len = 1;
    while pos < n {
        let len_now = len.min(n - pos);
        fill(&mut piece[..len_now], pos);
        let f = writer
            .write_all(&piece[..len_now])
            .await
            .map_err(|e| format!("write_all: {e}"))?;
        if f.is_completed() {
            return Err(format!("the reader completed after {pos} bytes"));
        }
        pos += len_now;
        len = len * 7 % 10_007 + 1;
    }
    Ok(())
}

#[cfg(feature = "tokio")]
#[test]
fn async_pumps_both_ways() {
    guarded(|| {
        for flavour in ["current_thread", "multi_thread"] {
            let rt = if flavour == "current_thread" {
                current_thread()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap()
            };
            rt.block_on(async {
                // Parent → child, the child's pump async too.
                let (server, child) = with_child(PipeDirection::Out, "read-async", STREAM);
                let (mut writer, pump) = server.into_async_writer(small()).unwrap();
                let pump = tokio::spawn(pump);
                write_stream_async(&mut writer, STREAM).await.unwrap();
                writer.complete();
                assert_eq!(pump.await.unwrap().unwrap(), STREAM as u64);
                tokio::task::spawn_blocking(|| child.success())
                    .await
                    .unwrap();

                // Child → parent.
                let (server, child) = with_child(PipeDirection::In, "write-async", STREAM);
                let (mut reader, pump) = server.into_async_reader(small()).unwrap();
                let pump = tokio::spawn(pump);
                check_stream_async(&mut reader, STREAM).await.unwrap();
                assert_eq!(pump.await.unwrap().unwrap(), STREAM as u64);
                tokio::task::spawn_blocking(|| child.success())
                    .await
                    .unwrap();
            });
        }
    });
}
