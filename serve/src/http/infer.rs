//! The Open Inference Protocol (KServe v2), HTTP/REST with JSON tensors.
//!
//! The model has one input tensor, `input`, of shape `[-1, N]` (N features, model order,
//! row-major; `data` may be flat or nested) and one output, `prediction`, of shape
//! `[-1, K]`; `"parameters": {"margin": true}` (or asking for the output `margin`) gives the
//! raw margins instead. The datatype is the model's precision: `FP32` or `FP64`.
//!
//! Numbers are exact both ways. `FP32` data is parsed from its JSON text straight to `f32`
//! (never through `f64`: that rounds twice), `FP64` to `f64`; results are written in Rust's
//! shortest round-trip form of their own type, so a client parsing them in that type gets
//! the model's bits. The other datatype is accepted too, converted as numpy's `astype` does:
//! `FP64` data to an `FP32` model is rounded to nearest `f32` (what XGBoost does to a
//! float64 array), `FP32` data to an `FP64` model is widened exactly. Any other datatype is
//! refused (400). `null` is a missing value (an extension: JSON has no NaN).

use super::{ApiError, App, Scored};
use crate::metrics::Sample;
use crate::sink::SinkRow;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Instant;
use timber_runtime::{Float, Model};

/// The name of the model's input tensor.
pub const INPUT: &str = "input";
/// The name of the predictions output.
pub const PREDICTION: &str = "prediction";
/// The name of the margins output.
pub const MARGIN: &str = "margin";

/// `/v2/health/*` only (the metrics server of the other serve modes).
pub(super) fn health_routes<M: Model + 'static>() -> Router<Arc<App<M>>> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready::<M>))
        // Applies to the routes present when it is called.
        .method_not_allowed_fallback(method_not_allowed)
}

/// Every `/v2` endpoint.
pub(super) fn routes<M: Model + 'static>() -> Router<Arc<App<M>>> {
    Router::new()
        .route("/", get(server_metadata::<M>))
        .route("/models/{name}", get(model_metadata::<M>))
        .route("/models/{name}/ready", get(model_ready::<M>))
        .route("/models/{name}/infer", post(infer::<M>))
        .method_not_allowed_fallback(method_not_allowed)
        .merge(health_routes::<M>())
}

fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError::json(status, message)
}

fn ok_json(value: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn method_not_allowed() -> ApiError {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}

async fn live() -> Response {
    ok_json(json!({ "live": true }))
}

async fn ready<M: Model + 'static>(State(app): State<Arc<App<M>>>) -> Response {
    if app.shutdown.is_set() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "ready": false }).to_string(),
        )
            .into_response();
    }
    ok_json(json!({ "ready": true }))
}

/// `FP32` or `FP64`: the protocol's name of a float type.
fn datatype<F: Float>() -> &'static str {
    if std::mem::size_of::<F>() == 4 {
        "FP32"
    } else {
        "FP64"
    }
}

async fn server_metadata<M: Model + 'static>(State(_app): State<Arc<App<M>>>) -> Response {
    ok_json(json!({
        "name": "timber",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": [],
    }))
}

fn check_name<M: Model>(app: &App<M>, name: &str) -> Result<(), ApiError> {
    if name == app.name {
        Ok(())
    } else {
        Err(error(
            StatusCode::NOT_FOUND,
            format!("no model `{name}` here: this server serves `{}`", app.name),
        ))
    }
}

async fn model_metadata<M: Model + 'static>(
    State(app): State<Arc<App<M>>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&app, &name)?;
    let info = app.model.info();
    let output = datatype::<M::Output>();
    Ok(ok_json(json!({
        "name": app.name,
        "versions": [],
        "platform": "timber",
        "inputs": [{
            "name": INPUT,
            "datatype": datatype::<M::Input>(),
            "shape": [-1, info.num_features()],
        }],
        "outputs": [
            { "name": PREDICTION, "datatype": output, "shape": [-1, info.num_outputs] },
        ],
        "parameters": {
            "features": info.features.iter().map(|f| f.name.as_ref()).collect::<Vec<&str>>(),
            "objective": info.objective,
            "trees": info.num_trees,
            "margin_outputs": info.num_margins,
            "sha256": info.source_sha256,
        },
    })))
}

