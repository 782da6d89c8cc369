//! Where everything sits in a shared ring's region, and the sizes both processes agree on.
//!
//! ```text
//! offset 0       Words            cursor lines and state (`protocol::Words`, #[repr(C)])
//!                ErrorRecord x 2  each side's completion error: a length and up to 256 bytes
//!                lens             one length word per slot
//! data_off       slot 0 .. slot `slots - 1`, `chunk_size` bytes each (page-aligned start)
//! len            (page-aligned)
//! ```
//!
//! Everything in the region is an atomic, so that whatever the other process writes, and
//! whenever, reading it is defined; the sizes themselves are *not* read from the region (the
//! other process could change them under us): they travel in the handshake
//! ([`Layout::encode`], [`Layout::decode`]), are checked once, and are kept in this process.

use crate::protocol::{Side, Words};
use crate::sync::{AtomicU32, AtomicU64, AtomicUsize};
use std::io;
use std::mem::{align_of, size_of};

/// The bytes of a completion error message a side can leave for the other (longer ones are cut
/// at a character boundary).
pub(crate) const ERROR_BYTES: usize = 256;

/// One side's completion error in the region: `len` bytes of UTF-8 (the other side decodes
/// what it finds lossily, and never more than [`ERROR_BYTES`]).
#[repr(C)]
pub(crate) struct ErrorRecord {
    pub(crate) len: AtomicU32,
    pub(crate) words: [AtomicU64; ERROR_BYTES / 8],
}

/// The most slots a shared ring may have (the lengths sit before the data, in one page run).
const MAX_SLOTS: u64 = 1 << 16;
/// The largest slot.
const MAX_CHUNK: u64 = 1 << 30;
/// The largest region (data and header), so that a hostile handshake cannot make us map, or
/// compute, anything absurd.
const MAX_REGION: u64 = 1 << 40;

/// The handshake's first bytes: names the protocol and its version (3: the memfd alone comes
/// with it, the bells are the socket's, each side's line holds its futex word).
const MAGIC: [u8; 8] = *b"RPSHM\x00\x03\x00";
/// The handshake's size in bytes.
pub(crate) const HELLO_LEN: usize = 80;

/// The sizes of a shared ring and the offsets of its parts, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) slots: usize,
    pub(crate) chunk_size: usize,
    pub(crate) capacity: u64,
    pub(crate) pause: u64,
    pub(crate) resume: u64,
    pub(crate) errors_off: usize,
    pub(crate) lens_off: usize,
    pub(crate) data_off: usize,
    pub(crate) len: usize,
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

fn round_up(v: u64, to: u64) -> Option<u64> {
    v.checked_add(to - 1).map(|v| v / to * to)
}

fn refuse(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("shared ring: {why}"))
}

impl Layout {
    /// The layout of a ring with these sizes, or why they cannot make one (the checks a
    /// handshake from an untrusted process goes through).
    pub(crate) fn new(
        slots: u64,
        chunk_size: u64,
        capacity: u64,
        pause: u64,
        resume: u64,
    ) -> io::Result<Layout> {
        if !slots.is_power_of_two() || !(2..=MAX_SLOTS).contains(&slots) {
            return Err(refuse(format!(
                "{slots} slots (a power of two from 2 to {MAX_SLOTS})"
            )));
        }
        if !(1..=MAX_CHUNK).contains(&chunk_size) {
            return Err(refuse(format!(
                "slot size {chunk_size} (1 to {MAX_CHUNK} bytes)"
            )));
        }
        let data = slots * chunk_size; // at most 2^46: no overflow
        if capacity == 0 || capacity > data {
            return Err(refuse(format!(
                "capacity {capacity} (1 to the {data} bytes of the slots)"
            )));
        }
        if pause > capacity || resume > capacity || (pause != 0 && resume > pause) {
            return Err(refuse(format!(
                "thresholds pause {pause} / resume {resume} for capacity {capacity}"
            )));
        }
        let page = page_size();
        let errors_off = round_up(size_of::<Words>() as u64, align_of::<ErrorRecord>() as u64);
        let lens_off = errors_off.and_then(|e| {
            round_up(
                e + 2 * size_of::<ErrorRecord>() as u64,
                align_of::<AtomicUsize>() as u64,
            )
        });
        let data_off =
            lens_off.and_then(|l| round_up(l + slots * size_of::<AtomicUsize>() as u64, page));
        let len = data_off.and_then(|d| round_up(d + data, page));
        match (errors_off, lens_off, data_off, len) {
            (Some(errors_off), Some(lens_off), Some(data_off), Some(len)) if len <= MAX_REGION => {
                Ok(Layout {
                    slots: slots as usize,
                    chunk_size: chunk_size as usize,
                    capacity,
                    pause,
                    resume,
                    errors_off: errors_off as usize,
                    lens_off: lens_off as usize,
                    data_off: data_off as usize,
                    len: len as usize,
                })
            }
            _ => Err(refuse(format!(
                "{slots} slots of {chunk_size} bytes make a region larger than {MAX_REGION} bytes"
            ))),
        }
    }

