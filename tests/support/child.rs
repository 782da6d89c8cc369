//! Child processes for the tests that need a real second process: the test binary runs itself
//! again, as one named test with a role in the environment.
//!
//! A test file declares `#[test] fn child_main()` that returns at once unless [`role`] is set,
//! and otherwise runs the role; [`spawn`] starts such a child.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The environment variable carrying a child's role and arguments.
pub const ROLE_VAR: &str = "RINGPIPE_TEST_CHILD";

/// This process's role and arguments, if it is a child.
pub fn role() -> Option<Vec<String>> {
    let v = std::env::var(ROLE_VAR).ok()?;
    Some(v.split('\u{1f}').map(str::to_owned).collect())
}

/// A command that runs this test binary's `child_main` with `args` as its role (the caller
/// may add to it: a uid, inherited descriptors, ...), its stdout piped.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([
        "--exact",
        "child_main",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(ROLE_VAR, args.join("\u{1f}"))
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

/// A running child and its stdout, line by line.
pub struct ChildProc {
    pub child: Child,
    out: BufReader<ChildStdout>,
}

impl ChildProc {
    /// Starts `cmd` (made by [`command`]).
    pub fn start(mut cmd: Command) -> ChildProc {
        let mut child = cmd.spawn().expect("spawning the child");
        let out = BufReader::new(child.stdout.take().expect("piped stdout"));
        ChildProc { child, out }
    }

    /// The child's next line that starts with `@` (the test harness prints its own lines),
    /// without the `@`; panics at the child's end.
    pub fn line(&mut self) -> String {
        loop {
            let mut l = String::new();
            let n = self
                .out
                .read_line(&mut l)
                .expect("reading the child's output");
            assert!(
                n > 0,
                "the child ended without the line the test waited for"
            );
            if let Some(rest) = l.strip_prefix('@') {
                return rest.trim_end().to_owned();
            }
        }
    }

    /// Waits for the child; its exit status must be success.
    pub fn expect_success(mut self) {
        let status = self.child.wait().expect("waiting for the child");
        assert!(status.success(), "the child failed: {status}");
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prints a line the parent's [`ChildProc::line`] reads.
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "@{line}").unwrap();
    out.flush().unwrap();
}
