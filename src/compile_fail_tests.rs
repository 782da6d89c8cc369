//! Compile-time guarantees, each with a compiling twin.
//!
//! A second read while a [`ReadResult`](crate::ReadResult) is alive does not compile:
//!
//! ```compile_fail
//! let (_w, mut r) = ringpipe::pipe(Default::default());
//! let first = r.try_read().unwrap();
//! let second = r.try_read().unwrap();
//! drop((first, second));
//! ```
//!
//! Once the first result is no longer used, a second read compiles:
//!
//! ```
//! let (_w, mut r) = ringpipe::pipe(Default::default());
//! let first = r.try_read().unwrap().is_some();
//! let second = r.try_read().unwrap().is_some();
//! assert!(!first && !second);
//! ```
//!
//! `advance_to` while the result's buffer is still used does not compile:
//!
//! ```compile_fail
//! let (mut w, mut r) = ringpipe::pipe(Default::default());
//! w.write_all_blocking(b"x").unwrap();
//! let res = r.try_read().unwrap().unwrap();
//! let buf = res.buffer();
//! r.advance_to(buf.end(), buf.end()).unwrap();
//! println!("{}", buf.len());
//! ```
//!
//! Taking the positions first compiles:
//!
//! ```
//! let (mut w, mut r) = ringpipe::pipe(Default::default());
//! w.write_all_blocking(b"x").unwrap();
//! let res = r.try_read().unwrap().unwrap();
//! let end = res.buffer().end();
//! r.advance_to(end, end).unwrap();
//! ```
//!
//! The memory from `get_memory` cannot be used after `advance`:
//!
//! ```compile_fail
//! let (mut w, _r) = ringpipe::pipe(Default::default());
//! let buf = w.try_get_memory(1).unwrap();
//! w.advance(1);
//! buf[0] = 1;
//! ```
//!
//! ```
//! let (mut w, _r) = ringpipe::pipe(Default::default());
//! let buf = w.try_get_memory(1).unwrap();
//! buf[0] = 1;
//! w.advance(1);
//! ```
//!
//! The halves are not `Clone`:
//!
//! ```compile_fail
//! let (w, _r) = ringpipe::pipe(Default::default());
//! let w2 = w.clone();
//! ```
//!
//! They are `Send`:
//!
//! ```
//! fn send<T: Send>(_: T) {}
//! let (w, r) = ringpipe::pipe(Default::default());
//! send(w);
//! send(r);
//! ```
