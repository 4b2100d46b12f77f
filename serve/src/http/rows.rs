//! `POST /predict`: plain rows in the body, one result per row, in order, with per-row
//! errors in place: the row codecs of `serve socket`, so results are byte for byte what the
//! socket sends for the same rows.
//!
//! - `text/csv`: one row per record (blank lines skipped, quoted cells allowed). The first
//!   record is a header when it names every feature of the model (columns are then mapped
//!   by name, other columns ignored); `header=present` / `header=absent` (a parameter of the
//!   content type, RFC 4180, or of the query) decides instead. Results are CSV lines.
//! - `application/x-ndjson` (or `application/jsonl`): one JSON row per line, an array in
//!   feature order or an object by feature name (its `"id"` is copied to the result).
//!   Results are JSON lines.
//! - `application/json`: one row, or an array of rows; results in the same shape.
//!
//! `?margin=true`: CSV results are the raw margins; JSON results get a `"margin"` array.
//! The response header `timber-row-errors` counts rows answered with an error.

use super::{ApiError, App, Scored};
use crate::codec::{Batch, Codec, RowFailure};
use crate::row::ColumnMap;
use crate::sink::SinkRow;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use timber_runtime::Model;

/// `/predict`.
pub(super) fn routes<M: Model + 'static>() -> Router<Arc<App<M>>> {
    Router::new().route("/predict", post(predict::<M>))
}

/// The body encodings `/predict` reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Csv,
    NdJson,
    Json,
}

/// How the request wants its rows read.
struct Options {
    kind: Kind,
    margin: bool,
    /// CSV: `Some(true)` header, `Some(false)` none, `None` decide from the first record.
    header: Option<bool>,
}

fn options(headers: &HeaderMap, query: &HashMap<String, String>) -> Result<Options, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    let kind = match essence.as_str() {
        "text/csv" => Kind::Csv,
        "application/x-ndjson"
        | "application/jsonl"
        | "application/jsonlines"
        | "application/x-jsonlines" => Kind::NdJson,
        "application/json" => Kind::Json,
        _ => {
            let shown = if content_type.is_empty() {
                "no content type".to_string()
            } else {
                format!("content type `{content_type}`")
            };
            return Err(ApiError::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "{shown}: send text/csv, application/x-ndjson or application/json rows \
                     (or use /v2/models/NAME/infer)"
                ),
            ));
        }
    };
    let json = kind != Kind::Csv;
    let bad = |m: String| {
        if json {
            ApiError::json(StatusCode::BAD_REQUEST, m)
        } else {
            ApiError::text(StatusCode::BAD_REQUEST, m)
        }
    };
    let flag = |name: &str, value: &str| match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "present" => Ok(true),
        "false" | "0" | "no" | "absent" => Ok(false),
        _ => Err(bad(format!("`{name}={value}`: expected true or false"))),
    };
    let mut header = None;
    for param in parts {
        if let Some((k, v)) = param.split_once('=') {
            if k.trim().eq_ignore_ascii_case("header") {
                header = Some(flag("header", v.trim().trim_matches('"'))?);
            }
        }
    }
    if let Some(v) = query.get("header") {
        header = Some(flag("header", v)?);
    }
    let margin = match query.get("margin") {
        Some(v) => flag("margin", v)?,
        None => false,
    };
    Ok(Options {
        kind,
        margin,
        header,
    })
}

async fn predict<M: Model + 'static>(
    State(app): State<Arc<App<M>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let answer = async {
        let options = options(&headers, &query)?;
        let json = options.kind != Kind::Csv;
        let fail = |(status, message): (StatusCode, String)| ApiError {
            status,
            message,
            json,
        };
        let slot = app.slot().map_err(fail)?;
        let body = app.body(body).await.map_err(fail)?;
        let score = move |app: &App<M>, body: &[u8]| score(app, &options, body);
        app.clone().score_request(slot, body, json, score).await
    }
    .await;
    app.answer("predict", answer)
}

fn too_many_rows(limit: usize, json: bool) -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("more than {limit} rows in one request (--max-rows)"),
        json,
    }
}

