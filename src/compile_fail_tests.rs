//! Compile-time guarantees, each with a compiling twin.
//!
//! Each `compile_fail` block names the error it must fail with (E0499: a second mutable
//! borrow; E0505: a move while borrowed; E0599: no such method), so that a snippet that fails
//! for another reason (a typo, a renamed method) does not pass. Only a nightly rustdoc checks
//! the codes (`cargo +nightly test --doc`); a stable one only checks that the block fails.
//!
//! A second read while a [`ReadResult`](crate::ReadResult) is alive does not compile:
//!
//! ```compile_fail,E0499
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
//! ```compile_fail,E0499
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
//! ```compile_fail,E0499
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
//! Two pieces of memory from `get_memory` cannot be alive at once (the second call may hand
//! out the same bytes):
//!
//! ```compile_fail,E0499
//! let (mut w, _r) = ringpipe::pipe(Default::default());
//! let a = w.try_get_memory(1).unwrap();
//! let b = w.try_get_memory(1).unwrap();
//! a[0] = b[0];
//! ```
//!
//! ```
//! let (mut w, _r) = ringpipe::pipe(Default::default());
//! w.try_get_memory(1).unwrap()[0] = 1;
//! let b = w.try_get_memory(1).unwrap();
//! b[0] = 2;
//! ```
//!
//! Nor can that memory be used after the writer completes (its chunk may go back to the pool)
//! or is dropped:
//!
//! ```compile_fail,E0499
//! let (mut w, _r) = ringpipe::pipe(Default::default());
//! let buf = w.try_get_memory(1).unwrap();
//! w.complete();
//! buf[0] = 1;
//! ```
//!
//! ```compile_fail,E0505
//! let (mut w, _r) = ringpipe::pipe(Default::default());
//! let buf = w.try_get_memory(1).unwrap();
//! drop(w);
//! buf[0] = 1;
//! ```
//!
//! A read result, and the sequence in it, cannot outlive the reader (the chunks it points into
//! are the reader's to give back):
//!
//! ```compile_fail,E0505
//! let (mut w, mut r) = ringpipe::pipe(Default::default());
//! w.write_all_blocking(b"x").unwrap();
//! let buf = r.try_read().unwrap().unwrap().buffer();
//! drop(r);
//! println!("{}", buf.len());
//! ```
//!
//! ```
//! let (mut w, mut r) = ringpipe::pipe(Default::default());
//! w.write_all_blocking(b"x").unwrap();
//! let bytes = r.try_read().unwrap().unwrap().buffer().to_vec();
//! drop(r);
//! assert_eq!(bytes, b"x");
//! ```
//!
//! The halves are not `Clone`:
//!
//! ```compile_fail,E0599
//! let (w, _r) = ringpipe::pipe(Default::default());
//! let w2 = w.clone();
//! ```
//!
//! ```compile_fail,E0599
//! let (_w, r) = ringpipe::pipe(Default::default());
//! let r2 = r.clone();
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
