#!/usr/bin/env python3
"""Summary of several scripts/peer-bench.sh runs: one markdown table (the README's) and one
SVG plot, from the result files in target/peer-bench/.

    python3 scripts/peer_report.py [RESULT.json...]   (default: target/peer-bench/*.json)

Writes target/peer-bench/summary.md and target/peer-bench/peers.svg. Every figure comes from
the result files; ratios are between scorers of the same run only. Standard library only.
"""
import glob
import json
import math
import os
import sys

# Columns of the summary, in order: result key -> heading.
PEERS = [("library", "library's predict"), ("lleaves", "lleaves"), ("tl2cgen", "TL2cgen"),
         ("onnx", "ONNX Runtime"), ("timber", "Timber")]
COLORS = {"library": "#8c8c8c", "lleaves": "#e6a23c", "tl2cgen": "#9b59b6", "onnx": "#3498db",
          "timber": "#2e9e5b"}
SHAPES = {
    "bench500": "XGBoost, 500 trees, depth 6 (depth-wise)",
    "xgb_lossguide": "XGBoost `lossguide`, 500 trees × 63 leaves",
    "lgb_leafwise": "LightGBM, 500 trees × 63 leaves (leaf-wise)",
    "sk_rf_full": "scikit-learn random forest, 100 fully grown trees (1.0M nodes)",
    "sk_rf_huge": "scikit-learn random forest, 300 fully grown trees (19M nodes)",
}


def model_name(doc):
    return os.path.basename(os.path.dirname(doc["model"]))


def cell(r):
    """µs/row on 1 thread and the bit-exact share, or why there is none."""
    if r is None:
        return "not measured"
    c = r.get("compile") or {}
    if c.get("error"):
        return "did not compile: " + c["error"]
    v = r.get("batch_1_median")
    if v is None:
        return r.get("exact_error") or "–"
    ex = r.get("exact_fraction")
    exact = "" if ex is None else f" ({100 * ex:.0f}% exact)"
    return f"{v:.2f}{exact}"


def summary(docs):
    head = ["model"] + [h for _, h in PEERS] + ["Timber faster than the best peer"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for doc in docs:
        res = doc["results"]
        row = [SHAPES.get(model_name(doc), model_name(doc))]
        row += ["(LightGBM only)" if k == "lleaves" and doc.get("kind") != "lightgbm"
                else cell(res.get(k)) for k, _ in PEERS]
        t = (res.get("timber") or {}).get("batch_1_median")
        others = [r.get("batch_1_median") for k, r in res.items()
                  if k != "timber" and r.get("batch_1_median")]
        row.append(f"**{min(others) / t:.1f}×**" if t and others else "–")
        lines.append("| " + " | ".join(row) + " |")
    loads = {model_name(d): d.get("load_average", [None])[0] for d in docs}
    lines += ["", "µs per row, batch of "
              f"{docs[0]['num_rows']:,} rows, 1 thread, medians of interleaved rounds; "
              "load average at the end of each run: "
              + ", ".join(f"{k} {v:.1f}" for k, v in loads.items() if v is not None) + "."]
    return "\n".join(lines)


def svg(docs):
    """Horizontal bars, µs/row on a log scale, one group per model."""
    bar, gap, left, width = 14, 18, 330, 420
    vals = [r.get("batch_1_median") for d in docs for r in d["results"].values()
            if r.get("batch_1_median")]
    lo, hi = 10 ** math.floor(math.log10(min(vals))), 10 ** math.ceil(math.log10(max(vals)))
    x = lambda v: left + width * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    out, y = [], 30
    for d in docs:
        res = d["results"]
        out.append(f'<text x="10" y="{y + 10}" font-weight="bold">'
                   f'{SHAPES.get(model_name(d), model_name(d)).replace("`", "")}</text>')
        y += 18
        for key, label in PEERS:
            r = res.get(key)
            v = r and r.get("batch_1_median")
            out.append(f'<text x="{left - 8}" y="{y + 11}" text-anchor="end">{label}</text>')
            if v:
                out.append(f'<rect x="{left}" y="{y}" width="{x(v) - left:.1f}" height="{bar}" '
                           f'fill="{COLORS[key]}"/>')
                out.append(f'<text x="{x(v) + 4:.1f}" y="{y + 11}">{v:.2f} µs</text>')
            else:
                why = "did not compile" if r and (r.get("compile") or {}).get("error") else "–"
                out.append(f'<text x="{left + 4}" y="{y + 11}" fill="#888">{why}</text>')
            y += bar + 3
        y += gap
    ticks = []
    t = lo
    while t <= hi:
        ticks.append(f'<line x1="{x(t):.1f}" y1="24" x2="{x(t):.1f}" y2="{y - gap}" '
                     f'stroke="#ddd"/><text x="{x(t):.1f}" y="{y - gap + 14}" '
                     f'text-anchor="middle" fill="#666">{t:g}</text>')
        t *= 10
    h = y + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" height="{h}" '
            f'font-family="sans-serif" font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="10" y="16" font-size="13">µs per row (log scale, lower is better), '
            f'batch of 100,000 rows, 1 thread</text>' + "".join(ticks) + "".join(out) + "</svg>\n")


def main():
    files = sys.argv[1:] or sorted(glob.glob("target/peer-bench/*.json"))
    order = list(SHAPES)
    docs = [json.load(open(f)) for f in files]
    docs.sort(key=lambda d: order.index(model_name(d)) if model_name(d) in order else 99)
    if not docs:
        sys.exit("no result files: run scripts/peer-bench.sh first")
    os.makedirs("target/peer-bench", exist_ok=True)
    md = summary(docs)
    open("target/peer-bench/summary.md", "w").write(md + "\n")
    open("target/peer-bench/peers.svg", "w").write(svg(docs))
    print(md)
    print("wrote target/peer-bench/summary.md and target/peer-bench/peers.svg", file=sys.stderr)


if __name__ == "__main__":
    main()
