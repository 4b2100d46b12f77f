// The live page of the Timber scorer: follows /events (Server-Sent Events, one JSON
// snapshot a second) and draws everything as SVG by hand: no library, no network.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let last = null;
let seenRows = new Set();

// ---- theme -------------------------------------------------------------------------
(function theme() {
  const saved = localStorage.getItem("timber-theme");
  const light = saved ? saved === "light" : window.matchMedia("(prefers-color-scheme: light)").matches;
  document.documentElement.classList.toggle("light", light);
  $("theme").addEventListener("click", () => {
    const now = !document.documentElement.classList.contains("light");
    document.documentElement.classList.toggle("light", now);
    localStorage.setItem("timber-theme", now ? "light" : "dark");
    if (last) render(last);
  });
})();

// ---- formatting --------------------------------------------------------------------
function compact(v) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 1 : 2) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 1 : 2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k";
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a === 0) return "0";
  return v.toFixed(2);
}
const grouped = (n) => Number(n).toLocaleString("en-US");
function duration(s) {
  if (s == null || !isFinite(s)) return "–";
  if (s < 1e-3) return (s * 1e6).toFixed(s < 1e-5 ? 1 : 0) + " µs";
  if (s < 1) return (s * 1e3).toFixed(s < 1e-2 ? 2 : 1) + " ms";
  return s.toFixed(2) + " s";
}
function uptime(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return `up ${d}d ${h}h`;
  if (h) return `up ${h}h ${m}m`;
  if (m) return `up ${m}m ${s % 60}s`;
  return `up ${s}s`;
}
function value(v) {
  if (v == null) return "NaN";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(4);
  return Number(v.toPrecision(6)).toString();
}
function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
function niceMax(v) {
  if (!(v > 0)) return 1;
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

// ---- time-series chart -------------------------------------------------------------
// series: [{values, color, area, lane}] over times `t` (ms). A series with `lane` is drawn
// as bars in a thin band at the bottom, on its own scale (errors next to rows).
function timeChart(svg, tip, t, series, fmt, span) {
  const W = svg.clientWidth || 600, H = svg.clientHeight || 200;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  clear(svg);
  const padL = 52, padR = 12, padT = 10, padB = 22;
  const lane = series.some((s) => s.lane) ? 34 : 0;
  const plotH = H - padT - padB - lane;
  const now = t.length ? t[t.length - 1] : Date.now();
  const t0 = now - span * 1000;
  const x = (ms) => padL + ((ms - t0) / (span * 1000)) * (W - padL - padR);
  const main = series.filter((s) => !s.lane);
  let max = 0;
  for (const s of main) for (const v of s.values) if (v != null && v > max) max = v;
  max = niceMax(max);
  const y = (v) => padT + plotH - (v / max) * plotH;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4, yy = y(v);
    el("line", { x1: padL, x2: W - padR, y1: yy, y2: yy, class: "grid" }, svg);
    el("text", { x: padL - 8, y: yy + 4, "text-anchor": "end" }, svg).textContent = fmt(v);
  }
  for (let m = 0; m <= span / 60; m++) {
    const xx = x(now - m * 60000);
    if (xx < padL - 1) break;
    el("text", { x: xx, y: H - 6, "text-anchor": m === 0 ? "end" : "middle" }, svg).textContent = m === 0 ? "now" : `-${m}m`;
  }
  for (const s of main) {
    let d = "", started = false, first = null, lastX = null;
    s.values.forEach((v, i) => {
      if (v == null || t[i] < t0) { started = false; return; }
      const px = x(t[i]).toFixed(1), py = y(v).toFixed(1);
      d += (started ? "L" : "M") + px + "," + py;
      if (first == null) first = px;
      lastX = px;
      started = true;
    });
    if (!d) continue;
    if (s.area && first != null) {
      const base = y(0).toFixed(1);
      const grad = `g${Math.random().toString(36).slice(2)}`;
      const defs = el("defs", {}, svg);
      const lg = el("linearGradient", { id: grad, x1: 0, x2: 0, y1: 0, y2: 1 }, defs);
      el("stop", { offset: "0%", "stop-color": s.color, "stop-opacity": 0.35 }, lg);
      el("stop", { offset: "100%", "stop-color": s.color, "stop-opacity": 0.02 }, lg);
      // An area only under the first contiguous run is enough for a dense series.
      el("path", { d: `${d}L${lastX},${base}L${first},${base}Z`, fill: `url(#${grad})`, stroke: "none" }, svg);
    }
    el("path", { d, fill: "none", stroke: s.color, "stroke-width": 2, "stroke-linejoin": "round" }, svg);
  }
  if (lane) {
    const top = padT + plotH + 8, h = lane - 10;
    el("line", { x1: padL, x2: W - padR, y1: top + h, y2: top + h, class: "axis" }, svg);
    for (const s of series.filter((s) => s.lane)) {
      let lmax = 0;
      for (const v of s.values) if (v > lmax) lmax = v;
      el("text", { x: padL - 8, y: top + h, "text-anchor": "end" }, svg).textContent = lmax > 0 ? fmt(lmax) : "0";
      const bw = Math.max(1, (W - padL - padR) / span - 0.5);
      s.values.forEach((v, i) => {
        if (!(v > 0) || t[i] < t0) return;
        const bh = Math.max(2, (v / lmax) * h);
        el("rect", { x: x(t[i]) - bw, y: top + h - bh, width: bw, height: bh, fill: s.color }, svg);
      });
    }
  }
  const cursor = el("line", { y1: padT, y2: H - padB, class: "cursor", visibility: "hidden" }, svg);
  svg.onmousemove = (ev) => {
    if (!t.length) return;
    const r = svg.getBoundingClientRect();
    const mx = ((ev.clientX - r.left) / r.width) * W;
    let best = 0;
    for (let i = 0; i < t.length; i++) if (Math.abs(x(t[i]) - mx) < Math.abs(x(t[best]) - mx)) best = i;
    const cx = x(t[best]);
    cursor.setAttribute("x1", cx); cursor.setAttribute("x2", cx); cursor.setAttribute("visibility", "visible");
    tip.style.display = "block";
    tip.innerHTML = `<b>${clock(t[best]).slice(0, 8)}</b><br>` +
      series.map((s) => `<span style="color:${s.color}">●</span> ${s.name}: ${s.values[best] == null ? "–" : s.tipFmt(s.values[best])}`).join("<br>");
    const left = (cx / W) * r.width;
    tip.style.left = Math.min(left + 12, r.width - tip.offsetWidth - 4) + "px";
    tip.style.top = "8px";
  };
  svg.onmouseleave = () => { cursor.setAttribute("visibility", "hidden"); tip.style.display = "none"; };
}

