//! Connecting to a server or a cluster.

use std::time::Duration;

use async_nats::jetstream;
use weir_core::Error;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between two reconnection attempts (after the first, at once).
const RECONNECT_DELAY: Duration = Duration::from_millis(250);
/// How long [`connect`]'s client tries to reconnect before it gives up.
pub const DEFAULT_RECONNECT_FOR: Duration = Duration::from_secs(10);

/// Connects to `servers`, a comma-separated list of URLs (`nats://host:port`,
/// `host:port`, `tls://…`), and returns the JetStream context; a dropped
/// connection is retried for [`DEFAULT_RECONNECT_FOR`] (10 s), as
/// [`connect_with`] describes.
///
/// # Cancel safety
/// Cancel safe: dropping the future abandons the attempt.
///
/// # Errors
/// Stage `connect`: the list is empty or malformed, or no server answered.
pub async fn connect(servers: &str) -> Result<jetstream::Context, Error> {
    connect_with(servers, DEFAULT_RECONNECT_FOR).await
}

/// Connects to `servers` (as [`connect`]), and when the connection drops
/// tries to reconnect, to any server of the list (and those the cluster
/// announces), every 250 ms for about `reconnect_for` (`reconnect_for` /
/// 250 ms attempts, at least one; an attempt on a host that does not
/// answer at all may take up to 5 s), then gives up: the client closes, a
/// [`JetStreamSource`](crate::JetStreamSource) reading through it ends with
/// an error, and acknowledgements fail. A server that is gone for good thus
/// becomes an error within `reconnect_for`, and one that is back within it
/// (restarted, or another node of the cluster) is picked up again, with
/// nothing lost: what was pulled and not acknowledged is delivered again.
///
/// While the client is reconnecting, what it is asked to send (pulls,
/// acknowledgements) waits in its bounded command queue and goes out once
/// it is connected again.
///
/// # Cancel safety
/// Cancel safe: dropping the future abandons the attempt.
///
/// # Errors
/// Stage `connect`: the list is empty or malformed, or no server answered.
pub async fn connect_with(
    servers: &str,
    reconnect_for: Duration,
) -> Result<jetstream::Context, Error> {
    let list: Vec<&str> = servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() {
        return Err(Error::msg("no server given").with_stage("connect"));
    }
    let attempts = reconnect_for
        .as_millis()
        .div_ceil(RECONNECT_DELAY.as_millis())
        .max(1);
    let attempts = usize::try_from(attempts).unwrap_or(usize::MAX);
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(attempts)
        .reconnect_delay_callback(|attempts| {
            if attempts <= 1 {
                Duration::ZERO
            } else {
                RECONNECT_DELAY
            }
        })
        .connect(list.as_slice())
        .await
        .map_err(|e| Error::msg(format!("{servers}: {e}")).with_stage("connect"))?;
    Ok(jetstream::new(client))
}
