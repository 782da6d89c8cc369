//! Named pipes with real processes and sockets: servers and clients in separate processes,
//! streams both ways with every byte checked, a client waiting for a server that starts
//! later (without spinning: its CPU time is measured), the timeout honoured (also against a
//! backlog that accepts but never serves), hijack attempts against a live server, a stale
//! socket reclaimed after its server was killed with SIGKILL, a non-socket file left
//! untouched, two servers racing for one stale name, the file mode under umask 0, peers of
//! another user refused both ways, instance slots counted across processes, 100 concurrent
//! clients, and a client no one here wrote (Python's socket module).
#![cfg(target_os = "linux")]

mod support;

use ringpipe::{
    is_all_instances_busy, NamedPipeClient, NamedPipeClientOptions, NamedPipeServer,
    NamedPipeServerOptions, NamedPipeStream, PipeDirection, PipeName, TransportOptions,
};
use std::io::{ErrorKind, Read, Write};
use std::num::NonZeroUsize;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::child::{self, ChildProc};
use support::sockets::{fresh_path, stream_byte};
use support::with_timeout;

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) },
        0
    );
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Writes `len` bytes of the position pattern and reads them back, checking each.
fn echo_check(stream: &mut NamedPipeStream, len: usize) {
    let data: Vec<u8> = (0..len).map(stream_byte).collect();
    let mut writer = stream.as_unix_stream().try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        for piece in data.chunks(7919) {
            writer.write_all(piece).unwrap();
        }
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    sender.join().unwrap();
    assert_eq!(got.len(), len);
    for (i, &b) in got.iter().enumerate() {
        assert_eq!(b, stream_byte(i), "byte {i}");
    }
}

/// Serves one connection as an echo through the ringpipe duplex end (reads land in pipe
/// memory), until the client's end of stream.
fn serve_echo(conn: NamedPipeStream) {
    let (end, transport) = conn.into_duplex(TransportOptions::new()).unwrap();
    let (mut input, mut output) = end.into_parts();
    ringpipe::copy_to_blocking(&mut input, &mut output).unwrap();
    drop((input, output));
    transport.join().unwrap();
}

