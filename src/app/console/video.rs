//! `/recordings/STEM/video`: the recording a consultation opened, from the descriptor the
//! daemon passed, with HTTP Range requests (206) so that the player can seek.

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::Console;
use super::http::Authed;
use super::i18n::t;
use super::pages::layout;

/// The most bytes one response carries; the player asks again for the rest.
const MAX_CHUNK: u64 = 4 << 20;

/// A `Range: bytes=A-B` request, against a file of `size` bytes: the first and last byte.
pub fn range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (first, last) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (a.parse().ok()?, size - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(size - 1)),
    };
    (first <= last && first < size).then_some((first, last))
}

/// `GET /recordings/STEM/video`
pub(crate) async fn serve(
    State(console): State<Arc<Console>>,
    a: Authed,
    Path(stem): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(opened) = a.session.opened.get(&stem).cloned() else {
        let body = html! { p.error { (t(a.lang, "error.not_opened")) } };
        return (
            StatusCode::FORBIDDEN,
            layout(&console, &a, t(a.lang, "error.title"), body),
        )
            .into_response();
    };
    let size = opened.size;
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, first, last) = match asked {
        None => (StatusCode::OK, 0, size.saturating_sub(1)),
        Some(h) => match range(h, size) {
            Some((f, l)) => (StatusCode::PARTIAL_CONTENT, f, l.min(f + MAX_CHUNK - 1)),
            None => {
                return (
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{size}"))],
                )
                    .into_response();
            }
        },
    };
    // A whole file without a Range is streamed in chunks rather than held in memory.
    let file = opened.file.clone();
    let stream = futures_util::stream::unfold(first, move |at| {
        let file = file.clone();
        async move {
            if size == 0 || at > last {
                return None;
            }
            let n = (last - at + 1).min(1 << 20);
            let read = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; n as usize];
                file.read_exact_at(&mut buf, at).map(|()| buf)
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            match read {
                Ok(buf) => Some((Ok::<_, std::io::Error>(buf), at + n)),
                Err(e) => Some((Err(e), u64::MAX)),
            }
        }
    });
    let length = if size == 0 { 0 } else { last - first + 1 };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, length);
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {first}-{last}/{size}"),
        );
    }
    response
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(range("bytes=0-", 100), Some((0, 99)));
        assert_eq!(range("bytes=10-19", 100), Some((10, 19)));
        assert_eq!(range("bytes=90-200", 100), Some((90, 99)));
        assert_eq!(range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(range("bytes=100-", 100), None);
        assert_eq!(range("bytes=5-1", 100), None);
        assert_eq!(range("bytes=0-1,3-4", 100), None);
        assert_eq!(range("items=0-1", 100), None);
    }
}
