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

/// The shared ring's default streams against the in-process pipe's with no pause threshold
/// either (the in-process default pauses at 64 KiB; the shared ring's does not).
fn inproc_nopause_targets() -> Vec<Target> {
    [1024, 16 * 1024]
        .into_iter()
        .map(|size| Target {
            what: "shm stream / in-process -nopause stream".to_string(),
            num: SHM_DEFAULT,
            den: "ringpipe-inproc-nopause",
            stream: Some(size),
            goal: Goal::AtLeast(0.85),
        })
        .collect()
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

/// A target as this run meets it.
struct Verdict {
    what: String,
    goal: String,
    /// The ratio and whether it meets the goal; `None` if a row did not run.
    ratio: Option<(f64, bool)>,
}

fn verdicts(rows: &[Row], targets: Vec<Target>) -> Vec<Verdict> {
    targets
        .into_iter()
        .map(|t| {
            let what = match t.stream {
                None => t.what.clone(),
                Some(w) => format!("{} {} KiB", t.what, w / 1024),
            };
            let goal = match t.goal {
                Goal::AtMost(g) => format!("<= {g}x"),
                Goal::AtLeast(g) => format!(">= {g}x"),
            };
            let ratio = match (figure(rows, t.num, t.stream), figure(rows, t.den, t.stream)) {
                (Some(n), Some(d)) if d > 0.0 => {
                    let r = n / d;
                    Some((
                        r,
                        match t.goal {
                            Goal::AtMost(g) => r <= g,
                            Goal::AtLeast(g) => r >= g,
                        },
                    ))
                }
                _ => None,
            };
            Verdict { what, goal, ratio }
        })
        .collect()
}

/// The default rows' targets (held to them), then the stream targets of the rows whose ring
/// has no pause threshold (for information), each with its heading.
fn all_verdicts(rows: &[Row]) -> [(&'static str, Vec<Verdict>); 2] {
    [
        (
            "targets (round trips: ratio of p50s; streams: ratio of GB/s):",
            verdicts(rows, targets()),
        ),
        (
            "the shared ring (no pause threshold by default) against the in-process pipe with none:",
            verdicts(rows, inproc_nopause_targets()),
        ),
    ]
}

/// Prints every target's ratio and whether this run meets it.
pub fn print(rows: &[Row]) {
    for (heading, list) in all_verdicts(rows) {
        println!("{heading}");
        for v in list {
            match v.ratio {
                Some((r, ok)) => println!(
                    "  {:<46} {r:>8.2}x   target {:<9} {}",
                    v.what,
                    v.goal,
                    if ok { "met" } else { "MISSED" }
                ),
                None => println!(
                    "  {:<46} {:>9}   target {:<9} not measured",
                    v.what, "-", v.goal
                ),
            }
        }
    }
}

/// The same as a Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut md = String::from("| target | ratio | goal | |\n|---|---:|---|---|\n");
    for (_, list) in all_verdicts(rows) {
        for v in list {
            let (ratio, verdict) = match v.ratio {
                Some((r, ok)) => (format!("{r:.2}x"), if ok { "met" } else { "**missed**" }),
                None => ("-".to_string(), "not measured"),
            };
            md += &format!("| {} | {ratio} | {} | {verdict} |\n", v.what, v.goal);
        }
    }
    md
}
