//! HTTP: `serve http` (scoring over HTTP/1.1), and the `/metrics` endpoint and live page
//! every serve mode offers with `--http ADDR`.
//!
//! Endpoints of `serve http`:
//!
//! - The Open Inference Protocol (KServe v2) in JSON (module `infer`): `GET /v2`,
//!   `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2/models/NAME`,
//!   `GET /v2/models/NAME/ready`, `POST /v2/models/NAME/infer`. Errors are `{"error": …}`.
//! - Plain rows (module `rows`): `POST /predict` with a CSV, NDJSON or JSON body, one result
//!   per row, per-row errors in place, exactly the results `serve socket` sends.
//! - `GET /metrics` (Prometheus text format), `GET /` (the live page), `GET /events` (its
//!   Server-Sent Events feed), `GET /snapshot` (the same data as one JSON document).
//!
//! `serve socket --http ADDR` and `serve kafka --http ADDR` serve the last group and the
//! health endpoints. Scoring requests are bounded: body size (413), rows per request
//! (413) and requests scored at once (429); while stopping, new scoring requests get 503.
//!
//! With `--sink`, every row a scoring request scored (or failed) is handed to the sinks
//! before the request is answered. While the sinks are behind (a database down) the request
//! waits, keeping its `--max-concurrent` slot, so a stalled sink turns into waiting requests
//! and then 429s rather than memory; a request that waited `--sink-wait` is answered 503 with
//! none of its rows handed over (the client retries it; nothing is half-written).

mod infer;
mod live;
mod rows;

use crate::codec::{Codec, CodecOptions, Format};
use crate::metrics::Stats;
use crate::sink::{SinkArgs, SinkRow, SinkSender};
use crate::stream::Shutdown;
use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use timber_runtime::Model;
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::info;

/// Bodies up to this size are scored on the async worker that received them; larger ones
/// on the blocking pool, so a 100,000-row request does not hold up small ones.
const INLINE_BODY_BYTES: usize = 32 << 10;

/// Most live-page feeds (`/events`) open at once.
const MAX_EVENT_STREAMS: usize = 64;

/// Arguments of `serve http`.
#[derive(clap::Args, Debug, Clone)]
pub struct HttpArgs {
    /// Listen on this address (e.g. `127.0.0.1:8080`; port 0 picks a free port, logged at
    /// start-up).
    #[arg(long)]
    pub listen: String,
    /// The model's name in URLs (`/v2/models/NAME/infer`); default: the scorer's file name.
    #[arg(long)]
    pub model_name: Option<String>,
    /// Largest request body in bytes; a larger one is answered 413.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_body_bytes: usize,
    /// Most rows in one request; more are answered 413.
    #[arg(long, default_value_t = 100_000)]
    pub max_rows: usize,
    /// Most scoring requests handled at once; more are answered 429 (retry later).
    #[arg(long, default_value_t = 32)]
    pub max_concurrent: usize,
    /// JSON objects on `/predict`: skip fields that name no feature instead of rejecting
    /// the row.
    #[arg(long)]
    pub ignore_unknown: bool,
    /// Seconds between the periodic log lines (rows scored, errors, rows/s); 0 = none.
    #[arg(long, default_value_t = 10.0)]
    pub stats_interval: f64,
    /// With `--sink`: longest a scoring request waits for the sinks to take its rows (a sink
    /// down or behind) before it is answered 503, none of its rows written; 0 = as long as
    /// the client waits.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub sink_wait: f64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sink: SinkArgs,
}

/// What the handlers share.
struct App<M: Model + 'static> {
    model: &'static M,
    /// The name in `/v2/models/NAME` and in `timber_model_info`.
    name: String,
    stats: Arc<Stats>,
    shutdown: Shutdown,
    /// The latest live-page snapshot (JSON).
    feed: watch::Receiver<Arc<str>>,
    events: Arc<Semaphore>,
    limits: Limits,
    slots: Arc<Semaphore>,
    /// `/predict` codecs: CSV, CSV with margins, JSON, JSON with margins.
    codecs: [Codec<'static, M>; 4],
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Where scored rows also go (`--sink`).
    sinks: SinkSender,
    /// `--sink-wait`; `None` = no limit.
    sink_wait: Option<Duration>,
    /// Rows numbered so far: the key of a row without an id is its number.
    rows_seen: AtomicU64,
}