function sparkline(svg, values) {
  const W = svg.clientWidth || 200, H = svg.clientHeight || 38;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  clear(svg);
  const v = values.slice(-90);
  if (v.length < 2) return;
  const max = Math.max(...v, 1e-9);
  const pts = v.map((y, i) => `${((i / (v.length - 1)) * W).toFixed(1)},${(H - 2 - (y / max) * (H - 6)).toFixed(1)}`);
  el("path", { d: `M0,${H}L${pts.join("L")}L${W},${H}Z`, fill: css("--accent-soft") }, svg);
  el("path", { d: `M${pts.join("L")}`, fill: "none", stroke: css("--accent"), "stroke-width": 1.5 }, svg);
}

// ---- histograms ----------------------------------------------------------------------
function histograms(h, outputs) {
  const box = $("hists");
  const shown = h.outputs.slice(0, 12);
  while (box.children.length > shown.length) box.removeChild(box.lastChild);
  while (box.children.length < shown.length) {
    const div = document.createElement("div");
    div.className = "hist";
    div.innerHTML = `<div class="name"></div><svg></svg>`;
    box.appendChild(div);
  }
  $("hist-title").textContent = h.kind === "margin" ? "Margins" : "Predictions";
  const n = shown.length ? shown[0].n : 0;
  $("hist-note").textContent = n ? `latest ${grouped(n)} rows` + (h.outputs.length > shown.length ? ` · first ${shown.length} of ${h.outputs.length} outputs` : "") : "no rows yet";
  shown.forEach((o, i) => {
    const div = box.children[i];
    const name = outputs === 1 ? (h.kind === "margin" ? "margin" : "prediction") : `output ${i}`;
    div.querySelector(".name").innerHTML = `${name} <span>${o.mean == null ? "" : "mean " + value(o.mean)}</span>`;
    const svg = div.querySelector("svg");
    const W = svg.clientWidth || 220, H = svg.clientHeight || 110;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    clear(svg);
    const padB = 16, plotH = H - padB - 4;
    const max = Math.max(...o.counts, 1);
    const bw = W / o.counts.length;
    o.counts.forEach((c, j) => {
      const bh = (c / max) * plotH;
      const r = el("rect", { class: "bar", x: j * bw + 1, y: 4 + plotH - bh, width: Math.max(1, bw - 2), height: Math.max(c ? 1.5 : 0, bh), rx: 2 }, svg);
      const lo = o.lo + ((o.hi - o.lo) * j) / o.counts.length, hi = lo + (o.hi - o.lo) / o.counts.length;
      el("title", {}, r).textContent = `${value(lo)} – ${value(hi)}: ${c}`;
    });
    el("line", { x1: 0, x2: W, y1: 4 + plotH, y2: 4 + plotH, class: "grid" }, svg);
    if (o.mean != null && o.hi > o.lo) {
      const mx = ((o.mean - o.lo) / (o.hi - o.lo)) * W;
      el("line", { x1: mx, x2: mx, y1: 2, y2: 4 + plotH, class: "mean" }, svg);
    }
    el("text", { x: 0, y: H - 3 }, svg).textContent = value(o.lo);
    el("text", { x: W / 2, y: H - 3, "text-anchor": "middle" }, svg).textContent = value((o.lo + o.hi) / 2);
    el("text", { x: W, y: H - 3, "text-anchor": "end" }, svg).textContent = value(o.hi);
  });
}

