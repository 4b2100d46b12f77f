#!/usr/bin/env python3
"""Turn criterion's estimates (target/criterion) into the tables of docs/benchmarks.md and an SVG plot.

    python3 scripts/bench_report.py [CRITERION_DIR] [OUT_DIR]

Defaults: target/criterion, target/bench-report. Writes OUT_DIR/report.md (ratio tables
plus the absolute medians) and OUT_DIR/speedup.svg (Timber's speed-up over XGBoost's
in-place predict and over Timber's interpreter, log scale). Standard library only.

Every figure is criterion's median time per iteration (one batch of rows, or one row);
ratios divide medians measured in the same `cargo bench` run.
"""
import json
import math
import os
import platform
import sys

MODELS = ["small", "bench500", "multi", "large"]
SETS = ["random", "train"]
# The tree-shape models (`--features bench-shapes`, benches/scoring/shapes.rs): one input set,
# `heldout` (rows.npy, the rows scripts/peer-bench.sh uses); Timber in its default layout and,
# where that differs, all node arrays (`timber_nodes`); XGBoost only for xgb_lossguide.
SHAPE_MODELS = ["lgb_leafwise", "xgb_lossguide", "sk_rf_full"]
SHAPE_SETS = ["heldout"]
SHAPES = [("batch_1thread", "batch, 1 thread"), ("batch_allthreads", "batch, all threads"),
          ("row", "one row")]


def load(crit):
    """{(model, set, shape): {function: median ns}} from criterion's directories."""
    out = {}
    for group in sorted(os.listdir(crit)) if os.path.isdir(crit) else []:
        gdir = os.path.join(crit, group)
        for fn in sorted(os.listdir(gdir)):
            bench = os.path.join(gdir, fn, "new", "benchmark.json")
            est = os.path.join(gdir, fn, "new", "estimates.json")
            if not (os.path.isfile(bench) and os.path.isfile(est)):
                continue
            with open(bench) as fh:
                gid = json.load(fh)["group_id"]
            parts = gid.split("/")
            if len(parts) != 3:
                continue
            with open(est) as fh:
                median = json.load(fh)["median"]["point_estimate"]
            out.setdefault(tuple(parts), {})[fn] = median
    return out


def fmt_time(ns, shape):
    if ns is None:
        return "–"
    if shape == "row":
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.0f} ms" if ns >= 1e7 else f"{ns / 1e6:.1f} ms"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(r):
    return "–" if r is None else (f"**{r:.1f}×**" if r < 100 else f"**{r:.0f}×**")


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ""
    try:
        with open("/proc/loadavg") as fh:
            load = " ".join(fh.read().split()[:3])
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"
            + (f"; load average at report time {load}" if load else ""))


def tables(data):
    if not any(k[0] in MODELS for k in data):
        return shape_tables(data).lstrip("\n")
    lines = []
    lines.append("Speed-up of Timber's generated code (median time ratio; higher is better):\n")
    head = "| model | input | " + " | ".join(
        f"{label}: vs XGBoost | vs interpreter" for _, label in SHAPES) + " |"
    lines.append(head)
    lines.append("|---|---|" + "---|---|" * len(SHAPES))
    for m in MODELS:
        for s in SETS:
            if not any((m, s, sh) in data for sh, _ in SHAPES):
                continue
            cells = []
            for sh, _ in SHAPES:
                d = data.get((m, s, sh), {})
                t = d.get("timber")
                cells.append(fmt_ratio(ratio(d.get("xgboost"), t)))
                cells.append(fmt_ratio(ratio(d.get("interpreter"), t)))
            lines.append(f"| {m} | {s} | " + " | ".join(cells) + " |")
    lines += times_table(data, [(m, s) for m in MODELS for s in SETS], [
        ("timber", "Timber"), ("xgboost", "XGBoost in-place"), ("interpreter", "interpreter"),
        ("timber_avx2_kernel", "Timber, AVX2 kernel"),
        ("timber_scalar_kernel", "Timber, scalar kernel"),
        ("timber_nested", "Timber, nested if/else")])
    return "\n".join(lines) + "\n" + shape_tables(data)