/// The roles a child process plays (see tests/support/child.rs).
#[test]
fn child_main() {
    let Some(args) = child::role() else {
        return;
    };
    let path = PathBuf::from(&args[1]);
    match args[0].as_str() {
        // Binds, says so, and serves echoes until killed.
        "serve" => {
            let server = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap();
            child::say("ready");
            loop {
                let conn = server.wait_for_connection().unwrap();
                std::thread::spawn(move || serve_echo(conn));
            }
        }
        // Tries to bind once and says how it went; holds the name a while if it won.
        "bind" => match NamedPipeServer::bind(PipeName::path(&path), Default::default()) {
            Ok(_server) => {
                child::say("ok");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => child::say(&format!("err {:?}", e.kind())),
        },
        // Binds with umask 0 and reports the socket file's mode.
        "umask0" => {
            // SAFETY: umask has no memory effects; this process is single-purpose.
            unsafe { libc::umask(0) };
            let _server = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            child::say(&format!("{mode:o}"));
        }
        // A client: waits for the server, streams through it, checks the echo.
        "client" => {
            let len: usize = args[2].parse().unwrap();
            let mut conn = NamedPipeClient::connect_timeout(
                PipeName::path(&path),
                &Default::default(),
                Duration::from_secs(20),
            )
            .unwrap();
            echo_check(&mut conn, len);
            child::say("done");
        }
        // A client of another user: connects with or without its own check; reports.
        "stranger" => {
            let opts = NamedPipeClientOptions::new().current_user_only(args[2] == "check");
            match NamedPipeClient::connect(PipeName::path(&path), &opts) {
                Ok(mut conn) => {
                    let mut b = [0u8; 1];
                    // The server refuses us: it closes the connection.
                    let n = conn.read(&mut b).unwrap_or(0);
                    child::say(&format!("connected {n}"));
                }
                Err(e) => child::say(&format!("err {:?}", e.kind())),
            }
        }
        // Serves the parent's listening socket with the same instance limit; reports what a
        // wait for a connection says while the parent holds every slot, then after.
        "shared" => {
            let opts = NamedPipeServerOptions::new().max_instances(NonZeroUsize::new(1).unwrap());
            let handle = std::env::var("RINGPIPE_TEST_HANDLE").unwrap();
            // SAFETY: the parent gave us this descriptor for this use alone.
            let server =
                unsafe { NamedPipeServer::from_inherited(&handle, PipeName::path(&path), opts) }
                    .unwrap();
            match server.wait_for_connection() {
                Err(e) if is_all_instances_busy(&e) => child::say("busy"),
                other => child::say(&format!("unexpected {:?}", other.map(|_| ()))),
            }
            // The parent frees its slot and a client connects: served here.
            let line = std::io::stdin().lines().next().unwrap().unwrap();
            assert_eq!(line, "go");
            let conn = server.wait_for_connection().unwrap();
            child::say("accepted");
            serve_echo(conn);
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_server_and_a_client_in_two_processes_stream_both_ways() {
    with_timeout(|| {
        let path = fresh_path("two-procs");
        let server = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap();
        let client = ChildProc::start(child::command(&[
            "client",
            path.to_str().unwrap(),
            "3000000",
        ]));
        let conn = server.wait_for_connection().unwrap();
        let peer = conn.peer_credentials();
        assert_eq!(peer.pid as u32, client.child.id());
        assert_eq!(peer.uid, unsafe { libc::geteuid() });
        serve_echo(conn);
        let mut client = client;
        assert_eq!(client.line(), "done");
        client.expect_success();
        drop(server);
        assert!(!path.exists(), "the server left its socket file behind");
    });
}

#[test]
fn a_client_waits_for_a_server_that_starts_later_without_spinning() {
    with_timeout(|| {
        let path = fresh_path("later");
        let p = path.clone();
        let starter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            let server = NamedPipeServer::bind(PipeName::path(&p), Default::default()).unwrap();
            let conn = server.wait_for_connection().unwrap();
            serve_echo(conn);
        });
        let cpu = thread_cpu();
        let t = Instant::now();
        let mut conn = NamedPipeClient::connect_timeout(
            PipeName::path(&path),
            &Default::default(),
            Duration::from_secs(20),
        )
        .unwrap();
        let (waited, spent) = (t.elapsed(), thread_cpu() - cpu);
        assert!(
            waited >= Duration::from_millis(600),
            "connected after {waited:?}"
        );
        // Under 1% of a core while waiting (a spinning wait would spend all of it).
        assert!(spent < waited / 100, "{spent:?} of CPU over {waited:?}");
        echo_check(&mut conn, 100_000);
        starter.join().unwrap();
    });
}

#[test]
fn a_missing_server_times_out_on_time_without_spinning() {
    with_timeout(|| {
        for name in [
            PipeName::path(fresh_path("missing")),
            PipeName::abstract_name(format!("ringpipe-test-missing-{}", std::process::id())),
        ] {
            let cpu = thread_cpu();
            let t = Instant::now();
            let err = NamedPipeClient::connect_timeout(
                name.clone(),
                &Default::default(),
                Duration::from_millis(400),
            )
            .unwrap_err();
            let (waited, spent) = (t.elapsed(), thread_cpu() - cpu);
            assert_eq!(err.kind(), ErrorKind::TimedOut, "{name:?}: {err}");
            assert!(waited >= Duration::from_millis(400), "{name:?}: {waited:?}");
            // Generous for a loaded machine; the wait itself ends on time.
            assert!(waited < Duration::from_millis(1400), "{name:?}: {waited:?}");
            assert!(
                spent < Duration::from_millis(40),
                "{name:?}: {spent:?} of CPU"
            );
        }
    });
}

#[test]
fn a_backlog_that_accepts_but_never_serves_cannot_hold_a_client_past_its_timeout() {
    with_timeout(|| {
        let path = fresh_path("backlog");
        let _server = NamedPipeServer::bind(
            PipeName::path(&path),
            NamedPipeServerOptions::new().backlog(1),
        )
        .unwrap();
        // Fill the backlog: connections complete until it is full; nobody accepts them.
        let mut held = Vec::new();
        let err = loop {
            match NamedPipeClient::connect_timeout(
                PipeName::path(&path),
                &Default::default(),
                Duration::from_millis(100),
            ) {
                Ok(c) => held.push(c),
                Err(e) => break e,
            }
            assert!(held.len() < 64, "the backlog never filled");
        };
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        let t = Instant::now();
        let err = NamedPipeClient::connect_timeout(
            PipeName::path(&path),
            &Default::default(),
            Duration::from_millis(300),
        )
        .unwrap_err();
        let waited = t.elapsed();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(waited >= Duration::from_millis(290), "{waited:?}");
        assert!(waited < Duration::from_millis(1300), "{waited:?}");
    });
}

#[test]
fn a_live_server_cannot_be_hijacked_from_another_process() {
    with_timeout(|| {
        let path = fresh_path("hijack");
        let mut owner = ChildProc::start(child::command(&["serve", path.to_str().unwrap()]));
        assert_eq!(owner.line(), "ready");
        // Another process, and this one, both fail to take the name.
        let mut thief = ChildProc::start(child::command(&["bind", path.to_str().unwrap()]));
        assert_eq!(thief.line(), "err AddrInUse");
        thief.expect_success();
        let err = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        // The owner still serves.
        let mut conn =
            NamedPipeClient::connect(PipeName::path(&path), &Default::default()).unwrap();
        echo_check(&mut conn, 10_000);
        owner.kill();
    });
}

#[test]
fn a_stale_socket_is_reclaimed_after_its_server_is_killed() {
    with_timeout(|| {
        let path = fresh_path("stale");
        let mut owner = ChildProc::start(child::command(&["serve", path.to_str().unwrap()]));
        assert_eq!(owner.line(), "ready");
        owner.kill(); // SIGKILL: no clean-up ran
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_socket());
        let err = NamedPipeClient::connect(PipeName::path(&path), &Default::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let server = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap();
        let client = std::thread::spawn({
            let path = path.clone();
            move || {
                let mut c =
                    NamedPipeClient::connect(PipeName::path(&path), &Default::default()).unwrap();
                echo_check(&mut c, 10_000);
            }
        });
        serve_echo(server.wait_for_connection().unwrap());
        client.join().unwrap();
    });
}

#[test]
fn a_file_that_is_not_a_socket_is_never_touched() {
    let path = fresh_path("regular");
    std::fs::write(&path, b"precious").unwrap();
    let err = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    let dir = fresh_path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let err = NamedPipeServer::bind(PipeName::path(&dir), Default::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert!(dir.is_dir());
}

#[test]
fn two_servers_racing_for_one_stale_name_exactly_one_wins() {
    with_timeout(|| {
        for round in 0..5 {
            let path = fresh_path("race");
            // A stale socket: bound, never listening, its owner gone.
            drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
            assert!(path.exists());
            let a = ChildProc::start(child::command(&["bind", path.to_str().unwrap()]));
            let b = ChildProc::start(child::command(&["bind", path.to_str().unwrap()]));
            let mut outcomes = Vec::new();
            for mut c in [a, b] {
                outcomes.push(c.line());
                c.expect_success();
            }
            outcomes.sort();
            assert_eq!(outcomes, ["err AddrInUse", "ok"], "round {round}");
        }
    });
}

#[test]
fn the_socket_file_is_0600_whatever_the_umask() {
    with_timeout(|| {
        let path = fresh_path("umask");
        let mut c = ChildProc::start(child::command(&["umask0", path.to_str().unwrap()]));
        assert_eq!(c.line(), "600");
        c.expect_success();
    });
}

#[test]
fn plain_names_live_in_a_private_per_user_directory() {
    let name = format!("ringpipe-test-plain-{}", std::process::id());
    let server = NamedPipeServer::bind(name.as_str(), Default::default()).unwrap();
    let path = server.path().unwrap().to_owned();
    let dir = path.parent().unwrap();
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", dir.display());
    let t = std::thread::spawn(move || {
        let mut c = NamedPipeClient::connect(name.as_str(), &Default::default()).unwrap();
        echo_check(&mut c, 1000);
    });
    serve_echo(server.wait_for_connection().unwrap());
    t.join().unwrap();
    for bad in ["", ".", "..", "a/b"] {
        let err = NamedPipeServer::bind(bad, Default::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}: {err}");
    }
}

#[test]
fn a_path_longer_than_sun_path_still_works() {
    let mut dir = std::env::temp_dir().join(format!("ringpipe-test-long-{}", std::process::id()));
    while dir.as_os_str().len() < 150 {
        dir.push("a-rather-long-directory-name");
    }
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pipe");
    let server = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap();
    let t = std::thread::spawn({
        let path = path.clone();
        move || {
            let mut c =
                NamedPipeClient::connect(PipeName::path(&path), &Default::default()).unwrap();
            echo_check(&mut c, 1000);
        }
    });
    serve_echo(server.wait_for_connection().unwrap());
    t.join().unwrap();
    drop(server);
    assert!(!path.exists());
    // A file name that cannot fit even through a directory descriptor: a clear error.
    let err = NamedPipeServer::bind(
        PipeName::path(dir.join("n".repeat(120))),
        Default::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("sun_path"), "{err}");
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("ringpipe-test-long-{}", std::process::id())),
    );
}

#[test]
fn peers_of_another_user_are_refused_both_ways() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run a child as nobody");
        return;
    }
    with_timeout(|| {
        // A world-writable socket, so that nobody may connect at all; the server's own check
        // is what refuses it.
        let dir = fresh_path("stranger-dir");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // The test binary must be reachable by nobody.
        let path = dir.join("pipe");
        let server = NamedPipeServer::bind(
            PipeName::path(&path),
            NamedPipeServerOptions::new().mode(0o666),
        )
        .unwrap();
        let stranger = |check: &str| {
            let mut cmd = child::command(&["stranger", path.to_str().unwrap(), check]);
            cmd.uid(65534).gid(65534);
            ChildProc::start(cmd)
        };
        // The stranger does not check: it connects, and our server refuses it.
        let mut c = stranger("nocheck");
        let err = server.wait_for_connection().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("uid 65534"), "{err}");
        assert_eq!(c.line(), "connected 0");
        c.expect_success();
        // The stranger checks: it refuses our server (root is not nobody).
        let mut c = stranger("check");
        assert_eq!(c.line(), "err PermissionDenied");
        c.expect_success();
    });
}