// ---- latest rows ---------------------------------------------------------------------
function latest(rows, kind) {
  const body = $("latest").tBodies[0];
  $("latest-values-head").textContent = kind === "margin" ? "margin" : "prediction";
  if (!rows.length) return;
  const fresh = new Set();
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const id = `${r.t}|${r.key}`;
    const tr = document.createElement("tr");
    if (!seenRows.has(id)) tr.className = "fresh";
    fresh.add(id);
    const t = document.createElement("td"); t.className = "t"; t.textContent = clock(r.t);
    const k = document.createElement("td"); k.className = "key"; k.textContent = r.key; k.title = r.key;
    const v = document.createElement("td"); v.className = "v";
    if (r.error != null) {
      tr.className += " err";
      v.textContent = r.error;
    } else if (r.values.length === 1) {
      v.textContent = value(r.values[0]);
      v.title = String(r.values[0]);
      const p = r.values[0];
      if (kind !== "margin" && p >= 0 && p <= 1) {
        const bar = document.createElement("span"); bar.className = "barcell";
        const fill = document.createElement("i"); fill.style.width = (p * 100).toFixed(1) + "%";
        bar.appendChild(fill); v.appendChild(bar);
      }
    } else {
      let best = 0;
      r.values.forEach((x, i) => { if (x > r.values[best]) best = i; });
      r.values.slice(0, 8).forEach((x, i) => {
        const s = document.createElement("span");
        if (i === best && kind !== "margin") s.className = "best";
        s.textContent = value(x);
        s.title = String(x);
        v.appendChild(s);
        if (i < Math.min(r.values.length, 8) - 1) v.appendChild(document.createTextNode(", "));
      });
      if (r.values.length > 8) v.appendChild(document.createTextNode(` … (${r.values.length})`));
    }
    tr.append(t, k, v);
    frag.appendChild(tr);
  }
  clear(body);
  body.appendChild(frag);
  seenRows = fresh;
}

// ---- the whole page ----------------------------------------------------------------
function render(s) {
  last = s;
  const m = s.model;
  document.title = `${m.name} · Timber`;
  $("model-name").textContent = m.name;
  $("chips").innerHTML = [
    ["serve", m.mode], ["objective", m.objective], ["trees", m.trees], ["features", m.features],
    ["outputs", m.outputs], ["precision", m.precision],
  ].map(([k, v]) => `<span class="chip">${k} <b>${String(v).replace(/[<&]/g, "")}</b></span>`).join("");
  $("uptime").textContent = uptime(s.uptime);
  $("kpi-rate").textContent = compact(s.rate.rows);
  $("kpi-scored").textContent = grouped(s.totals.scored);
  $("kpi-batches").textContent = `${grouped(s.totals.batches)} batches`;
  $("kpi-errors").textContent = grouped(s.totals.failed);
  const all = s.totals.scored + s.totals.failed;
  $("kpi-errors-card").classList.toggle("bad", s.totals.failed > 0);
  $("kpi-error-rate").textContent = s.totals.failed
    ? `${((100 * s.totals.failed) / all).toFixed(all > 1000 ? 2 : 1)}% of rows · ${compact(s.rate.errors)}/s now`
    : "no errors";
  $("kpi-p50").textContent = duration(s.latency.p50);
  $("kpi-p90").textContent = duration(s.latency.p90);
  $("kpi-p99").textContent = duration(s.latency.p99);
  $("lat-window").textContent = `· last ${s.latency.window}s, ${grouped(s.latency.batches)} batches`;
  sparkline($("spark"), s.series.rows);
  const accent = css("--accent"), err = css("--err");
  timeChart($("chart-rate"), $("tip-rate"), s.series.t, [
    { name: "rows/s", values: s.series.rows, color: accent, area: true, tipFmt: compact },
    { name: "errors/s", values: s.series.errors, color: err, lane: true, tipFmt: compact },
  ], compact, 300);
  timeChart($("chart-lat"), $("tip-lat"), s.series.t, [
    { name: "p50", values: s.series.p50, color: css("--p50"), tipFmt: duration },
    { name: "p99", values: s.series.p99, color: css("--p99"), tipFmt: duration },
  ], duration, 300);
  histograms(s.histograms, m.outputs);
  latest(s.latest, s.histograms.kind);
  $("footer").textContent = `${m.type} · ${m.format} · ${grouped(m.nodes)} nodes, depth ${m.depth} · sha256 ${m.sha256.slice(0, 16)}… · compiled by timber ${m.timber}`;
}

function status(kind, text) {
  $("status").className = `pill ${kind}`;
  $("status-text").textContent = text;
}

function connect() {
  const source = new EventSource("events");
  source.addEventListener("snapshot", (e) => {
    status("live", "live");
    try { render(JSON.parse(e.data)); } catch (err) { console.error(err); }
    // Snapshots received, for tests (and the curious).
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
  });
  source.onerror = () => status("down", "reconnecting…");
}

window.addEventListener("resize", () => { if (last) render(last); });
connect();
