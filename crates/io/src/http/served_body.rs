//! What the server hands hyper as a response body: the service's own body,
//! or one the server made itself (400 for a bad `Host`, 500 for a service
//! that failed), under one type.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use weir_core::BoxError;

use super::ResponseBody;

pin_project! {
    /// A response body of the service (`B`) or of the server.
    #[project = ServedProj]
    #[derive(Debug)]
    pub(crate) enum ServedBody<B> {
        /// A response the server made itself.
        Own { #[pin] body: ResponseBody },
        /// The service's response.
        Service { #[pin] body: B },
    }
}

impl<B> ServedBody<B> {
    pub(crate) fn own(body: ResponseBody) -> Self {
        ServedBody::Own { body }
    }

    pub(crate) fn service(body: B) -> Self {
        ServedBody::Service { body }
    }
}

impl<B> Body for ServedBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            ServedProj::Own { body } => body.poll_frame(cx).map_err(Into::into),
            // `copy_to_bytes` of a whole `Bytes` hands it over without a
            // copy; other buffer types are copied once.
            ServedProj::Service { body } => body
                .poll_frame(cx)
                .map_ok(|f| f.map_data(|mut d| d.copy_to_bytes(d.remaining())))
                .map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ServedBody::Own { body } => body.is_end_stream(),
            ServedBody::Service { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ServedBody::Own { body } => body.size_hint(),
            ServedBody::Service { body } => body.size_hint(),
        }
    }
}