def shape_tables(data):
    """The tree-shape models' tables, when they were benched."""
    present = [(m, s) for m in SHAPE_MODELS for s in SHAPE_SETS
               if any((m, s, sh) in data for sh, _ in SHAPES)]
    if not present:
        return ""
    lines = ["", "Tree shapes (leaf-wise LightGBM, lossguide XGBoost, fully grown scikit-learn "
             "forest; `heldout`: the 100,000 rows of rows.npy): speed-up of Timber's generated "
             "code, default layout (median time ratio; higher is better; `nodes`: the default "
             "layout against all trees as node arrays):\n"]
    lines.append("| model | input | " + " | ".join(
        f"{label}: vs XGBoost | vs interpreter | vs nodes" for _, label in SHAPES) + " |")
    lines.append("|---|---|" + "---|---|---|" * len(SHAPES))
    for m, s in present:
        cells = []
        for sh, _ in SHAPES:
            d = data.get((m, s, sh), {})
            t = d.get("timber")
            cells += [fmt_ratio(ratio(d.get(k), t))
                      for k in ("xgboost", "interpreter", "timber_nodes")]
        lines.append(f"| {m} | {s} | " + " | ".join(cells) + " |")
    lines += times_table(data, present, [
        ("timber", "Timber (auto)"), ("timber_nodes", "Timber, node arrays"),
        ("interpreter", "interpreter"), ("xgboost", "XGBoost in-place")])
    return "\n".join(lines) + "\n"


def times_table(data, pairs, columns):
    """The lines of a table of median times: a row per (model, input) of `pairs` and shape
    benched, a column per (function, heading) of `columns`; after a blank line."""
    lines = ["", "Median times (batch: 100,000 rows per call; row: one call):\n",
             "| model | input | shape | " + " | ".join(head for _, head in columns) + " |",
             "|---|---|---|" + "---|" * len(columns)]
    for m, s in pairs:
        for sh, label in SHAPES:
            d = data.get((m, s, sh))
            if not d:
                continue
            lines.append(f"| {m} | {s} | {label} | "
                         + " | ".join(fmt_time(d.get(fn), sh) for fn, _ in columns) + " |")
    return lines


def svg(data):
    """Horizontal bars, log scale: speed-up over XGBoost and over the interpreter."""
    rows = []
    for m in MODELS + SHAPE_MODELS:
        for sh, label in SHAPES:
            for s in SETS + SHAPE_SETS:
                d = data.get((m, s, sh))
                if not d or "timber" not in d:
                    continue
                rows.append((f"{m} · {label} · {s}", ratio(d.get("xgboost"), d["timber"]),
                             ratio(d.get("interpreter"), d["timber"])))
    if not rows:
        return None
    top = max([r for row in rows for r in row[1:] if r] + [10])
    decades = max(1, math.ceil(math.log10(top)))
    left, width, bar, gap = 250, 520, 9, 8
    height = 60 + len(rows) * (2 * bar + gap) + 40
    x = lambda v: left + width * max(0.0, math.log10(max(v, 1.0))) / decades
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" '
           f'height="{height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="18" font-size="13" font-weight="bold">Timber generated code: '
           'speed-up (log scale)</text>',
           f'<rect x="{left}" y="28" width="10" height="10" fill="#2b6cb0"/>'
           f'<text x="{left + 14}" y="37">over XGBoost in-place predict</text>',
           f'<rect x="{left + 200}" y="28" width="10" height="10" fill="#dd8452"/>'
           f'<text x="{left + 214}" y="37">over Timber\'s interpreter</text>']
    y0 = 50
    for k in range(decades + 1):
        xv = left + width * k / decades
        out.append(f'<line x1="{xv}" y1="{y0}" x2="{xv}" y2="{height - 30}" stroke="#ddd"/>')
        out.append(f'<text x="{xv}" y="{height - 15}" text-anchor="middle">{10 ** k}×</text>')
    y = y0 + 4
    for label, vx, vi in rows:
        out.append(f'<text x="{left - 6}" y="{y + bar + 3}" text-anchor="end">{label}</text>')
        for v, color, dy in ((vx, "#2b6cb0", 0), (vi, "#dd8452", bar)):
            if v:
                out.append(f'<rect x="{left}" y="{y + dy}" width="{x(v) - left:.1f}" '
                           f'height="{bar - 1}" fill="{color}"/>')
                out.append(f'<text x="{x(v) + 3:.1f}" y="{y + dy + bar - 2}">{v:.1f}×</text>')
        y += 2 * bar + gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    crit = argv[1] if len(argv) > 1 else "target/criterion"
    out = argv[2] if len(argv) > 2 else "target/bench-report"
    data = load(crit)
    if not data:
        sys.exit(f"no criterion results under {crit}: run scripts/bench.sh")
    os.makedirs(out, exist_ok=True)
    text = tables(data) + f"\nMachine: {machine()}.\n"
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(text)
    picture = svg(data)
    if picture:
        with open(os.path.join(out, "speedup.svg"), "w") as fh:
            fh.write(picture)
    print(text)
    print(f"wrote {out}/report.md" + (f" and {out}/speedup.svg" if picture else ""))


if __name__ == "__main__":
    main(sys.argv)
