//! iceoryx2: zero-copy shared-memory IPC, as its users write it. A ping is loaned from the
//! sender's shared-memory pool, written in place and sent (an offset goes through a lock-free
//! queue); the receiver gets a sample that points into that pool.
//!
//! Variants (each a row of the table):
//! - `iox2-pubsub-spin`: a publish-subscribe service each way, both sides busy-polling
//!   `receive()`.
//! - `iox2-reqres-spin`: one request-response service (the parent is the client, the child the
//!   server), both sides busy-polling.
//! - `iox2-pubsub-event`: publish-subscribe each way plus an event service each way; the sender
//!   notifies after sending and the receiver blocks on its `Listener` (the waiting that
//!   iceoryx2 offers instead of spinning). It calls `timed_wait`, which makes the same system
//!   calls as `blocking_wait` (on Linux a blocking `recvfrom` on a Unix datagram socket) but
//!   lets a run end when the peer is dead.
//! - `iox2-pubsub-waitset`: the same, the receiver blocking in a `WaitSet` with the listener
//!   attached (iceoryx2's event loop).
//!
//! Files: every node of a run uses the prefix `iox2_shmpeers_<parent pid>_` (instead of
//! iceoryx2's default `iox2_`) for what it creates under /dev/shm, and the root directory
//! `/tmp/iox2_shmpeers_<parent pid>/` (instead of the shared /tmp/iceoryx2/) for the rest; its
//! services have names unique to the run. [`sweep`] lists and removes what is left: after a
//! clean run, iceoryx2's global management segment, which it keeps by design
//! (`/dev/shm/<prefix>..._node.0_10_0.global_mgmt`), and the root directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use iceoryx2::port::listener::Listener;
use iceoryx2::port::notifier::Notifier;
use iceoryx2::prelude::*;

use crate::harness::{self, fail, ChildProc, ChildSpec, Job, Kind, Msg, Result, PEER_TIMEOUT};
use crate::{Outcome, Transport};

/// The messaging pattern of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    PubSub,
    ReqRes,
}

/// How a receiver waits for the next message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parking {
    /// Busy-poll `receive()`.
    Spin,
    /// Block on the `Listener` of an event service, notified by the sender.
    Listener,
    /// A `WaitSet` with the listener attached.
    WaitSet,
}

/// One iceoryx2 variant.
pub struct Iceoryx {
    name: &'static str,
    describe: &'static str,
    pattern: Pattern,
    wait: Parking,
}

/// The variants, in the order of the table.
pub fn variants() -> Vec<Iceoryx> {
    vec![
        Iceoryx {
            name: "iox2-pubsub-spin",
            describe: "iceoryx2 publish-subscribe each way, busy-polling receive()",
            pattern: Pattern::PubSub,
            wait: Parking::Spin,
        },
        Iceoryx {
            name: "iox2-reqres-spin",
            describe: "iceoryx2 request-response, busy-polling receive()",
            pattern: Pattern::ReqRes,
            wait: Parking::Spin,
        },
        Iceoryx {
            name: "iox2-pubsub-event",
            describe: "iceoryx2 publish-subscribe + event each way, blocking on the Listener",
            pattern: Pattern::PubSub,
            wait: Parking::Listener,
        },
        Iceoryx {
            name: "iox2-pubsub-waitset",
            describe: "iceoryx2 publish-subscribe + event each way, WaitSet",
            pattern: Pattern::PubSub,
            wait: Parking::WaitSet,
        },
    ]
}

/// Keeps iceoryx2's own log at warnings and errors, unless `IOX2_LOG_LEVEL` asks for more.
pub fn quiet_logs() {
    set_log_level_from_env_or(LogLevel::Warn);
}

/// The file-name prefix of this run's iceoryx2 resources (the parent's pid makes it unique).
pub fn run_prefix() -> String {
    format!("{SWEEP_PREFIX}{}_", std::process::id())
}

/// What the file names of every run of this benchmark start with.
const SWEEP_PREFIX: &str = "iox2_shmpeers_";

/// The root directory of a run's iceoryx2 files that are not in /dev/shm (service and node
/// descriptions, the event sockets): `/tmp/iox2_shmpeers_<pid>/`, instead of iceoryx2's shared
/// default /tmp/iceoryx2/, so that a run leaves nothing in a directory other programs use.
fn run_root(prefix: &str) -> String {
    format!("/tmp/{}/", prefix.trim_end_matches('_'))
}