/// Bounds on scoring requests.
#[derive(Debug, Clone, Copy)]
struct Limits {
    body: usize,
    rows: usize,
    concurrent: usize,
}

impl<M: Model + 'static> App<M> {
    fn new(
        model: &'static M,
        name: String,
        stats: Arc<Stats>,
        shutdown: Shutdown,
        mode: &'static str,
        args: Option<&HttpArgs>,
        sinks: SinkSender,
    ) -> Arc<Self> {
        let limits = Limits {
            body: args.map_or(0, |a| a.max_body_bytes.max(1)),
            rows: args.map_or(0, |a| a.max_rows.max(1)),
            concurrent: args.map_or(1, |a| a.max_concurrent.max(1)),
        };
        let ignore_unknown = args.is_some_and(|a| a.ignore_unknown);
        let codec = |format, margin| {
            let codec = Codec::new(
                model,
                CodecOptions {
                    format,
                    margin,
                    ignore_unknown,
                },
            );
            if sinks.is_active() {
                // The sinks' table holds predictions, whichever values a request asks for.
                codec.giving_predictions()
            } else {
                codec
            }
        };
        let feed = live::start(model, &name, mode, stats.clone(), shutdown.clone());
        Arc::new(App {
            model,
            name,
            stats,
            shutdown,
            feed,
            events: Arc::new(Semaphore::new(MAX_EVENT_STREAMS)),
            limits,
            slots: Arc::new(Semaphore::new(limits.concurrent)),
            codecs: [
                codec(Format::Csv, false),
                codec(Format::Csv, true),
                codec(Format::Json, false),
                codec(Format::Json, true),
            ],
            requests: Mutex::new(BTreeMap::new()),
            sinks,
            sink_wait: args.and_then(|a| {
                (a.sink_wait > 0.0 && a.sink_wait.is_finite())
                    .then(|| Duration::from_secs_f64(a.sink_wait.min(1e9)))
            }),
            rows_seen: AtomicU64::new(0),
        })
    }

    /// Numbers `rows` rows in the order requests are scored; returns the number before the
    /// first (its rows are `first + 1 ..= first + rows`).
    fn number_rows(&self, rows: usize) -> u64 {
        self.rows_seen.fetch_add(rows as u64, Ordering::Relaxed)
    }

    /// Scores a request's `body` with `score` (on this async worker when it is small, on the
    /// blocking pool otherwise, so a 100,000-row request does not hold up small ones), hands
    /// its rows to the sinks, and answers. The slot is held until then: a request waiting
    /// for the sinks counts against `--max-concurrent`.
    async fn score_request(
        self: Arc<Self>,
        slot: OwnedSemaphorePermit,
        body: Bytes,
        json: bool,
        score: impl FnOnce(&App<M>, &[u8]) -> Result<Scored, ApiError> + Send + 'static,
    ) -> Result<Response, ApiError> {
        let (slot, scored) = if body.len() <= INLINE_BODY_BYTES {
            (slot, score(&self, &body))
        } else {
            let app = self.clone();
            // The slot goes with the task: one whose client left still counts until done.
            tokio::task::spawn_blocking(move || {
                let scored = score(&app, &body);
                (slot, scored)
            })
            .await
            .map_err(|e| ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: format!("scoring failed: {e}"),
                json,
            })?
        };
        let Scored { response, rows } = scored?;
        self.to_sinks(rows, json).await?;
        drop(slot);
        Ok(response)
    }

    /// Hands a request's rows to the sinks, waiting while they are behind, at most
    /// `--sink-wait` (then 503: none of the rows were handed over).
    async fn to_sinks(&self, rows: Vec<SinkRow>, json: bool) -> Result<(), ApiError> {
        if rows.is_empty() {
            return Ok(());
        }
        let unavailable = |message: String| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message,
            json,
        };
        let send = self.sinks.send(rows);
        let sent = match self.sink_wait {
            Some(limit) => tokio::time::timeout(limit, send).await.map_err(|_| {
                unavailable(format!(
                    "the sinks took none of this request's rows in {:.0} s (--sink-wait): a \
                     sink is down or behind; nothing was written, retry later",
                    limit.as_secs_f64()
                ))
            })?,
            None => send.await,
        };
        sent.map_err(|e| {
            unavailable(format!(
                "cannot write to the sinks ({e}): a sink failed for longer than \
                 --sink-deadline; nothing was written"
            ))
        })
    }

    /// A scoring request's response, counted for `timber_http_requests_total`.
    fn answer(&self, route: &'static str, answer: Result<Response, impl IntoResponse>) -> Response {
        let response = answer.unwrap_or_else(IntoResponse::into_response);
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((route, response.status().as_u16())).or_default() += 1;
        }
        response
    }

    /// Takes a scoring slot, or says why not (429 when all are busy, 503 when stopping).
    fn slot(&self) -> Result<OwnedSemaphorePermit, (StatusCode, String)> {
        if self.shutdown.is_set() {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "the scorer is shutting down".into(),
            ));
        }
        self.slots.clone().try_acquire_owned().map_err(|_| {
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "{} requests are being scored already (--max-concurrent); retry later",
                    self.limits.concurrent
                ),
            )
        })
    }

    /// The request body, at most `limits.body` bytes (413 beyond).
    async fn body(&self, body: Body) -> Result<Bytes, (StatusCode, String)> {
        match Limited::new(body, self.limits.body).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than {} bytes (--max-body-bytes)",
                    self.limits.body
                ),
            )),
            Err(e) => Err((
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            )),
        }
    }
}

