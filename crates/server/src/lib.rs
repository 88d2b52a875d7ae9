//! The local HTTP API, the third face of [`Core`] beside the CLI and the window: served
//! by `video2doc serve` and by the desktop app while its window runs (when the settings
//! turn it on). The endpoints of the FastAPI service it replaces, same paths and
//! methods, over the same [`Core`] calls as the CLI, plus a server-sent event stream
//! of job events and an OpenAPI document. Bound to 127.0.0.1 only; every request needs
//! the bearer token kept in the data folder (created on first start, readable by the
//! user alone). Bodies are validated: unknown fields, missing files and bad values get
//! a 4xx with a JSON error.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path as UrlPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use video2doc_core::ErrorClass;
use video2doc_core::Format;
use video2doc_core::{Core, CoreError, ProcessOptions};
use video2doc_core::{DeviceSetting, GroupId, JobId, Priority, SpeakerCount};

/// An API error: a status and `{"error": {"code", "message"}}`.
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({ "error": { "code": self.1, "message": self.2 } })),
        )
            .into_response()
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let (status, code) = status_of(e.class());
        ApiError(status, code, e.to_string())
    }
}

/// The HTTP side of the error contract (the old service's statuses and codes).
pub fn status_of(class: ErrorClass) -> (StatusCode, &'static str) {
    match class {
        ErrorClass::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        ErrorClass::BadRequest => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
        ErrorClass::Failed => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// JSON bodies whose rejections are JSON errors too.
pub struct Body<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(ApiError(
                match &e {
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    JsonRejection::JsonSyntaxError(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                },
                "invalid_body",
                e.body_text(),
            )),
        }
    }
}

/// A task or workflow request. Old clients' field names are accepted as aliases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    #[serde(
        alias = "video_file_path",
        alias = "audio_file_path",
        alias = "file_path"
    )]
    input: PathBuf,
    #[serde(default, alias = "out_dir")]
    output_dir: Option<PathBuf>,
    #[serde(default)]
    formats: Option<Vec<Format>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    translate: bool,
    #[serde(default)]
    prompt: Option<String>,
    /// How many speakers to tell apart: "auto", "off" or a number.
    #[serde(default)]
    speakers: Option<SpeakerCount>,
    /// Where to recognise speech: "auto", "cpu" or "gpu".
    #[serde(default)]
    device: Option<DeviceSetting>,
    /// The old video task's switches: both steps always run, so only `true` is valid.
    #[serde(default)]
    extract_audio: Option<bool>,
    #[serde(default)]
    extract_frames: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParallelBody {
    inputs: Vec<PathBuf>,
    #[serde(default, alias = "out_dir")]
    output_dir: Option<PathBuf>,
    #[serde(default)]
    formats: Option<Vec<Format>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    speakers: Option<SpeakerCount>,
    #[serde(default)]
    device: Option<DeviceSetting>,
}

fn check_input(p: &Path) -> Result<(), ApiError> {
    if !p.is_absolute() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("{} is not an absolute path", p.display()),
        ));
    }
    if !p.is_file() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("{} does not exist or is not a file", p.display()),
        ));
    }
    Ok(())
}

impl TaskBody {
    fn options(&self) -> Result<ProcessOptions, ApiError> {
        check_input(&self.input)?;
        if self.extract_audio == Some(false) || self.extract_frames == Some(false) {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "extract_audio and extract_frames cannot be false: submit the audio or image task alone instead".into(),
            ));
        }
        Ok(ProcessOptions {
            out_dir: self.output_dir.clone(),
            formats: self.formats.clone(),
            model: self.model.clone(),
            language: self.language.clone(),
            priority: self.priority,
            translate: self.translate,
            prompt: self.prompt.clone(),
            wait_for_model: false,
            speakers: self.speakers,
            device: self.device,
        })
    }
}

pub type Shared = Arc<Core>;

async fn submit_task(
    State(core): State<Shared>,
    UrlPath(kind): UrlPath<String>,
    Body(b): Body<TaskBody>,
) -> Result<impl IntoResponse, ApiError> {
    let o = b.options()?;
    let id = core
        .submit_task(video2doc_core::kind_named(&kind)?, &b.input, &o)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "task_id": id, "kind": kind, "status": "pending" })),
    ))
}

async fn workflow_complete(
    State(core): State<Shared>,
    Body(b): Body<TaskBody>,
) -> Result<impl IntoResponse, ApiError> {
    let o = b.options()?;
    let w = core.submit_complete(&b.input, &o).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "group_id": w.group, "tasks": w })),
    ))
}

async fn workflow_parallel(
    State(core): State<Shared>,
    Body(b): Body<ParallelBody>,
) -> Result<impl IntoResponse, ApiError> {
    if b.inputs.is_empty() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "inputs is empty".into(),
        ));
    }
    for i in &b.inputs {
        check_input(i)?;
    }
    let o = ProcessOptions {
        out_dir: b.output_dir,
        formats: b.formats,
        model: b.model,
        language: b.language,
        priority: b.priority,
        translate: false,
        prompt: None,
        wait_for_model: false,
        speakers: b.speakers,
        device: b.device,
    };
    let (group, jobs) = core.submit_parallel(&b.inputs, &o).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "group_id": group, "task_ids": jobs })),
    ))
}

fn job_id(s: &str) -> Result<JobId, ApiError> {
    s.parse().map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("{s:?} is not a task id"),
        )
    })
}

async fn status(
    State(core): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(core.status(job_id(&id)?)?)))
}

