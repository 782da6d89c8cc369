//! The key-value store and the commands, shared by the three servers so that only their I/O
//! paths differ: one `HashMap` behind one `std::sync::Mutex`, and [`execute`], which runs a
//! parsed request straight from the buffer it arrived in.
//!
//! Commands: `PING [message]`, `ECHO message`, `SET key value` (no options), `GET key`,
//! `DEL key [key ...]`, `CONFIG GET parameter [parameter ...]` (what redis-benchmark asks at
//! connect: `save` is `""`, `appendonly` is `no`, anything else is not reported, exact names
//! only, no glob patterns) and `QUIT`. Names are case-insensitive; the error replies are
//! Redis's.

use crate::cursor::{Arg, Cursor};
use crate::parser::Shape;
use crate::reply::Replies;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The store: every key and value, shared by all connections.
#[derive(Debug, Default)]
pub struct Store {
    map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// The map. Nothing panics while holding it, but a poisoned lock would still hold a
    /// consistent map (every update is one `HashMap` call), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the connection does after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Go on reading requests.
    Continue,
    /// Send the replies so far, then close (`QUIT`).
    Close,
}

/// The configuration parameters `CONFIG GET` reports, as Redis would for a server that
/// persists nothing.
const CONFIG: &[(&str, &str)] = &[("save", ""), ("appendonly", "no")];

/// At most this many bytes of a client's command name are quoted back in an error.
const QUOTED_NAME_MAX: usize = 128;

/// Runs the request `shape`, whose bytes start at `start`, replying into `out`.
pub fn execute<C: Cursor>(
    store: &Store,
    shape: &Shape,
    start: C,
    out: &mut impl Replies,
) -> Outcome {
    let argc = shape.argc();
    let mut args = shape.args(start);
    let Some(name) = args.next() else {
        return Outcome::Continue; // an empty request: no reply
    };
    let name = name.contiguous();
    let is = |command: &str| name.eq_ignore_ascii_case(command.as_bytes());
    if is("PING") {
        match (argc, args.next()) {
            (1, _) => out.simple("PONG"),
            (2, Some(message)) => out.bulk(&message.contiguous()),
            _ => wrong_arity(out, "ping"),
        }
    } else if is("ECHO") {
        match (argc, args.next()) {
            (2, Some(message)) => out.bulk(&message.contiguous()),
            _ => wrong_arity(out, "echo"),
        }
    } else if is("GET") {
        match (argc, args.next()) {
            (2, Some(key)) => {
                let key = key.contiguous();
                let map = store.lock();
                match map.get(&*key) {
                    Some(value) => out.bulk(value),
                    None => out.null(),
                }
            }
            _ => wrong_arity(out, "get"),
        }
    } else if is("SET") {
        match (argc, args.next(), args.next()) {
            (3, Some(key), Some(value)) => {
                set(store, key.contiguous(), value.contiguous());
                out.simple("OK");
            }
            (n, _, _) if n > 3 => out.error("ERR syntax error"),
            _ => wrong_arity(out, "set"),
        }
    } else if is("DEL") {
        if argc < 2 {
            wrong_arity(out, "del");
        } else {
            let mut map = store.lock();
            let removed = args.filter(|key| map.remove(&*key.contiguous()).is_some());
            out.integer(removed.count() as i64);
        }
    } else if is("CONFIG") {
        config(args, argc, out);
    } else if is("QUIT") {
        out.simple("OK");
        return Outcome::Close;
    } else {
        let quoted = printable(&name[..name.len().min(QUOTED_NAME_MAX)]);
        out.error(&format!("ERR unknown command '{quoted}'"));
    }
    Outcome::Continue
}

/// `SET`: a present key's value is overwritten in place (no allocation when it fits).
fn set(store: &Store, key: Cow<'_, [u8]>, value: Cow<'_, [u8]>) {
    let mut map = store.lock();
    match map.get_mut(&*key) {
        Some(old) => {
            old.clear();
            old.extend_from_slice(&value);
        }
        None => {
            map.insert(key.into_owned(), value.into_owned());
        }
    }
}

/// `CONFIG GET parameter...`: an array of name/value pairs for the parameters in [`CONFIG`].
fn config<C: Cursor>(mut args: crate::parser::Args<C>, argc: usize, out: &mut impl Replies) {
    let sub = args.next();
    let is_get = sub
        .as_ref()
        .is_some_and(|s| s.contiguous().eq_ignore_ascii_case(b"GET"));
    if !is_get {
        let quoted = sub.map_or(Cow::Borrowed(""), |s| {
            let bytes = s.contiguous();
            Cow::Owned(printable(&bytes[..bytes.len().min(QUOTED_NAME_MAX)]))
        });
        out.error(&format!(
            "ERR unknown subcommand '{quoted}'. Try CONFIG HELP."
        ));
        return;
    }
    if argc < 3 {
        return wrong_arity(out, "config|get");
    }
    let known = |param: &C::Bytes| {
        let param = param.contiguous();
        CONFIG
            .iter()
            .find(|(name, _)| param.eq_ignore_ascii_case(name.as_bytes()))
            .copied()
    };
    let found = args.filter_map(|p| known(&p)).count();
    out.array(found * 2);
    for (name, value) in args.filter_map(|p| known(&p)) {
        out.bulk(name.as_bytes());
        out.bulk(value.as_bytes());
    }
}

fn wrong_arity(out: &mut impl Replies, command: &str) {
    out.error(&format!(
        "ERR wrong number of arguments for '{command}' command"
    ));
}

/// `bytes` with everything but printable ASCII shown as `?`, to quote a client's bytes in an
/// error reply.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}
