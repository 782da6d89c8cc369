//! [`NamedPipeStream`]: one connection of a named pipe, on either side, and the socket type a
//! transport takes over it ([`NamedSocket`]).

use super::super::creds::PeerCredentials;
use super::lock::Slot;
use crate::io::duplex::DuplexEnd;
use crate::io::message::{message_pipe_options, MessageReader, MessageWriter};
use crate::io::transport::TransportOptions;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// A connected named pipe (.NET's `NamedPipeServerStream` once connected, or a
/// `NamedPipeClientStream`): the peer's [credentials](Self::peer_credentials), `Read` and
/// `Write` straight on the socket, and the ringpipe forms: [`into_duplex`](Self::into_duplex)
/// (a transport on two threads) or, with the `tokio` feature,
/// `into_async_duplex` (one future), each giving a [`DuplexEnd`]
/// whose reads land in pipe memory.
///
/// A server's connection holds an instance slot (see
/// [`max_instances`](crate::NamedPipeServerOptions::max_instances)) until it is dropped, or,
/// after `into_*duplex`, until its transport ends. Dropping it disconnects.
#[derive(Debug)]
pub struct NamedPipeStream {
    socket: NamedSocket<UnixStream>,
    peer: PeerCredentials,
}

impl NamedPipeStream {
    pub(crate) fn new(
        socket: UnixStream,
        peer: PeerCredentials,
        slot: Option<Slot>,
    ) -> NamedPipeStream {
        NamedPipeStream {
            socket: NamedSocket {
                inner: socket,
                _slot: slot.map(Arc::new),
            },
            peer,
        }
    }

    /// Who is at the other end.
    pub fn peer_credentials(&self) -> PeerCredentials {
        self.peer
    }

    /// The connection's socket.
    pub fn as_unix_stream(&self) -> &UnixStream {
        &self.socket.inner
    }

    /// The connection as a ringpipe duplex end, moved by a [`BlockingTransport`] (two
    /// threads, see the crate docs' "Socket transports").
    ///
    /// [`BlockingTransport`]: crate::BlockingTransport
    ///
    /// # Errors
    /// Starting the transport's threads.
    pub fn into_duplex(
        self,
        options: TransportOptions,
    ) -> io::Result<(DuplexEnd, crate::BlockingTransport)> {
        crate::BlockingTransport::spawn(self.socket, options)
    }

    /// The connection in message mode (see [`MessageReader`]): messages of up to `max` bytes
    /// both ways, moved by a [`BlockingTransport`](crate::BlockingTransport). The receive
    /// pipe's capacity is raised to hold the largest message whole
    /// ([`message_pipe_options`]), so [`MessageReader::read_message`] can hand any message out
    /// as one sequence. Both sides of a connection must use message mode.
    ///
    /// # Errors
    /// Starting the transport's threads.
    pub fn into_message_duplex(
        self,
        mut options: TransportOptions,
        max: usize,
    ) -> io::Result<(MessageReader, MessageWriter, crate::BlockingTransport)> {
        options.receive = message_pipe_options(&options.receive, max);
        let (end, transport) = self.into_duplex(options)?;
        let (input, output) = end.into_parts();
        Ok((
            MessageReader::new(input, max),
            MessageWriter::new(output, max),
            transport,
        ))
    }

    /// The connection as a ringpipe duplex end, moved by a [`SocketTransport`] (feature
    /// `tokio`): spawn the transport on the runtime whose reactor should watch the socket.
    ///
    /// [`SocketTransport`]: crate::SocketTransport
    ///
    /// # Errors
    /// Registering the socket with tokio (outside a runtime, for one).
    #[cfg(feature = "tokio")]
    pub fn into_async_duplex(
        self,
        options: TransportOptions,
    ) -> io::Result<(
        DuplexEnd,
        crate::SocketTransport<NamedSocket<tokio::net::UnixStream>>,
    )> {
        let NamedSocket { inner, _slot } = self.socket;
        inner.set_nonblocking(true)?;
        let socket = NamedSocket {
            inner: tokio::net::UnixStream::from_std(inner)?,
            _slot,
        };
        Ok(crate::SocketTransport::new(socket, options))
    }
}

impl Read for NamedPipeStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.inner.read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.socket.inner.read_vectored(bufs)
    }
}

impl Write for NamedPipeStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.inner.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.socket.inner.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for NamedPipeStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.inner.as_fd()
    }
}

/// A named pipe connection's socket with its instance slot: what a transport over a
/// [`NamedPipeStream`] owns, so the slot is free again when the transport closes the socket.
/// It is the socket for every I/O purpose.
#[derive(Debug)]
pub struct NamedSocket<S> {
    inner: S,
    _slot: Option<Arc<Slot>>,
}

impl<S> NamedSocket<S> {
    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl Read for NamedSocket<UnixStream> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for NamedSocket<UnixStream> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for NamedSocket<UnixStream> {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl crate::BlockingSocket for NamedSocket<UnixStream> {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(NamedSocket {
            inner: self.inner.try_clone()?,
            _slot: self._slot.clone(),
        })
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

#[cfg(feature = "tokio")]
mod tokio_impls {
    use super::NamedSocket;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::io::{self, IoSlice};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    impl<S: AsyncRead + Unpin> AsyncRead for NamedSocket<S> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for NamedSocket<S> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
        }
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
        }
        fn is_write_vectored(&self) -> bool {
            self.inner.is_write_vectored()
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().inner).poll_flush(cx)
        }
        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
        }
    }
}
