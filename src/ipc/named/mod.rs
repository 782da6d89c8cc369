//! Named pipes (.NET `NamedPipeServerStream` / `NamedPipeClientStream` on Linux, with their
//! holes closed): [`name`] (where a name lives), [`lock`] (the bind lock and the instance
//! slots), [`server`] (taking a name safely, accepting), [`client`] (connecting, waiting for a
//! server without spinning), [`stream`] (a connection, and the ringpipe duplex end over it).

pub(crate) mod client;
pub(crate) mod lock;
pub(crate) mod name;
pub(crate) mod server;
pub(crate) mod stream;
