//! The examples' servers' linger on the ringpipe transport: after a `quit` or a protocol
//! error, read and discard what the client still sends, for a while. Closing a socket with
//! unread bytes resets the connection, and a reset can destroy the last replies before the
//! client reads them.

use ringpipe::PipeReader;
use std::time::Duration;

/// Reads and discards `input` until its end, an error, or `for_at_most` has passed (timing
/// out is the end of the linger, not an error).
pub async fn linger(input: &mut PipeReader, for_at_most: Duration) {
    let discard = async {
        loop {
            let Ok(result) = input.read().await else {
                return;
            };
            let (end, completed) = (result.buffer().end(), result.is_completed());
            if input.advance_to(end, end).is_err() || completed {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(for_at_most, discard).await;
}