/// Decodes, scores and answers a `/predict` body; its rows for the sinks carry the
/// predictions (also with `margin=true`), keyed by the row's `"id"` or else its number
/// among the rows this server scored.
fn score<M: Model>(app: &App<M>, options: &Options, body: &[u8]) -> Result<Scored, ApiError> {
    let started = Instant::now();
    let json = options.kind != Kind::Csv;
    let codec: &Codec<'static, M> =
        &app.codecs[usize::from(json) * 2 + usize::from(options.margin)];
    let mut batch = codec.batch();
    // JSON: whether the body was a single row (answered with a single result).
    let mut single = false;
    match options.kind {
        Kind::Csv => push_csv(app, codec, &mut batch, body, options.header)?,
        Kind::NdJson => {
            for line in body.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if batch.len() == app.limits.rows {
                    return Err(too_many_rows(app.limits.rows, true));
                }
                codec.push_line(&mut batch, line);
            }
        }
        Kind::Json => {
            let text = std::str::from_utf8(body).map_err(|e| {
                ApiError::json(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the body is not UTF-8 (invalid byte at offset {})",
                        e.valid_up_to()
                    ),
                )
            })?;
            let trimmed = text.trim_start();
            let rows: Option<Vec<&RawValue>> = if trimmed.starts_with('[') {
                let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
                    ApiError::json(StatusCode::BAD_REQUEST, format!("not valid JSON: {e}"))
                })?;
                let is_rows = items
                    .iter()
                    .all(|r| r.get().starts_with('[') || r.get().starts_with('{'));
                (is_rows && !items.is_empty() || items.is_empty()).then_some(items)
            } else {
                None
            };
            match rows {
                Some(rows) => {
                    if rows.len() > app.limits.rows {
                        return Err(too_many_rows(app.limits.rows, true));
                    }
                    for row in rows {
                        codec.push_line(&mut batch, row.get().as_bytes());
                    }
                }
                None => {
                    single = true;
                    codec.push_line(&mut batch, text.trim().as_bytes());
                }
            }
        }
    }
    let sample = app.stats.before_batch(&batch);
    let mut out = Vec::with_capacity(batch.len() * 24 + 2);
    let mut sink_rows = Vec::new();
    let (scored, failed) = if app.sinks.is_active() {
        let first = app.number_rows(batch.len());
        let now = crate::sink::now_micros();
        sink_rows.reserve(batch.len());
        codec.write_batch_each(
            &mut batch,
            &mut out,
            |_| {},
            |id, outcome| {
                let number = first + sink_rows.len() as u64 + 1;
                let key = crate::sink::row_key(id, || number.to_string());
                sink_rows.push(match outcome {
                    Ok(values) => SinkRow::scored(key, now, values),
                    Err(failure) => SinkRow::failed(key, now, &failure.reason),
                });
            },
        )
    } else {
        codec.write_batch(&mut batch, &mut out, |_| {})
    };
    app.stats.after_batch(codec, &batch, sample);
    app.stats.record_batch(scored, failed, started.elapsed());
    let (content_type, body) = match options.kind {
        Kind::Csv => ("text/csv; charset=utf-8", out),
        Kind::NdJson => ("application/x-ndjson", out),
        Kind::Json if single => {
            out.pop();
            ("application/json", out)
        }
        Kind::Json => {
            // One result per line -> a JSON array of them.
            let mut array = Vec::with_capacity(out.len() + 2);
            array.push(b'[');
            for (i, line) in out
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .enumerate()
            {
                if i > 0 {
                    array.push(b',');
                }
                array.extend_from_slice(line);
            }
            array.push(b']');
            ("application/json", array)
        }
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    response
        .headers_mut()
        .insert("timber-row-errors", HeaderValue::from(failed));
    Ok(Scored {
        response,
        rows: sink_rows,
    })
}

/// Decodes a CSV body into `batch`: header detection, then one row per record.
fn push_csv<M: Model>(
    app: &App<M>,
    codec: &Codec<'static, M>,
    batch: &mut Batch<M>,
    body: &[u8],
    header: Option<bool>,
) -> Result<(), ApiError> {
    let info = codec.model().info();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::StringRecord::new();
    let mut map = ColumnMap::positional(info);
    let mut first = true;
    loop {
        let row_failure = |reason: String| RowFailure { id: None, reason };
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    return Err(ApiError::text(
                        StatusCode::BAD_REQUEST,
                        format!("cannot read the CSV body: {e}"),
                    ));
                }
                if batch.len() == app.limits.rows {
                    return Err(too_many_rows(app.limits.rows, false));
                }
                batch.push_failure(row_failure(format!("not UTF-8: {e}")));
                first = false;
                continue;
            }
        }
        if first {
            first = false;
            let names_every_feature = || {
                let cells: std::collections::HashSet<&str> = record.iter().map(str::trim).collect();
                info.features
                    .iter()
                    .all(|f| cells.contains(f.name.as_ref()))
            };
            if header.unwrap_or_else(names_every_feature) {
                map = ColumnMap::from_header(record.iter(), info)
                    .map_err(|e| ApiError::text(StatusCode::BAD_REQUEST, e.to_string()))?;
                continue;
            }
        }
        if batch.len() == app.limits.rows {
            return Err(too_many_rows(app.limits.rows, false));
        }
        let cells = &record;
        batch.push_with(|row| {
            map.decode_cells(cells.iter(), cells.len(), row)
                .map(|()| None)
                .map_err(|problem| row_failure(problem.to_string()))
        });
    }
}