/// A node whose files carry `prefix` and live under [`run_root`]. Signal handling is off: the
/// spin loops do not look for termination requests, so Ctrl-C must end the processes as usual
/// (a later run's [`sweep`] removes what a killed run left).
fn node(prefix: &str) -> Result<Node<ipc::Service>> {
    let mut config = Config::default();
    config.global.prefix = FileName::new(prefix.as_bytes())?;
    config
        .global
        .set_root_path(&iceoryx2::prelude::Path::new(run_root(prefix).as_bytes())?);
    Ok(NodeBuilder::new()
        .config(&config)
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()?)
}

fn service_name(base: &str, leg: &str) -> Result<ServiceName> {
    Ok(ServiceName::new(&format!("{base}/{leg}"))?)
}

/// The receiving side's wait for one message, whatever `Parking` says. `poll` is the receive
/// call; `listener` (and `waitset`, for `Parking::WaitSet`) are there when the variant waits on
/// events.
///
/// A wake-up may be stale: a notification whose sample an earlier `poll` already took stays
/// pending, and the next wait returns at once, with nothing new (even with a count of 0). So a
/// wait that brought nothing only starts (or checks) the clock for [`PEER_TIMEOUT`], and the loop
/// polls and waits again.
fn receive<T>(
    wait: Parking,
    listener: Option<&Listener<ipc::Service>>,
    waitset: Option<&WaitSet<ipc::Service>>,
    mut poll: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let mut deadline: Option<Instant> = None;
    let mut idle_wait = || -> Result<()> {
        let now = Instant::now();
        match deadline {
            None => deadline = Some(now + PEER_TIMEOUT),
            Some(d) if now > d => return fail(format!("no event for {PEER_TIMEOUT:?}")),
            Some(_) => {}
        }
        Ok(())
    };
    match wait {
        Parking::Spin => harness::spin_until(poll),
        Parking::Listener => {
            let listener = listener.ok_or("event wait without a listener")?;
            loop {
                if let Some(v) = poll()? {
                    return Ok(v);
                }
                if listener.timed_wait(|_| {}, PEER_TIMEOUT)? == 0 {
                    idle_wait()?;
                }
            }
        }
        Parking::WaitSet => {
            let listener = listener.ok_or("waitset wait without a listener")?;
            let waitset = waitset.ok_or("waitset wait without a waitset")?;
            loop {
                if let Some(v) = poll()? {
                    return Ok(v);
                }
                let mut drained = Ok(0);
                waitset.wait_and_process_once_with_timeout(
                    |_| {
                        // Consume the notifications, or the WaitSet stays ready.
                        drained = listener.try_wait(|_| {});
                        CallbackProgression::Continue
                    },
                    PEER_TIMEOUT,
                )?;
                if drained? == 0 {
                    idle_wait()?;
                }
            }
        }
    }
}

/// The event services of a waiting variant: a notifier for the leg this side sends on and a
/// listener for the leg it receives on.
struct Events {
    notifier: Notifier<ipc::Service>,
    listener: Listener<ipc::Service>,
}

impl Events {
    /// The parent creates both event services; the child opens them.
    fn new(
        node: &Node<ipc::Service>,
        base: &str,
        send_leg: &str,
        recv_leg: &str,
        create: bool,
    ) -> Result<Events> {
        let open = |leg: &str| -> Result<_> {
            let builder = node.service_builder(&service_name(base, leg)?).event();
            Ok(if create {
                builder.create()?
            } else {
                builder.open()?
            })
        };
        let send = open(send_leg)?;
        let recv = open(recv_leg)?;
        Ok(Events {
            notifier: send.notifier_builder().create()?,
            listener: recv.listener_builder().create()?,
        })
    }
}

impl Iceoryx {
    fn waits_on_events(&self) -> bool {
        self.wait != Parking::Spin
    }