async fn model_ready<M: Model + 'static>(
    State(app): State<Arc<App<M>>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&app, &name)?;
    let ready = !app.shutdown.is_set();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "name": app.name, "ready": ready }).to_string(),
    )
        .into_response())
}

async fn infer<M: Model + 'static>(
    State(app): State<Arc<App<M>>>,
    Path(name): Path<String>,
    body: Body,
) -> Response {
    let answer = async {
        check_name(&app, &name)?;
        let slot = app.slot().map_err(|(s, m)| error(s, m))?;
        let body = app.body(body).await.map_err(|(s, m)| error(s, m))?;
        app.clone().score_request(slot, body, true, score).await
    }
    .await;
    app.answer("infer", answer)
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Option<Map<String, Value>>,
    #[serde(borrow)]
    inputs: Vec<Tensor<'a>>,
    #[serde(default)]
    outputs: Option<Vec<RequestedOutput>>,
}

#[derive(Deserialize)]
struct Tensor<'a> {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct RequestedOutput {
    name: String,
}

/// Which outputs a request asks for, in order.
fn wanted(request: &Request<'_>) -> Result<Vec<&'static str>, ApiError> {
    let margin = match request.parameters.as_ref().and_then(|p| p.get("margin")) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("parameter `margin` must be true or false, not {other}"),
            ))
        }
    };
    let Some(outputs) = &request.outputs else {
        return Ok(vec![if margin { MARGIN } else { PREDICTION }]);
    };
    if outputs.is_empty() {
        return Ok(vec![if margin { MARGIN } else { PREDICTION }]);
    }
    outputs
        .iter()
        .map(|o| match o.name.as_str() {
            PREDICTION => Ok(PREDICTION),
            MARGIN => Ok(MARGIN),
            other => Err(error(
                StatusCode::BAD_REQUEST,
                format!("unknown output `{other}`: this model has `{PREDICTION}` and `{MARGIN}`"),
            )),
        })
        .collect()
}