/// A scored request: its answer, and its rows for the sinks (none without sinks).
struct Scored {
    response: Response,
    rows: Vec<SinkRow>,
}

/// An error answer: `{"error": …}` (JSON clients, the inference protocol) or a text line.
struct ApiError {
    status: StatusCode,
    message: String,
    json: bool,
}

impl ApiError {
    fn json(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            json: true,
        }
    }

    fn text(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            json: false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = if self.json {
            let body = serde_json::json!({ "error": self.message }).to_string();
            (
                self.status,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        } else {
            let body = format!("error: {}\n", self.message);
            (
                self.status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                body,
            )
                .into_response()
        };
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The name a scorer binary serves its model as: its file name (`churn` for the crate
/// `timber compile … --name churn` writes), or the model's type name.
fn default_model_name<M: Model>(model: &M) -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| model.info().name.to_string())
}

/// Runs `serve http` until `shutdown`: stops accepting, lets requests in flight finish.
pub async fn run<M: Model + 'static>(
    model: &'static M,
    args: &HttpArgs,
    shutdown: Shutdown,
    stats: Arc<Stats>,
    sinks: SinkSender,
) -> Result<()> {
    let name = args
        .model_name
        .clone()
        .unwrap_or_else(|| default_model_name(model));
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr().context("no local address")?;
    let app = App::new(
        model,
        name,
        stats.clone(),
        shutdown.clone(),
        "http",
        Some(args),
        sinks,
    );
    info!("listening on {local}");
    info!(
        "model `{}`: POST http://{local}/v2/models/{}/infer, POST http://{local}/predict; \
         live page http://{local}/, metrics http://{local}/metrics",
        app.name, app.name
    );
    let router = observer_routes::<M>()
        .nest("/v2", infer::routes::<M>())
        .merge(rows::routes::<M>())
        .with_state(app);
    let stop = shutdown.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.wait().await })
        .await
        .context("the HTTP server failed")?;
    let (scored, failed) = stats.totals();
    info!("done: {scored} rows scored, {failed} errors");
    Ok(())
}