    fn parent_pubsub(
        &self,
        spec: &ChildSpec,
        node: &Node<ipc::Service>,
        base: &str,
    ) -> Result<harness::RttStats> {
        let ping = node
            .service_builder(&service_name(base, "ping")?)
            .publish_subscribe::<Msg>()
            .create()?;
        let pong = node
            .service_builder(&service_name(base, "pong")?)
            .publish_subscribe::<Msg>()
            .create()?;
        let publisher = ping.publisher_builder().create()?;
        let subscriber = pong.subscriber_builder().create()?;
        let events = if self.waits_on_events() {
            Some(Events::new(node, base, "ping-event", "pong-event", true)?)
        } else {
            None
        };
        let waitset = self.waitset()?;
        let _guard = match (&waitset, &events) {
            (Some(ws), Some(ev)) => Some(ws.attach_notification(&ev.listener)?),
            _ => None,
        };
        let listener = events.as_ref().map(|e| &e.listener);
        let mut child = ChildProc::spawn(spec)?;
        let stats = harness::time_round_trips(&mut child, spec.job, |out, back| {
            publisher.loan_uninit()?.write_payload(*out).send()?;
            if let Some(ev) = &events {
                ev.notifier.notify()?;
            }
            let sample = receive(self.wait, listener, waitset.as_ref(), || {
                Ok(subscriber.receive()?)
            })?;
            *back = *sample.payload();
            Ok(())
        })?;
        child.finish()?;
        Ok(stats)
    }

    fn child_pubsub(&self, spec: &ChildSpec, node: &Node<ipc::Service>, base: &str) -> Result<()> {
        let ping = node
            .service_builder(&service_name(base, "ping")?)
            .publish_subscribe::<Msg>()
            .open()?;
        let pong = node
            .service_builder(&service_name(base, "pong")?)
            .publish_subscribe::<Msg>()
            .open()?;
        let subscriber = ping.subscriber_builder().create()?;
        let publisher = pong.publisher_builder().create()?;
        let events = if self.waits_on_events() {
            Some(Events::new(node, base, "pong-event", "ping-event", false)?)
        } else {
            None
        };
        let waitset = self.waitset()?;
        let _guard = match (&waitset, &events) {
            (Some(ws), Some(ev)) => Some(ws.attach_notification(&ev.listener)?),
            _ => None,
        };
        let listener = events.as_ref().map(|e| &e.listener);
        harness::child_ready()?;
        for _ in 0..spec.trips() {
            let sample = receive(self.wait, listener, waitset.as_ref(), || {
                Ok(subscriber.receive()?)
            })?;
            publisher
                .loan_uninit()?
                .write_payload(harness::pong_of(sample.payload()))
                .send()?;
            drop(sample);
            if let Some(ev) = &events {
                ev.notifier.notify()?;
            }
        }
        Ok(())
    }

    fn parent_reqres(
        &self,
        spec: &ChildSpec,
        node: &Node<ipc::Service>,
        base: &str,
    ) -> Result<harness::RttStats> {
        let service = node
            .service_builder(&service_name(base, "rpc")?)
            .request_response::<Msg, Msg>()
            .create()?;
        let client = service.client_builder().create()?;
        let mut child = ChildProc::spawn(spec)?;
        let stats = harness::time_round_trips(&mut child, spec.job, |out, back| {
            let pending = client.loan_uninit()?.write_payload(*out).send()?;
            let response = harness::spin_until(|| Ok(pending.receive()?))?;
            *back = *response.payload();
            Ok(())
        })?;
        child.finish()?;
        Ok(stats)
    }

    fn child_reqres(&self, spec: &ChildSpec, node: &Node<ipc::Service>, base: &str) -> Result<()> {
        let service = node
            .service_builder(&service_name(base, "rpc")?)
            .request_response::<Msg, Msg>()
            .open()?;
        let server = service.server_builder().create()?;
        harness::child_ready()?;
        for _ in 0..spec.trips() {
            let request = harness::spin_until(|| Ok(server.receive()?))?;
            request
                .loan_uninit()?
                .write_payload(harness::pong_of(request.payload()))
                .send()?;
        }
        Ok(())
    }

    fn waitset(&self) -> Result<Option<WaitSet<ipc::Service>>> {
        if self.wait != Parking::WaitSet {
            return Ok(None);
        }
        Ok(Some(
            WaitSetBuilder::new()
                .signal_handling_mode(SignalHandlingMode::Disabled)
                .create::<ipc::Service>()?,
        ))
    }
}

/// A service base name unique to this run and variant.
fn unique_base(variant: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("shm-peers/{}/{nanos}/{variant}", std::process::id())
}

