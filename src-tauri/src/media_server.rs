//! The recordings the editor plays, served on the loopback interface.
//!
//! WebKitGTK's media player (GStreamer) cannot read the asset protocol the window loads
//! pictures from (WebKit bug 146351), so a recording is served over HTTP instead, with
//! range requests (seeking) as a media element expects: on 127.0.0.1 only, at a port
//! chosen by the system, each file under an unguessable token of its own. Only files the
//! shell has allowed are served (the source media of a document the window opened); a
//! request for anything else is 404, and nothing but GET and HEAD is answered.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::OnceCell;
use tower::ServiceExt;
use tower_http::services::ServeFile;

type Files = Arc<Mutex<HashMap<String, PathBuf>>>;

/// The server, started at the first recording served.
#[derive(Default)]
pub struct MediaServer {
    addr: OnceCell<SocketAddr>,
    files: Files,
}

impl MediaServer {
    /// The URL the window plays `file` from (a file the shell allowed).
    pub async fn url(&self, file: &Path) -> std::io::Result<String> {
        let files = self.files.clone();
        let addr = self
            .addr
            .get_or_try_init(|| async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
                let addr = listener.local_addr()?;
                let app = Router::new()
                    .route("/media/{token}", get(serve))
                    .with_state(files);
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, app).await {
                        tracing::warn!(error = %e, "the recordings' server stopped");
                    }
                });
                Ok::<_, std::io::Error>(addr)
            })
            .await?;
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let token = match files.iter().find(|(_, p)| p.as_path() == file) {
            Some((t, _)) => t.clone(),
            None => {
                let bytes: [u8; 16] = rand::random();
                let t: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                files.insert(t.clone(), file.to_path_buf());
                t
            }
        };
        Ok(format!("http://{addr}/media/{token}"))
    }
}

async fn serve(
    State(files): State<Files>,
    UrlPath(token): UrlPath<String>,
    req: Request,
) -> Response {
    let file = files
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&token)
        .cloned();
    match file {
        Some(file) => match ServeFile::new(file).oneshot(req).await {
            Ok(r) => r.into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_is_served_by_range_under_its_token_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("talk.mp4");
        std::fs::write(&file, b"0123456789").unwrap();
        let server = MediaServer::default();
        let url = server.url(&file).await.unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_eq!(server.url(&file).await.unwrap(), url, "one token per file");
        let (status, body) = tokio::task::spawn_blocking(move || {
            let r = ureq::get(&url).header("Range", "bytes=2-5").call().unwrap();
            let status = r.status();
            (status, r.into_body().read_to_string().unwrap())
        })
        .await
        .unwrap();
        assert_eq!((status.as_u16(), body.as_str()), (206, "2345"));
        let other = format!("http://{}/media/0000", server.addr.get().unwrap());
        let status = tokio::task::spawn_blocking(move || match ureq::get(&other).call() {
            Err(ureq::Error::StatusCode(s)) => s,
            other => panic!("{other:?}"),
        })
        .await
        .unwrap();
        assert_eq!(status, 404);
    }
}
