//! Connecting to a server or a cluster.

use std::time::Duration;

use async_nats::jetstream;
use weir_core::Error;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnection attempts (to any server of the list) before the client
/// gives up and its operations fail.
const MAX_RECONNECTS: usize = 30;

/// Connects to `servers`, a comma-separated list of URLs (`nats://host:port`,
/// `host:port`, `tls://…`), and returns the JetStream context.
///
/// The client tries the servers of the list (and those the cluster
/// announces); when the connection drops it reconnects, to any of them, up
/// to 30 times about every 250 ms, then gives up, so that a server that is
/// gone for good becomes an error instead of a wait without end.
///
/// # Cancel safety
/// Cancel safe: dropping the future abandons the attempt.
///
/// # Errors
/// Stage `connect`: the list is empty or malformed, or no server answered.
pub async fn connect(servers: &str) -> Result<jetstream::Context, Error> {
    let list: Vec<&str> = servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() {
        return Err(Error::msg("no server given").with_stage("connect"));
    }
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(MAX_RECONNECTS)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(if attempts <= 1 { 0 } else { 250 })
        })
        .connect(list.as_slice())
        .await
        .map_err(|e| Error::msg(format!("{servers}: {e}")).with_stage("connect"))?;
    Ok(jetstream::new(client))
}