impl Transport for Iceoryx {
    fn name(&self) -> &'static str {
        self.name
    }

    fn describe(&self) -> &'static str {
        self.describe
    }

    fn measures(&self, kind: Kind) -> bool {
        kind == Kind::Rtt
    }

    fn busy_polls(&self) -> bool {
        self.wait == Parking::Spin
    }

    fn parent(&self, job: Job) -> Result<Outcome> {
        let prefix = run_prefix();
        let base = unique_base(self.name);
        let node = node(&prefix)?;
        let spec = ChildSpec {
            transport: self.name.into(),
            job,
            extra: vec![prefix, base.clone()],
        };
        // The parent creates the services and its ports, then spawns the child, which opens
        // the services; the child's ports exist when it says ready, so the first ping finds its
        // subscriber (or server).
        let stats = match self.pattern {
            Pattern::PubSub => self.parent_pubsub(&spec, &node, &base)?,
            Pattern::ReqRes => self.parent_reqres(&spec, &node, &base)?,
        };
        Ok(Outcome::Rtt(stats))
    }

    fn child(&self, spec: &ChildSpec) -> Result<()> {
        let [prefix, base] = &spec.extra[..] else {
            return fail("iceoryx2 child: expected a prefix and a service name");
        };
        if spec.job.kind() != Kind::Rtt {
            return fail("iceoryx2 child: round trips only");
        }
        let node = node(prefix)?;
        match self.pattern {
            Pattern::PubSub => self.child_pubsub(spec, &node, base),
            Pattern::ReqRes => self.child_reqres(spec, &node, base),
        }
    }
}

/// What [`sweep`] found.
#[derive(Debug, Default)]
pub struct Leftovers {
    /// Files and directories of this run, removed.
    pub this_run: Vec<PathBuf>,
    /// Those of `this_run` that a clean shutdown does not leave: all but the global management
    /// segment and an empty root directory.
    pub unexpected: Vec<PathBuf>,
    /// Of earlier runs of this benchmark whose parent process is gone (killed), removed.
    pub dead_runs: Vec<PathBuf>,
    /// Of runs of this benchmark that are still alive, left alone.
    pub live_runs: Vec<PathBuf>,
    /// Other iceoryx2 files (other programs, iceoryx2's default prefix and root), left alone.
    pub foreign: Vec<PathBuf>,
}

/// The pid in a name `iox2_shmpeers_<pid>_...`.
fn run_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(SWEEP_PREFIX)?;
    rest.split('_').next()?.parse().ok()
}

/// Lists what iceoryx2 left in /dev/shm, in /tmp (the root directories of this benchmark's
/// runs) and in iceoryx2's default root directory, and removes what belongs to this run
/// (`this_pid` is the parent's) and to earlier runs of this benchmark whose process is gone.
/// Others are listed only. Call it when no node of this run is left.
pub fn sweep(this_pid: u32) -> Result<Leftovers> {
    let mut found = Leftovers::default();
    for dir in ["/dev/shm", "/tmp"] {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            match run_pid(&name) {
                Some(pid) if pid == this_pid => found.this_run.push(path),
                Some(pid) if !Path::new(&format!("/proc/{pid}")).exists() => {
                    found.dead_runs.push(path)
                }
                Some(_) => found.live_runs.push(path),
                None if dir == "/dev/shm" && name.starts_with("iox2") => found.foreign.push(path),
                None => {}
            }
        }
    }
    let default_root = Config::default().global.root_path().as_str().to_string();
    list_files(Path::new(&default_root), &mut found.foreign)?;
    found.unexpected = found
        .this_run
        .iter()
        .filter(|p| !kept_by_design(p))
        .cloned()
        .collect();
    for path in found.this_run.iter().chain(&found.dead_runs) {
        remove(path)?;
    }
    Ok(found)
}

/// Whether a leftover of this run is what iceoryx2 leaves after a clean shutdown: its global
/// management segment (kept by design, shared by every node of a prefix) or a run's root
/// directory that holds no file (only the empty `nodes/` and `services/`).
fn kept_by_design(path: &Path) -> bool {
    if path.is_dir() {
        let mut files = Vec::new();
        return list_files(path, &mut files).is_ok() && files.is_empty();
    }
    path.to_string_lossy().ends_with(".global_mgmt")
}

/// Appends the files (not directories) under `dir` to `out`.
fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            list_files(&entry.path(), out)?;
        } else {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn remove(path: &Path) -> Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_pid_reads_the_prefix() {
        assert_eq!(run_pid("iox2_shmpeers_1234_abc.data"), Some(1234));
        assert_eq!(run_pid("iox2_shmpeers_x_abc"), None);
        assert_eq!(run_pid("iox2_1234_abc"), None);
        assert!(run_prefix().starts_with(SWEEP_PREFIX));
        assert_eq!(
            run_pid(&format!("{}svc", run_prefix())),
            Some(std::process::id())
        );
    }
}