#[test]
fn instance_slots_are_counted_across_processes() {
    with_timeout(|| {
        let path = fresh_path("slots");
        let opts = NamedPipeServerOptions::new().max_instances(NonZeroUsize::new(1).unwrap());
        let server = NamedPipeServer::bind(PipeName::path(&path), opts).unwrap();
        // A client connects and this process serves it: the only slot is ours.
        let first = NamedPipeClient::connect(PipeName::path(&path), &Default::default()).unwrap();
        let held = server.wait_for_connection().unwrap();
        let err = server.wait_for_connection().unwrap_err();
        assert!(is_all_instances_busy(&err), "{err}");
        // A child serving the same listening socket finds every instance busy too.
        let mut cmd = child::command(&["shared", path.to_str().unwrap()]);
        let handle = server.inherit_into(&mut cmd).unwrap();
        cmd.env("RINGPIPE_TEST_HANDLE", handle)
            .stdin(std::process::Stdio::piped());
        let mut c = ChildProc::start(cmd);
        assert_eq!(c.line(), "busy");
        // Our connection ends: its slot is free, and the child serves the next client.
        drop((held, first));
        writeln!(c.child.stdin.as_mut().unwrap(), "go").unwrap();
        let mut second =
            NamedPipeClient::connect(PipeName::path(&path), &Default::default()).unwrap();
        assert_eq!(c.line(), "accepted");
        echo_check(&mut second, 10_000);
        drop(second);
        c.expect_success();
    });
}