/// Parses, scores and answers one inference request; its rows for the sinks carry the
/// predictions (computed for them when the request asked for margins only), keyed
/// `ID[ROW]` (the request's `id`, the row's index from 0) or, without an `id`, by their
/// number among the rows this server scored.
fn score<M: Model>(app: &App<M>, body: &[u8]) -> Result<Scored, ApiError> {
    let started = Instant::now();
    let bad = |m: String| error(StatusCode::BAD_REQUEST, m);
    let request: Request<'_> =
        serde_json::from_slice(body).map_err(|e| bad(format!("not an inference request: {e}")))?;
    let info = app.model.info();
    let nf = info.num_features();
    let outputs = wanted(&request)?;
    let [tensor] = request.inputs.as_slice() else {
        return Err(bad(format!(
            "expected one input tensor, `{INPUT}` of shape [rows, {nf}]; found {}",
            request.inputs.len()
        )));
    };
    if tensor.name != INPUT {
        return Err(bad(format!(
            "unknown input `{}`: this model's input is `{INPUT}`, shape [rows, {nf}]",
            tensor.name
        )));
    }
    let rows = match tensor.shape.as_slice() {
        [rows, n] if *rows >= 0 && *n as usize == nf && *n >= 0 => *rows as usize,
        _ => {
            return Err(bad(format!(
                "input `{INPUT}` has shape {:?}; this model takes [rows, {nf}]",
                tensor.shape
            )))
        }
    };
    if rows > app.limits.rows {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{rows} rows in one request; at most {} are taken (--max-rows)",
                app.limits.rows
            ),
        ));
    }
    let source = match tensor.datatype.as_str() {
        "FP32" => Source::F32,
        "FP64" => Source::F64,
        other => {
            return Err(bad(format!(
                "input `{INPUT}` has datatype {other}; this model takes {} (FP32 and FP64 are \
                 accepted)",
                datatype::<M::Input>()
            )))
        }
    };
    let mut values: Vec<M::Input> = Vec::with_capacity(rows * nf);
    parse_data(tensor.data.get(), source, nf, &mut values).map_err(bad)?;
    if values.len() != rows * nf {
        return Err(bad(format!(
            "input `{INPUT}` has shape [{rows}, {nf}] ({} values) but {} values of data",
            rows * nf,
            values.len()
        )));
    }

    let mut out = String::with_capacity(64 + rows * info.num_outputs * 12);
    out.push_str("{\"model_name\":");
    out.push_str(&Value::from(app.name.as_str()).to_string());
    if let Some(id) = &request.id {
        out.push_str(",\"id\":");
        out.push_str(&Value::from(id.as_str()).to_string());
    }
    out.push_str(",\"outputs\":[");
    let mut sampled: Option<(Vec<M::Output>, usize, bool)> = None;
    let mut sink_rows = Vec::new();
    for (i, &name) in outputs.iter().enumerate() {
        let width = if name == MARGIN {
            info.num_margins
        } else {
            info.num_outputs
        };
        let mut result = vec![M::Output::default(); rows * width];
        if rows > 0 {
            if name == MARGIN {
                app.model.predict_margin_batch(&values, &mut result);
            } else {
                app.model.predict_batch(&values, &mut result);
            }
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"name\":\"{name}\",\"datatype\":\"{}\",\"shape\":[{rows},{width}],\"data\":[",
            datatype::<M::Output>()
        ));
        let mut bytes = std::mem::take(&mut out).into_bytes();
        crate::codec::write_values(&mut bytes, &result, "null");
        // Only ASCII was written.
        out = String::from_utf8(bytes).unwrap_or_default();
        out.push_str("]}");
        if name == PREDICTION && sink_rows.is_empty() {
            sink_rows = to_sink_rows(app, request.id.as_deref(), rows, width, &result);
        }
        if sampled.is_none() || name == PREDICTION {
            sampled = Some((result, width, name == MARGIN));
        }
    }
    out.push_str("]}");
    if app.sinks.is_active() && rows > 0 && !outputs.contains(&PREDICTION) {
        // The sinks' table holds predictions whatever the request was answered with.
        let mut predictions = vec![M::Output::default(); rows * info.num_outputs];
        app.model.predict_batch(&values, &mut predictions);
        let id = request.id.as_deref();
        sink_rows = to_sink_rows(app, id, rows, info.num_outputs, &predictions);
    }

    app.stats.record_batch(rows as u64, 0, started.elapsed());
    if let Some((result, width, margins)) = sampled {
        let mut sample = Sample::new(width, margins);
        let first = rows.saturating_sub(crate::metrics::SAMPLED_ROWS);
        sample.skip(first as u64);
        for (r, row) in result.chunks_exact(width.max(1)).enumerate().skip(first) {
            let key = request.id.as_ref().map(|id| format!("{id}[{r}]"));
            sample.row(key, row);
        }
        app.stats.metrics.commit(sample);
    }
    Ok(Scored {
        response: ([(header::CONTENT_TYPE, "application/json")], out).into_response(),
        rows: sink_rows,
    })
}

/// The sinks' rows of a request's `predictions` (`rows` × `width`); none without sinks.
fn to_sink_rows<M: Model>(
    app: &App<M>,
    id: Option<&str>,
    rows: usize,
    width: usize,
    predictions: &[M::Output],
) -> Vec<SinkRow> {
    if !app.sinks.is_active() || rows == 0 {
        return Vec::new();
    }
    let first = if id.is_none() {
        app.number_rows(rows)
    } else {
        0
    };
    let now = crate::sink::now_micros();
    predictions
        .chunks_exact(width.max(1))
        .enumerate()
        .map(|(r, values)| {
            let key = match id {
                Some(id) => format!("{id}[{r}]"),
                None => (first + r as u64 + 1).to_string(),
            };
            SinkRow::scored(key, now, values)
        })
        .collect()
}

