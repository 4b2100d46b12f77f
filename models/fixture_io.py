"""Helpers every fixture generator shares (numpy only: the xgb2 child imports them too):
CSV formatting of inputs and float64 predictions, and the synthetic feature columns."""
import numpy as np


def fmt_in(v):
    """An input cell: repr of the float64, empty for NaN."""
    v = float(v)
    return "" if np.isnan(v) else repr(v)


def fmt_out(v):
    """A float64 prediction, repr (round-trips); refuses non-finite values."""
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"non-finite prediction {v!r}")
    return repr(v)


def write_rows(path, header, rows, fmt):
    with open(path, "w", newline="\n") as fh:
        if header is not None:
            fh.write(",".join(header) + "\n")
        for r in rows:
            fh.write(",".join(fmt(v) for v in r) + "\n")


def as_2d(a):
    """Predictions as float64 rows x outputs."""
    a = np.asarray(a, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def mixed_columns(rng, n, p, kinds):
    """`p` synthetic feature columns of `n` rows, column j of kind `kinds[j % len(kinds)]`:
    "n" normal, "u" uniform in [-3, 3), "i" integer-valued 0..9 (ties with thresholds),
    "l" lognormal, "r" normal(0, 2) rounded to 0.1 (many exact zeros). Each column draws
    from `rng` in turn, so a generator's fixtures depend only on its seed and `kinds`."""
    draw = {
        "n": lambda: rng.normal(size=n),
        "u": lambda: rng.uniform(-3, 3, size=n),
        "i": lambda: rng.integers(0, 10, size=n).astype(np.float64),
        "l": lambda: rng.lognormal(0, 1, size=n),
        "r": lambda: np.round(rng.normal(0, 2, size=n), 1),
    }
    return np.column_stack([draw[kinds[j % len(kinds)]]() for j in range(p)])