#[cfg(feature = "tokio")]
#[test]
fn a_hundred_clients_at_once_on_an_async_server() {
    let path = fresh_path("hundred");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = NamedPipeServer::bind(PipeName::path(&path), Default::default()).unwrap();
    let acceptor = rt.spawn(async move {
        let mut apps = Vec::new();
        for _ in 0..100 {
            let conn = server.wait_for_connection_async().await.unwrap();
            let (end, transport) = conn.into_async_duplex(TransportOptions::new()).unwrap();
            let transport = tokio::spawn(transport);
            apps.push(tokio::spawn(async move {
                let (mut input, mut output) = end.into_parts();
                let n = ringpipe::copy_to(&mut input, &mut output).await.unwrap();
                drop((input, output));
                transport.await.unwrap().unwrap();
                n
            }));
        }
        let mut total = 0;
        for a in apps {
            total += a.await.unwrap();
        }
        total
    });
    let clients: Vec<_> = (0..100)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut c = NamedPipeClient::connect_timeout(
                    PipeName::path(&path),
                    &Default::default(),
                    Duration::from_secs(20),
                )
                .unwrap();
                echo_check(&mut c, 1000 + i * 100);
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let total =
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), acceptor).await });
    let expected: u64 = (0..100u64).map(|i| 1000 + i * 100).sum();
    assert_eq!(total.expect("hung").unwrap(), expected);
}

