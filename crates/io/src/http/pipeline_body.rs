//! A pipeline's output as a response body's stream: the body drives the
//! run, ends only once the run has succeeded, and hands the run's report
//! to a [`ReportHandle`] once the body has ended.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::oneshot;
use weir_core::{BufferConfig, DEFAULT_BYTES, Error, Limit, Reader};
use weir_pipe::{Pipeline, Report};

use super::ReportHandle;

/// The name of the stage that hands the pipeline's output to the body.
pub(crate) const STAGE: &str = "response";

type RunFuture = Pin<Box<dyn Future<Output = Result<Report, Error>> + Send + 'static>>;

/// The stream behind [`ResponseBody::from_pipeline`](super::ResponseBody::from_pipeline).
pub(crate) struct PipelineStream {
    /// The run, until it has ended. Polling it the first time starts the
    /// stage tasks; dropping it aborts them.
    run: Option<RunFuture>,
    /// The run's result once it has ended.
    outcome: Option<Result<Report, Error>>,
    /// The end of the buffer the pipeline's sink writes into.
    reader: Reader<Bytes>,
    /// Where the report goes once the body has ended (taken then).
    report_tx: Option<oneshot::Sender<Result<Report, Error>>>,
    /// How the output ended, once it has (then it is not polled again).
    output_end: Option<Result<(), Error>>,
    done: bool,
}

impl fmt::Debug for PipelineStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineStream")
            .field("running", &self.run.is_some())
            .field("done", &self.done)
            .finish()
    }
}

impl PipelineStream {
    pub(crate) fn new(pipeline: Pipeline<Bytes>) -> (Self, ReportHandle) {
        let (writer, reader) = BufferConfig::new(Limit::bytes(DEFAULT_BYTES))
            .name(STAGE)
            .build();
        let run = pipeline.into_named(STAGE, writer);
        let (report_tx, report_rx) = oneshot::channel();
        let stream = PipelineStream {
            run: Some(Box::pin(run.run())),
            outcome: None,
            reader,
            report_tx: Some(report_tx),
            output_end: None,
            done: false,
        };
        (stream, ReportHandle::new(report_rx))
    }

    /// Ends the stream with `result`: the report (or the error) goes to the
    /// handle.
    fn finish(&mut self, result: Result<Report, Error>) -> Option<Result<Bytes, Error>> {
        self.done = true;
        self.run = None;
        let out = result.as_ref().err().map(|e| Err(e.duplicate()));
        if let Some(tx) = self.report_tx.take() {
            let _ = tx.send(result);
        }
        out
    }
}

impl Stream for PipelineStream {
    type Item = Result<Bytes, Error>;

    /// # Return value
    /// - `Poll::Pending`: no chunk yet, or the output has ended and the run
    ///   has not; the waker is registered with both.
    /// - `Poll::Ready(Some(Ok(chunk)))`: the pipeline's next chunk.
    /// - `Poll::Ready(Some(Err(e)))`: the run failed (its error, naming the
    ///   stage); fused.
    /// - `Poll::Ready(None)`: the output has ended and the run succeeded;
    ///   fused.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(run) = this.run.as_mut()
            && let Poll::Ready(result) = run.as_mut().poll(cx)
        {
            // On an error, what the pipeline produced before it is still
            // sent (the reader sees it, then the sink's end): the body
            // fails once that is out.
            this.run = None;
            this.outcome = Some(result);
        }
        if this.output_end.is_none() {
            this.output_end = Some(match ready!(Pin::new(&mut this.reader).poll_next(cx)) {
                Some(Ok(chunk)) => return Poll::Ready(Some(Ok(chunk))),
                // The sink was dropped unfinished: the run fails, and says
                // why once it has ended.
                Some(Err(e)) => Err(e),
                None => Ok(()),
            });
        }
        if this.run.is_some() {
            // The output has ended but the run has not: the waker is
            // registered with it (above), and the end waits for its verdict.
            return Poll::Pending;
        }
        let result = match (this.output_end.take(), this.outcome.take()) {
            (Some(Ok(())), Some(Ok(report))) => Ok(report),
            (_, Some(Err(e))) | (Some(Err(e)), _) => Err(e),
            // Not reached: the run has ended and so has the output.
            _ => Err(Error::aborted("the pipeline ended without a report")),
        };
        Poll::Ready(this.finish(result))
    }
}