/// Starts the `/metrics` and live-page server of `serve socket`/`serve kafka` (`mode`) on
/// `addr`, in the background until `shutdown`. Fails if it cannot listen.
pub async fn observe<M: Model + 'static>(
    model: &'static M,
    addr: &str,
    mode: &'static str,
    stats: Arc<Stats>,
    shutdown: &Shutdown,
) -> Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--http)"))?;
    let local = listener.local_addr().context("no local address")?;
    let name = default_model_name(model);
    let app = App::new(
        model,
        name,
        stats,
        shutdown.clone(),
        mode,
        None,
        SinkSender::none(),
    );
    info!("metrics and live page at http://{local}/");
    let router = observer_routes::<M>()
        .nest("/v2", infer::health_routes::<M>())
        .with_state(app);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.wait().await })
            .await;
        if let Err(e) = served {
            tracing::warn!("the metrics server stopped: {e}");
        }
    });
    Ok(())
}

/// `/`, its assets, `/events`, `/snapshot` and `/metrics`.
fn observer_routes<M: Model + 'static>() -> Router<Arc<App<M>>> {
    Router::new()
        .route("/", get(page))
        .route("/page.css", get(page_css))
        .route("/page.js", get(page_js))
        .route("/events", get(events::<M>))
        .route("/snapshot", get(snapshot::<M>))
        .route("/metrics", get(metrics::<M>))
        .fallback(not_found)
}

/// 404: in the inference protocol's form under `/v2`, as text elsewhere.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    if uri.path() == "/v2" || uri.path().starts_with("/v2/") {
        ApiError::json(
            StatusCode::NOT_FOUND,
            "no such endpoint of the inference protocol",
        )
    } else {
        ApiError::text(StatusCode::NOT_FOUND, format!("no page {}", uri.path()))
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", include_str!("page.html"))
}

async fn page_css() -> Response {
    asset("text/css; charset=utf-8", include_str!("page.css"))
}

async fn page_js() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("page.js"))
}

/// The live page's feed: the current snapshot at once, then every new one (once a second),
/// until the client leaves or the scorer stops.
async fn events<M: Model + 'static>(State(app): State<Arc<App<M>>>) -> Response {
    let Ok(permit) = app.events.clone().try_acquire_owned() else {
        return ApiError::text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_EVENT_STREAMS} live pages are open already"),
        )
        .into_response();
    };
    let state = (app.feed.clone(), app.shutdown.clone(), true, permit);
    let stream =
        futures_util::stream::unfold(state, |(mut feed, stop, first, permit)| async move {
            if !first {
                tokio::select! {
                    changed = feed.changed() => changed.ok()?,
                    _ = stop.wait() => return None,
                }
            }
            let data = feed.borrow_and_update().clone();
            let event = Event::default().event("snapshot").data(&*data);
            Some((Ok::<_, Infallible>(event), (feed, stop, false, permit)))
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn snapshot<M: Model + 'static>(State(app): State<Arc<App<M>>>) -> Response {
    let data = app.feed.borrow().clone();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        data.to_string(),
    )
        .into_response()
}

async fn metrics<M: Model + 'static>(State(app): State<Arc<App<M>>>) -> Response {
    let requests = app.requests.lock().map(|r| r.clone()).unwrap_or_default();
    let in_flight = app.limits.concurrent - app.slots.available_permits();
    let pages = MAX_EVENT_STREAMS - app.events.available_permits();
    let extra = |out: &mut String| {
        use std::fmt::Write as _;
        if !requests.is_empty() {
            out.push_str(
                "# HELP timber_http_requests_total Scoring requests answered, by route and status.\n\
                 # TYPE timber_http_requests_total counter\n",
            );
            for ((route, code), n) in &requests {
                let _ = writeln!(
                    out,
                    "timber_http_requests_total{{route=\"{route}\",code=\"{code}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP timber_http_requests_in_flight Scoring requests being handled.\n\
             # TYPE timber_http_requests_in_flight gauge\ntimber_http_requests_in_flight {in_flight}\n\
             # HELP timber_http_event_streams Live pages connected to /events.\n\
             # TYPE timber_http_event_streams gauge\ntimber_http_event_streams {pages}"
        );
    };
    let text = crate::metrics::render(&app.stats, app.model.info(), &app.name, &extra);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