#[test]
fn directions_shut_the_unused_side_down() {
    with_timeout(|| {
        let path = fresh_path("direction");
        let server = NamedPipeServer::bind(
            PipeName::path(&path),
            NamedPipeServerOptions::new().direction(PipeDirection::Out),
        )
        .unwrap();
        let t = std::thread::spawn({
            let path = path.clone();
            move || {
                let opts = NamedPipeClientOptions::new().direction(PipeDirection::In);
                let mut c = NamedPipeClient::connect(PipeName::path(&path), &opts).unwrap();
                let mut got = String::new();
                c.read_to_string(&mut got).unwrap();
                assert_eq!(got, "one way");
                // The client's write side is shut down.
                assert_eq!(c.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
            }
        });
        let mut conn = server.wait_for_connection().unwrap();
        conn.write_all(b"one way").unwrap();
        // The server's read side is shut down: it reads the end at once.
        let mut b = [0u8; 4];
        assert_eq!(conn.read(&mut b).unwrap(), 0);
        drop(conn);
        t.join().unwrap();
    });
}

#[test]
fn a_client_no_one_here_wrote_talks_to_the_server_at_the_dotnet_path() {
    let Ok(out) = std::process::Command::new("python3")
        .arg("--version")
        .output()
    else {
        eprintln!("skipped: no python3");
        return;
    };
    assert!(out.status.success());
    with_timeout(|| {
        // At the path .NET uses, as a .NET client would find it.
        let name = format!("ringpipe-test-dotnet-{}", std::process::id());
        let server = NamedPipeServer::bind(PipeName::dotnet(&name), Default::default()).unwrap();
        let path = server.path().unwrap().to_owned();
        let tmp = std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        assert_eq!(path, tmp.join(format!("CoreFxPipe_{name}")));
        let script = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
data = bytes((i * 7) % 256 for i in range(200000))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
sys.exit(0 if bytes(got) == data else 1)
"#;
        let mut py = std::process::Command::new("python3")
            .args(["-c", script, path.to_str().unwrap()])
            .spawn()
            .unwrap();
        serve_echo(server.wait_for_connection().unwrap());
        assert!(py.wait().unwrap().success(), "python's echo check failed");
    });
}
