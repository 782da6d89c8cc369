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

/// The chunk size of a transport's pipes unless set: a socket read fills at most the rest of
/// one chunk, so the chunk size is the most one receive system call moves (16 KiB chunks, the
/// pipe's default, take 64 reads per MiB; 64 KiB take 16, and moved 1.2-2x the bytes per
/// second in `examples/socket_bench.rs`).
pub const TRANSPORT_CHUNK_SIZE: usize = 64 << 10;

/// The pause threshold of a transport's pipes unless set: four chunks in flight.
pub const TRANSPORT_PAUSE_THRESHOLD: usize = 4 * TRANSPORT_CHUNK_SIZE;

/// The pipes of a transport: [`receive`](Self::receive) carries what the socket receives to
/// the application, [`send`](Self::send) what the application writes to the socket. Their
/// pause thresholds are the transport's backpressure.
///
/// Unless set, both are the pipe's defaults with [`TRANSPORT_CHUNK_SIZE`] chunks and a
/// [`TRANSPORT_PAUSE_THRESHOLD`] (chunks come from the shared pool of that size, so an idle
/// connection holds none).
#[derive(Clone, Debug)]
pub struct TransportOptions {
    pub(crate) receive: PipeOptions,
    pub(crate) send: PipeOptions,
}

impl Default for TransportOptions {
    fn default() -> TransportOptions {
        let pipe = PipeOptions::builder()
            .chunk_size(TRANSPORT_CHUNK_SIZE)
            .pause_writer_threshold(TRANSPORT_PAUSE_THRESHOLD)
            .build()
            .expect("ringpipe: the transport's default pipe options are valid");
        TransportOptions {
            receive: pipe.clone(),
            send: pipe,
        }
    }
}

impl TransportOptions {
    /// The defaults both ways (see the type's docs).
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
