use std::fmt;

use tokio::sync::oneshot;
use weir_core::Error;
use weir_pipe::Report;

/// The run report of a pipeline sent as a response body
/// ([`ResponseBody::from_pipeline`](super::ResponseBody::from_pipeline)),
/// available once the body has ended.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use http_body_util::BodyExt;
/// use weir_io::http::ResponseBody;
/// use weir_pipe::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let source = weir_core::readable::from_iter((0..4).map(|_| Bytes::from_static(b"data ")));
/// let (body, report) = ResponseBody::from_pipeline(Pipeline::from(source).named("generate"));
/// let sent = body.collect().await?.to_bytes();
/// let report = report.report().await?;
/// assert_eq!(report.bytes_out, sent.len() as u64);
/// assert!(report.stage("generate").is_some());
/// # Ok(()) }
/// ```
#[must_use = "the report is lost if the handle is dropped"]
pub struct ReportHandle {
    rx: oneshot::Receiver<Result<Report, Error>>,
}

impl fmt::Debug for ReportHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportHandle").finish_non_exhaustive()
    }
}

impl ReportHandle {
    pub(crate) fn new(rx: oneshot::Receiver<Result<Report, Error>>) -> Self {
        ReportHandle { rx }
    }

    /// Waits until the body has ended, then returns the run's report.
    ///
    /// The report is ready when the body has handed its last chunk to
    /// hyper: by the time a client has read the whole response, it is
    /// there. Each stage's counters are the pipeline's; its last stage,
    /// `response`, is the hand-over to the body, so a slow client shows up
    /// there as the bottleneck.
    ///
    /// # Cancel safety
    /// Dropping the future drops the handle (it is taken by value); the
    /// body and its run are not affected.
    ///
    /// # Errors
    /// - The run's error (naming the stage that failed), which also ended
    ///   the body with an error (the client saw an aborted response).
    /// - An error for which [`Error::is_aborted`] is true if the body was
    ///   dropped before its end (the client went away, or the response was
    ///   never sent): the run was then cancelled.
    pub async fn report(self) -> Result<Report, Error> {
        match self.rx.await {
            Ok(result) => result,
            Err(_) => Err(Error::aborted(
                "the response body was dropped before its end; the pipeline was cancelled",
            )
            .with_stage(super::pipeline_body::STAGE)),
        }
    }
}