    /// The handshake that hands the region to the other process, whose end is `role`.
    pub(crate) fn encode(&self, role: Side) -> [u8; HELLO_LEN] {
        let mut m = [0u8; HELLO_LEN];
        m[..8].copy_from_slice(&MAGIC);
        let fields = [
            role as u64,
            self.slots as u64,
            self.chunk_size as u64,
            self.capacity,
            self.pause,
            self.resume,
            self.len as u64,
            size_of::<Words>() as u64,
            size_of::<ErrorRecord>() as u64,
        ];
        for (i, v) in fields.iter().enumerate() {
            m[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        m
    }

    /// The role and layout a handshake names, checked: the same protocol version and build
    /// layout, sizes [`new`](Self::new) accepts, and the region size they make.
    pub(crate) fn decode(m: &[u8]) -> io::Result<(Side, Layout)> {
        if m.len() != HELLO_LEN || m[..8] != MAGIC {
            return Err(refuse(format!(
                "the handshake ({} bytes) is not a ringpipe shared ring of this version",
                m.len()
            )));
        }
        let field = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&m[8 + 8 * i..16 + 8 * i]);
            u64::from_le_bytes(b)
        };
        let role = match field(0) {
            0 => Side::Writer,
            1 => Side::Reader,
            r => return Err(refuse(format!("unknown role {r}"))),
        };
        if field(7) != size_of::<Words>() as u64 || field(8) != size_of::<ErrorRecord>() as u64 {
            return Err(refuse(
                "the other process lays the ring out differently (another build or architecture)"
                    .into(),
            ));
        }
        let layout = Layout::new(field(1), field(2), field(3), field(4), field(5))?;
        if field(6) != layout.len as u64 {
            return Err(refuse(format!(
                "region of {} bytes for a layout of {}",
                field(6),
                layout.len
            )));
        }
        Ok((role, layout))
    }
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_hostile_handshakes_are_refused() {
        let l = Layout::new(16, 65536, 1 << 20, 1 << 19, 1 << 18).unwrap();
        assert_eq!(l.data_off % page_size() as usize, 0);
        assert!(l.len >= l.data_off + 16 * 65536);
        let m = l.encode(Side::Reader);
        assert_eq!(Layout::decode(&m).unwrap(), (Side::Reader, l));

        let set = |i: usize, v: u64| {
            let mut m = m;
            m[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
            m
        };
        for bad in [
            set(0, 2),              // role
            set(1, 3),              // slots not a power of two
            set(1, 1 << 40),        // too many slots
            set(2, 0),              // empty slots
            set(2, u64::MAX),       // huge slots
            set(3, 0),              // no capacity
            set(3, 16 * 65536 + 1), // more capacity than slots
            set(4, 1 << 21),        // pause past capacity
            set(5, 1 << 20),        // resume past pause
            set(6, 4096),           // region size that does not match
            set(7, 1),              // another build's layout
        ] {
            assert!(Layout::decode(&bad).is_err());
        }
        assert!(Layout::decode(&m[..40]).is_err());
        let mut wrong = m;
        wrong[0] = b'X';
        assert!(Layout::decode(&wrong).is_err());
    }
}
