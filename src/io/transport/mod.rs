//! Socket transports: the pipe protocol between a connected socket and the application's
//! [`DuplexEnd`](crate::DuplexEnd). What they do, and how each loop ends: the crate docs'
//! "Socket transports" (this module is private, so the table lives there). The options and
//! the statistics here; [`tokio`]: the async transport, one future per connection;
//! [`blocking`]: two threads over std's sockets (Linux).

#[cfg(target_os = "linux")]
pub(crate) mod blocking;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;

use crate::pipe::options::PipeOptions;

/// The most chunks the send loop hands to one vectored write. Linux takes up to 1024
/// (`IOV_MAX`); a pipe's read rarely spans more than a few chunks, and 64 keeps the slices on
/// the stack.
pub const TRANSPORT_MAX_IO_SLICES: usize = 64;

/// The pipes of a transport: [`receive`](Self::receive) carries what the socket receives to
/// the application, [`send`](Self::send) what the application writes to the socket. Their
/// pause thresholds are the transport's backpressure.
#[derive(Clone, Debug, Default)]
pub struct TransportOptions {
    pub(crate) receive: PipeOptions,
    pub(crate) send: PipeOptions,
}

impl TransportOptions {
    /// Default options both ways.
    pub fn new() -> TransportOptions {
        TransportOptions::default()
    }

    /// The options of the pipe from the socket to the application.
    pub fn receive(mut self, options: PipeOptions) -> TransportOptions {
        self.receive = options;
        self
    }

    /// The options of the pipe from the application to the socket.
    pub fn send(mut self, options: PipeOptions) -> TransportOptions {
        self.send = options;
        self
    }
}

/// What a transport moved, when it ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Bytes read from the socket (and handed to the application).
    pub received: u64,
    /// Bytes written to the socket.
    pub sent: u64,
    /// Socket reads that returned data or the end of the stream.
    pub reads: u64,
    /// Socket writes that wrote something.
    pub writes: u64,
}