async fn info(
    State(core): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(core.info(job_id(&id)?)?)))
}

async fn group(
    State(core): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let gid: GroupId = id.parse().map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("{id:?} is not a group id"),
        )
    })?;
    Ok(Json(json!(core.group(gid)?)))
}

async fn cancel(
    State(core): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(core.cancel(job_id(&id)?).await?)))
}

async fn retry(
    State(core): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(core.retry(job_id(&id)?).await?)))
}

async fn pause(
    State(core): State<Shared>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    core.pause(video2doc_core::queue_named(&name)?).await?;
    Ok(Json(json!({ "queue": name, "paused": true })))
}

async fn resume(
    State(core): State<Shared>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    core.resume(video2doc_core::queue_named(&name)?).await?;
    Ok(Json(json!({ "queue": name, "paused": false })))
}

async fn statistics(State(core): State<Shared>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(core.stats()?)))
}

async fn workers(State(core): State<Shared>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "workers": core.workers(),
        "registered": core.registered_workers()?,
    })))
}

async fn active(State(core): State<Shared>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "tasks": core.active(1000)? })))
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
}

async fn search(
    State(core): State<Shared>,
    axum::extract::Query(query): axum::extract::Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let q = query.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "give what to search for as ?q=".into(),
        ));
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 1000);
    let hits = tokio::task::spawn_blocking(move || core.search(&q, limit))
        .await
        .expect("the search does not panic")?;
    Ok(Json(json!({ "hits": hits })))
}

async fn documents(State(core): State<Shared>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "documents": core.documents()? })))
}

async fn health(State(core): State<Shared>) -> impl IntoResponse {
    let h = core.health();
    let code = if h.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(json!(h)))
}

async fn events(
    State(core): State<Shared>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = core.queue().subscribe();
    let stream = tokio_stream::wrappers::UnboundedReceiverStream::new(rx).map(|e| {
        let name = match &e {
            video2doc_core::Event::State(_) => "state",
            video2doc_core::Event::Progress { .. } => "progress",
            video2doc_core::Event::Queue { .. } => "queue",
        };
        Ok(SseEvent::default()
            .event(name)
            .json_data(&e)
            .unwrap_or_else(|_| SseEvent::default().comment("unserialisable event")))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn auth(State(token): State<Arc<String>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), token.as_bytes()) => next.run(req).await,
        Some(_) => ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong token".into(),
        )
        .into_response(),
        None => ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <token>; the token is in the data folder's api-token file"
                .into(),
        )
        .into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token in `<data>/api-token`, created when missing. It is kept only while the
/// file is this user's alone (0600, not a link): one another user could have read is
/// replaced by a new one, written atomically.
pub fn token(data: &Path) -> std::io::Result<String> {
    let path = data.join("api-token");
    if video2doc_core::private::is_private(&path) {
        if let Ok(t) = std::fs::read_to_string(&path) {
            if t.trim().len() >= 32 {
                return Ok(t.trim().to_string());
            }
        }
    }
    let bytes: [u8; 32] = rand::random();
    let t: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    video2doc_core::private::write_private(&path, t.as_bytes())?;
    Ok(t)
}

/// The API's routes, written once: the router is built from them, and a test checks
/// them against openapi.json.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:expr),* $(,)?) => {
        /// Every (method, path) the API serves behind the token.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn api_routes() -> Router<Shared> {
            Router::new()$(.route($path, $method($handler)))*
        }
    };
}

routes! {
    get "/api/queue/tasks/active" => active,
    post "/api/queue/tasks/{kind}" => submit_task,
    post "/api/queue/workflows/complete" => workflow_complete,
    post "/api/queue/workflows/parallel" => workflow_parallel,
    get "/api/queue/tasks/{id}/status" => status,
    get "/api/queue/tasks/{id}/info" => info,
    get "/api/queue/groups/{id}/status" => group,
    post "/api/queue/tasks/{id}/cancel" => cancel,
    post "/api/queue/tasks/{id}/retry" => retry,
    post "/api/queue/queues/{name}/pause" => pause,
    post "/api/queue/queues/{name}/resume" => resume,
    get "/api/queue/statistics" => statistics,
    get "/api/queue/workers" => workers,
    get "/api/queue/health" => health,
    get "/api/queue/events" => events,
    get "/api/library/search" => search,
    get "/api/library/documents" => documents,
}

/// The public route: the OpenAPI document.
pub const OPENAPI_ROUTE: (&str, &str) = ("get", "/api/openapi.json");

/// The OpenAPI document the API serves.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The API's routes over `core`, guarded by `token`.
pub fn router(core: Shared, token: String) -> Router {
    let api = api_routes()
        .with_state(core)
        .route_layer(middleware::from_fn_with_state(Arc::new(token), auth));
    Router::new()
        .route(OPENAPI_ROUTE.1, get(openapi))
        .merge(api)
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see /api/openapi.json".into(),
            )
        })
}

/// Binds the API's port on the loopback interface only.
pub async fn bind(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await
}

/// Where a bound API answers, for people and scripts.
pub fn describe(core: &Core, listener: &tokio::net::TcpListener) -> std::io::Result<Value> {
    let addr = listener.local_addr()?;
    Ok(json!({
        "url": format!("http://{addr}"),
        "token_file": core.dirs().data.join("api-token"),
        "openapi": format!("http://{addr}/api/openapi.json"),
    }))
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    core: Shared,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = token(&core.dirs().data)?;
    axum::serve(listener, router(core, token))
        .with_graceful_shutdown(shutdown)
        .await
}
