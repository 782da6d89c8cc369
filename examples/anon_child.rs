//! A parent streaming to its child over an anonymous pipe (Linux), each side a ringpipe half.
//!
//! ```text
//! cargo run --release --example anon_child [-- --bytes 256M]
//! ```
//!
//! The parent makes an `Out` pipe, re-executes this program as its child with
//! `--child HANDLE` (the client end's number, which the child inherits and nothing else
//! does), disposes of its copy of the client end, and writes `--bytes` bytes (64 MiB by
//! default) straight into its `PipeWriter`'s memory; a pump thread moves them into the OS
//! pipe. The child opens the end from the string (checked: a pipe's read end), reads it
//! through a `PipeReader` fed by its own pump, and checks every byte by its position; it exits
//! non-zero at the first wrong byte, or if the stream ends early or runs long. The parent
//! completes its writer, the child reads the end of the stream, and both report.

#[cfg(target_os = "linux")]
mod linux {
    use ringpipe::{AnonymousPipeClient, AnonymousPipeServer, PipeDirection, PipeOptions};
    use std::process::{Command, ExitCode};
    use std::time::Instant;

    /// The byte at position `i` of the stream: a hash of the position, so a byte lost,
    /// repeated or moved shows up at once.
    fn byte_at(i: u64) -> u8 {
        let mut z = (i >> 3).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> ((i & 7) * 8)) as u8
    }

    /// Reads a size such as `4096`, `64K`, `256M` or `1G`.
    fn parse_size(text: &str) -> Result<u64, String> {
        let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((at, _)) => text.split_at(at),
            None => (text, ""),
        };
        let n: u64 = digits.parse().map_err(|_| format!("bad size {text:?}"))?;
        let shift = match unit {
            "" => 0,
            "K" | "k" => 10,
            "M" | "m" => 20,
            "G" | "g" => 30,
            _ => return Err(format!("bad size {text:?}")),
        };
        n.checked_mul(1 << shift)
            .ok_or_else(|| format!("size {text:?} is too large"))
    }

    fn options() -> PipeOptions {
        PipeOptions::builder()
            .capacity(1 << 20)
            .build()
            .expect("valid options")
    }

    pub fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["--child", handle, bytes] => child(handle, bytes),
            [] => parent(64 << 20),
            ["--bytes", size] => parse_size(size).and_then(parent),
            _ => Err("usage: anon_child [--bytes SIZE]".into()),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("anon_child: {why}");
                ExitCode::FAILURE
            }
        }
    }

    fn parent(bytes: u64) -> Result<(), String> {
        let mut server = AnonymousPipeServer::new(PipeDirection::Out).map_err(|e| e.to_string())?;
        // Advisory: a larger OS pipe lets the parent run further ahead of the child.
        let os_pipe = server
            .set_buffer_size(1 << 20)
            .or_else(|_| server.buffer_size())
            .map_err(|e| e.to_string())?;
        let handle = server.client_handle_string().map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.args(["--child", &handle, &bytes.to_string()]);
        server
            .inherit_client_handle(&mut cmd)
            .map_err(|e| e.to_string())?;
        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        // Now only the child holds the read end: its exit is a broken pipe for the pump.
        server.dispose_local_copy_of_client_handle();
        println!("parent: streaming {bytes} bytes to child {} over descriptor {handle} (OS pipe {os_pipe} bytes)", child.id());

        let start = Instant::now();
        let (mut writer, pump) = server.into_writer(options()).map_err(|e| e.to_string())?;
        let mut pos = 0u64;
        while pos < bytes {
            let mem = writer
                .get_memory_blocking(1)
                .map_err(|e| format!("get_memory: {e}"))?;
            let n = mem.len().min((bytes - pos) as usize);
            for (i, b) in mem[..n].iter_mut().enumerate() {
                *b = byte_at(pos + i as u64);
            }
            writer.advance(n);
            pos += n as u64;
            let flushed = writer.flush_blocking().map_err(|e| format!("flush: {e}"))?;
            if flushed.is_completed() {
                return Err(format!("the child stopped reading after {pos} bytes"));
            }
        }
        writer.complete(); // the child reads the end of the stream after the last byte
        let pumped = pump.join().map_err(|e| format!("pump: {e}"))?;
        let status = child.wait().map_err(|e| e.to_string())?;
        let secs = start.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!("the child failed: {status}"));
        }
        println!(
            "parent: {pumped} bytes written in {secs:.3} s ({:.0} MiB/s); the child checked them all",
            pumped as f64 / secs / (1 << 20) as f64
        );
        Ok(())
    }

    fn child(handle: &str, bytes: &str) -> Result<(), String> {
        let expect: u64 = bytes.parse().map_err(|_| format!("bad length {bytes:?}"))?;
        // SAFETY: the parent made this end for this process alone, and it is taken once, here.
        let client = unsafe { AnonymousPipeClient::from_handle_string(handle, PipeDirection::In) }
            .map_err(|e| format!("child: opening handle {handle:?}: {e}"))?;
        let (mut reader, pump) = client.into_reader(options()).map_err(|e| e.to_string())?;
        let mut pos = 0u64;
        loop {
            let res = reader
                .read_blocking()
                .map_err(|e| format!("child: read: {e}"))?;
            let buf = res.buffer();
            for chunk in buf.chunks() {
                for &b in chunk {
                    if pos >= expect {
                        return Err(format!("child: more than the {expect} bytes announced"));
                    }
                    if b != byte_at(pos) {
                        return Err(format!(
                            "child: byte {pos} is {b:#04x}, expected {:#04x}",
                            byte_at(pos)
                        ));
                    }
                    pos += 1;
                }
            }
            let (end, done) = (buf.end(), res.is_completed());
            reader.advance_to(end, end).map_err(|e| e.to_string())?;
            if done {
                break;
            }
        }
        drop(reader);
        pump.join().map_err(|e| format!("child: pump: {e}"))?;
        if pos != expect {
            return Err(format!(
                "child: the stream ended after {pos} of {expect} bytes"
            ));
        }
        println!("child: {pos} bytes read, every byte in its place");
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("anon_child: anonymous pipes are implemented on Linux only");
}
