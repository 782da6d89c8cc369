//! The targets of ringpipe's shared-memory pipe, as ratios of this run's rows: round trips by
//! their p50, streams by their GB/s. A target whose rows did not run (`--peer`, `--only`, a
//! failure) is shown as not measured.

use crate::harness::Job;
use crate::Outcome;

/// One measured row of the table.
pub struct Row {
    pub transport: &'static str,
    pub job: Job,
    pub outcome: Outcome,
}

/// How a ratio is held to its target.
#[derive(Clone, Copy)]
enum Goal {
    /// At most this.
    AtMost(f64),
    /// At least this.
    AtLeast(f64),
}

/// One target: `num / den` of a measurement, and its goal.
struct Target {
    what: String,
    num: &'static str,
    den: &'static str,
    /// `None` for the round trips, else the write size of the streams.
    stream: Option<usize>,
    goal: Goal,
}

const SHM_SPIN: &str = "ringpipe-shm-spin";
const SHM_DEFAULT: &str = "ringpipe-shm-default";

/// The targets: the issue's, on the default rows.
fn targets() -> Vec<Target> {
    let rtt = |what: &str, num, den, goal| Target {
        what: what.to_string(),
        num,
        den,
        stream: None,
        goal,
    };
    let mut all = vec![
        rtt(
            "shm-spin rtt / in-process spin rtt",
            SHM_SPIN,
            "ringpipe-inproc-spin",
            Goal::AtMost(1.3),
        ),
        rtt(
            "socketpair rtt / shm-spin rtt",
            "socketpair",
            SHM_SPIN,
            Goal::AtLeast(10.0),
        ),
        rtt(
            "socketpair rtt / shm-default rtt",
            "socketpair",
            SHM_DEFAULT,
            Goal::AtLeast(5.0),
        ),
    ];
    all.extend(stream_targets(SHM_DEFAULT, "ringpipe-inproc", "shm"));
    all.push(rtt(
        "iox2-pubsub-spin rtt / shm-spin rtt",
        "iox2-pubsub-spin",
        SHM_SPIN,
        Goal::AtLeast(1.0),
    ));
    all
}

/// The stream targets of the shared ring `shm` (called `tag`) against the sockets, the pipe
/// and the in-process ring `inproc` with the same options.
fn stream_targets(shm: &'static str, inproc: &'static str, tag: &str) -> Vec<Target> {
    let mut all = Vec::new();
    for size in [1024, 16 * 1024] {
        for (peer, what, goal) in [
            ("socketpair", "socketpair", Goal::AtLeast(5.0)),
            ("pipe", "pipe", Goal::AtLeast(5.0)),
            (inproc, "in-process", Goal::AtLeast(0.85)),
        ] {
            all.push(Target {
                what: format!("{tag} stream / {what} stream"),
                num: shm,
                den: peer,
                stream: Some(size),
                goal,
            });
        }
    }
    all
}

/// The figure a target compares: p50 ns of a round trip, GB/s of a stream.
fn figure(rows: &[Row], transport: &str, stream: Option<usize>) -> Option<f64> {
    rows.iter()
        .filter(|r| r.transport == transport)
        .find_map(|r| match (&r.outcome, r.job, stream) {
            (Outcome::Rtt(s), Job::Rtt { .. }, None) => Some(s.p50 as f64),
            (Outcome::Stream(s), Job::Stream { write_size, .. }, Some(w)) if write_size == w => {
                Some(s.gb_per_s())
            }
            _ => None,
        })
}

/// Prints every target's ratio and whether this run meets it, then the stream targets of the
/// rows whose ring has no pause threshold (for information: the default rows are the ones
/// held to the targets).
pub fn print(rows: &[Row]) {
    println!("targets (round trips: ratio of p50s; streams: ratio of GB/s):");
    print_list(rows, targets());
    println!("the same stream ratios with no pause threshold (-nopause rows):");
    print_list(
        rows,
        stream_targets(
            "ringpipe-shm-nopause",
            "ringpipe-inproc-nopause",
            "shm-nopause",
        ),
    );
}

fn print_list(rows: &[Row], targets: Vec<Target>) {
    for t in targets {
        let what = match t.stream {
            None => t.what.clone(),
            Some(w) => format!("{} {} KiB", t.what, w / 1024),
        };
        let (num, den) = (figure(rows, t.num, t.stream), figure(rows, t.den, t.stream));
        let goal = match t.goal {
            Goal::AtMost(g) => format!("<= {g}x"),
            Goal::AtLeast(g) => format!(">= {g}x"),
        };
        match (num, den) {
            (Some(n), Some(d)) if d > 0.0 => {
                let ratio = n / d;
                let ok = match t.goal {
                    Goal::AtMost(g) => ratio <= g,
                    Goal::AtLeast(g) => ratio >= g,
                };
                println!(
                    "  {what:<46} {ratio:>8.2}x   target {goal:<9} {}",
                    if ok { "met" } else { "MISSED" }
                );
            }
            _ => println!("  {what:<46} {:>9}   target {goal:<9} not measured", "-"),
        }
    }
}
