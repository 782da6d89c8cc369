//! Replies: what a command says ([`Replies`]), and its RESP2 encoding into any [`ByteSink`]
//! (ringpipe's writer memory, a `Vec`, tokio-util's `BytesMut`), written once.

use tokio_util::bytes::BytesMut;

/// Where encoded reply bytes go.
pub trait ByteSink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl ByteSink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl ByteSink for BytesMut {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// The replies a command can give, in RESP2's types.
pub trait Replies {
    /// A simple string (`+OK`).
    fn simple(&mut self, text: &'static str);
    /// An error (`-ERR ...`); a `\r` or `\n` in `message` is sent as a space.
    fn error(&mut self, message: &str);
    /// An integer (`:3`).
    fn integer(&mut self, n: i64);
    /// A bulk string (`$3\r\nabc`).
    fn bulk(&mut self, bytes: &[u8]);
    /// The null bulk string (`$-1`): GET of a missing key.
    fn null(&mut self);
    /// An array header (`*2`); the `len` elements follow as replies of their own.
    fn array(&mut self, len: usize);
}

/// Bulk strings up to this long are encoded in one piece (one `put`), header and all.
const SMALL_BULK: usize = 64;

/// `prefix`, `n` in decimal, `\r\n`, into `out`; returns the length.
fn header(out: &mut [u8; 24], prefix: u8, n: i64) -> usize {
    out[0] = prefix;
    let mut at = 1;
    if n < 0 {
        out[at] = b'-';
        at += 1;
    }
    let mut digits = [0u8; 20];
    let mut v = n.unsigned_abs();
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let d = digits.len() - k;
    out[at..at + d].copy_from_slice(&digits[k..]);
    at += d;
    out[at..at + 2].copy_from_slice(b"\r\n");
    at + 2
}

/// RESP2 encoding into any byte sink.
impl<S: ByteSink> Replies for S {
    fn simple(&mut self, text: &'static str) {
        let mut buf = [0u8; 64];
        if text.len() + 3 <= buf.len() {
            buf[0] = b'+';
            buf[1..=text.len()].copy_from_slice(text.as_bytes());
            buf[text.len() + 1..text.len() + 3].copy_from_slice(b"\r\n");
            self.put(&buf[..text.len() + 3]);
        } else {
            self.put(b"+");
            self.put(text.as_bytes());
            self.put(b"\r\n");
        }
    }

    fn error(&mut self, message: &str) {
        self.put(b"-");
        for (i, piece) in message.split(['\r', '\n']).enumerate() {
            if i > 0 {
                self.put(b" ");
            }
            self.put(piece.as_bytes());
        }
        self.put(b"\r\n");
    }

    fn integer(&mut self, n: i64) {
        let mut buf = [0u8; 24];
        let len = header(&mut buf, b':', n);
        self.put(&buf[..len]);
    }

    fn bulk(&mut self, bytes: &[u8]) {
        let mut head = [0u8; 24];
        let h = header(&mut head, b'$', bytes.len() as i64);
        if bytes.len() <= SMALL_BULK {
            let mut buf = [0u8; 24 + SMALL_BULK + 2];
            buf[..h].copy_from_slice(&head[..h]);
            buf[h..h + bytes.len()].copy_from_slice(bytes);
            buf[h + bytes.len()..h + bytes.len() + 2].copy_from_slice(b"\r\n");
            self.put(&buf[..h + bytes.len() + 2]);
        } else {
            self.put(&head[..h]);
            self.put(bytes);
            self.put(b"\r\n");
        }
    }

    fn null(&mut self) {
        self.put(b"$-1\r\n");
    }

    fn array(&mut self, len: usize) {
        let mut buf = [0u8; 24];
        let len = header(&mut buf, b'*', len as i64);
        self.put(&buf[..len]);
    }
}