/// The datatype the client sent.
#[derive(Clone, Copy)]
enum Source {
    F32,
    F64,
}

/// Appends the numbers of a tensor's `data` (a JSON array, flat or nested, already known to
/// be valid JSON) to `out`, converted from `source` to the model's input type.
fn parse_data<F: Float>(
    text: &str,
    source: Source,
    nf: usize,
    out: &mut Vec<F>,
) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let where_ = |n: usize| match nf {
        0 => format!("data[{n}]"),
        _ => format!("data[{n}] (row {}, column {})", n / nf, n % nf),
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
        return Err("`data` must be an array of numbers".into());
    }
    while i < bytes.len() {
        match bytes[i] {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b',' | b' ' | b'\t' | b'\n' | b'\r' => {}
            b'n' => {
                out.push(F::NAN);
                i += 4;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && !matches!(bytes[i], b',' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    i += 1;
                }
                let token = &text[start..i];
                let value = match source {
                    Source::F32 => token
                        .parse::<f32>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .map(|v| F::from_f64(f64::from(v))),
                    Source::F64 => token
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .map(F::from_f64),
                };
                match value {
                    Some(v) if v.to_f64().is_finite() => out.push(v),
                    // A finite FP64 value beyond the f32 range of an FP32 model.
                    Some(_) => {
                        return Err(format!(
                            "{}: `{token}` is beyond the range of this model's FP32 input",
                            where_(out.len())
                        ))
                    }
                    None => {
                        return Err(format!(
                            "{}: `{token}` is not a finite {} number",
                            where_(out.len()),
                            match source {
                                Source::F32 => "FP32",
                                Source::F64 => "FP64",
                            }
                        ))
                    }
                }
                continue;
            }
            other => {
                let kind = match other {
                    b'"' => "a string",
                    b't' | b'f' => "a boolean",
                    b'{' => "an object",
                    _ => "not a number",
                };
                return Err(format!(
                    "{}: expected a number or null, found {kind}",
                    where_(out.len())
                ));
            }
        }
        i += 1;
    }
    debug_assert_eq!(depth, 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<F: Float>(text: &str, source: Source) -> Result<Vec<F>, String> {
        let mut out = Vec::new();
        parse_data(text, source, 2, &mut out).map(|()| out)
    }

    #[test]
    fn fp32_text_goes_straight_to_f32() {
        // Halfway between two f32 values once rounded to f64 first: parsing via f64 rounds
        // twice and lands on the other neighbour.
        let tricky = "1.00000005960464477539062500000000001";
        let direct: f32 = tricky.parse().unwrap();
        let via_f64 = tricky.parse::<f64>().unwrap() as f32;
        assert_ne!(direct.to_bits(), via_f64.to_bits());
        let got = parse::<f32>(&format!("[[{tricky}, null]]"), Source::F32).unwrap();
        assert_eq!(got[0].to_bits(), direct.to_bits());
        assert!(got[1].is_nan());
        // FP64 data to an f32 model: numpy's astype (through f64).
        let got = parse::<f32>(&format!("[{tricky}]"), Source::F64).unwrap();
        assert_eq!(got[0].to_bits(), via_f64.to_bits());
        // FP32 data to an f64 model: widened exactly.
        let got = parse::<f64>("[0.1]", Source::F32).unwrap();
        assert_eq!(got[0], f64::from(0.1f32));
    }

    #[test]
    fn bad_elements_are_named() {
        let e = parse::<f32>("[[1, 2], [3, \"x\"]]", Source::F32).unwrap_err();
        assert_eq!(
            e,
            "data[3] (row 1, column 1): expected a number or null, found a string"
        );
        let e = parse::<f32>("[1e39]", Source::F32).unwrap_err();
        assert!(e.contains("not a finite FP32 number"), "{e}");
        let e = parse::<f32>("[1e300]", Source::F64).unwrap_err();
        assert!(e.contains("beyond the range"), "{e}");
        assert!(parse::<f32>("{\"a\":1}", Source::F32).is_err());
        assert!(parse::<f32>("[true]", Source::F32).is_err());
    }
}
