#!/usr/bin/env python3
"""Generate the H2O fixtures under models/h2o_*: GBM and DRF MOJOs and H2O's own predictions.

Run through scripts/fixtures-h2o.sh (which creates the pinned venv and checks for Java 17):

    scripts/fixtures-h2o.sh [NAME...]      train, export, score (all h2o_* fixtures or NAME...)
    scripts/fixtures-h2o.sh --check [NAME...]
                                           re-score the committed model.zip/input.csv and check
                                           the committed expected*.csv (no training)
    scripts/fixtures-h2o.sh --genmodel-jar only fetch h2o-genmodel.jar (H2O's MOJO scorer,
                                           cached in the venv) and print its path

Models are trained by H2O-3 3.46.0.7 (the Python client's bundled h2o.jar, started locally with
nthreads=1) on scikit-learn's bundled datasets (breast_cancer, wine, iris, diabetes), its
make_friedman1 generator, and synthetic categorical data (numpy RNG, fixed seeds), then
exported with `download_mojo`. References never come from the H2O server: every expected
value is computed from the exported model.zip by H2O's MOJO scorer in h2o-genmodel.jar:

  * `java -cp h2o-genmodel.jar hex.genmodel.tools.PredictCsv --mojo model.zip --input
    input.csv --output OUT --decimal` (kept verbatim as predictcsv.csv), and the same
    without `--decimal` (hexadecimal doubles, exact by construction); the two must parse to
    the same bits;
  * H2oMojoMargin.java (this directory), compiled against the jar: the raw double[] row
    H2O builds from the CSV cells, the link-space margins (from the public
    SharedTreeMojoModel.scoreTreeRange plus the additions GbmMojoModel.unifyPreds makes
    before its inverse link), and MojoModel.score0's output, which must equal PredictCsv's.

Then an independent walker in this file (class Mojo, decode_tree: read the MOJO bytes and
route rows by H2O's rules) must reproduce H2O's raw rows and margins bit for bit;
its transforms use the C library's exp, and the number of rows where that differs from
H2O's output (Java's Math.exp is not glibc's exp) is recorded in meta.json as
`rows_differing_with_glibc_exp`.

H2O training is not byte-reproducible as a zip (model.ini has a uuid and timestamp, the zip
entry times change, experimental/modelDetails.json has run times), but the trees and the
rest of model.ini are deterministic with one thread and fixed seeds: the committed model.zip
is kept when a new export holds the same model, so a re-run rewrites every file byte for
byte. The references are always made from the committed model.zip.

Files in models/h2o_NAME/:
  model.zip            the MOJO (download_mojo)
  input.csv            header = the model's feature columns; numerical cells repr(float64),
                       categorical cells the level string, empty cell = missing
  expected.csv         binomial: p(second response level) (one column); multinomial: one
                       probability per class in domain order; regression: the value.
                       repr(float64) of H2O's double (parse to f64 and compare bits)
  expected_margin.csv  link-space values (see H2oMojoMargin.java), repr(float64)
  predictcsv.csv       PredictCsv --decimal output, verbatim (label + class probabilities
                       for classifiers)
  input_quirks.csv ... (some fixtures) cells PredictCsv reads its own way, with
                       expected_quirks.csv, expected_quirks_margin.csv, predictcsv_quirks.csv
  meta.json            h2o_version, algorithm, distribution, mojo_version, description,
                       num_rows, tree statistics
"""
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(ROOT, ".venv-fixtures-h2o")
H2O_VERSION = "3.46.0.7"
GENMODEL_JAR = os.path.join(VENV, f"h2o-genmodel-{H2O_VERSION}.jar")
HARNESS_SRC = os.path.join(HERE, "H2oMojoMargin.java")
HARNESS_DIR = os.path.join(VENV, "h2o-harness")

# --------------------------------------------------------------------------------------
# Small numeric helpers
# --------------------------------------------------------------------------------------


def f32_next(x, up):
    """The adjacent float32 above (up) or below x (x a float32 value)."""
    return float(np.nextafter(np.float32(x), np.float32(np.inf if up else -np.inf)))


def f64_next(x, up):
    return float(np.nextafter(x, np.inf if up else -np.inf))


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def from_hex(h):
    return struct.unpack("<d", struct.pack("<Q", int(h, 16)))[0]


def java_int(d):
    """Java's (int) cast of a double: NaN -> 0, truncation toward zero, saturating."""
    if math.isnan(d):
        return 0
    if d >= 2147483647.0:
        return 2147483647
    if d <= -2147483648.0:
        return -2147483648
    return int(d)  # Python int() truncates toward zero


def java_exp(x):
    """H2O's GbmMojoModel.exp: min(1e19, exp(x)) -- with the C library's exp, NOT Java's."""
    return min(1e19, math.exp(x))


# --------------------------------------------------------------------------------------
# Independent MOJO reader and walker (H2O 3.46 genmodel semantics, MOJO format >= 1.20)
# --------------------------------------------------------------------------------------


class MojoError(Exception):
    pass


class Mojo:
    """A GBM/DRF MOJO: model.ini, domains and decoded trees."""

    def __init__(self, path):
        self.path = path
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            ini = z.read("model.ini").decode("utf-8")
            self.info, self.columns, dom_files = self._parse_ini(ini)
            self.escape = self.info.get("escape_domain_values") == "true"
            self.domains = [None] * len(self.columns)
            for col, (n, fname) in dom_files.items():
                lines = z.read("domains/" + fname).decode("utf-8").split("\n")
                if lines and lines[-1] == "":
                    lines.pop()
                if len(lines) != n:
                    raise MojoError(f"domains/{fname}: {len(lines)} levels, model.ini says {n}")
                if self.escape:
                    lines = [unescape_newlines(s) for s in lines]
                self.domains[col] = lines
            self.version = float(self.info["mojo_version"])
            self.algorithm = self.info["algorithm"]
            self.nclasses = int(self.info["n_classes"])
            self.ngroups = int(self.info["n_trees"])
            if "n_trees_per_class" in self.info:
                self.tpc = int(self.info["n_trees_per_class"])
            else:
                bdt = self.info.get("binomial_double_trees") == "true"
                self.tpc = 1 if self.nclasses == 2 and not bdt else self.nclasses
            self.nfeatures = int(self.info["n_features"])
            self.trees = {}  # (class, group) -> root node
            self.raw_trees = {}
            for cls in range(self.tpc):
                for g in range(self.ngroups):
                    name = "trees/t%02d_%03d.bin" % (cls, g)
                    if name not in names:
                        continue
                    buf = z.read(name)
                    self.raw_trees[(cls, g)] = buf
                    self.trees[(cls, g)] = decode_tree(buf, self.version)

    @staticmethod
    def _parse_ini(text):
        info, columns, domains = {}, [], {}
        section = None
        for line in text.split("\n"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in ("[info]", "[columns]", "[domains]"):
                section = line
                continue
            if section == "[info]":
                k, _, v = line.partition("=")
                info[k.strip()] = v.strip()
            elif section == "[columns]":
                columns.append(line)
            elif section == "[domains]":
                idx, _, rest = line.partition(":")
                n, fname = rest.strip().split(" ", 1)
                domains[int(idx)] = (int(n), fname)
        return info, columns, domains

    # ----- routing -----------------------------------------------------------------------

    def row_from_cells(self, header, cells):
        """The double[] H2O's EasyPredictModelWrapper builds (PredictCsv's settings)."""
        raw = [math.nan] * self.nfeatures
        index = {c: i for i, c in enumerate(self.columns[: self.nfeatures])}
        for name, cell in zip(header, cells):
            if cell in ("", "NA", "N/A", "-"):
                continue
            i = index.get(name)
            if i is None:
                continue
            dom = self.domains[i]
            if dom is None:
                raw[i] = float(cell.strip())
            else:
                try:
                    raw[i] = float(dom.index(cell))
                except ValueError:
                    raw[i] = math.nan  # unknown level -> NA (no trimming of level strings)
        return raw

    def go_right(self, s, d):
        """Whether value d goes to the right child of split s (MOJO >= 1.20 routing)."""
        if self.version < 1.2:
            raise MojoError("walker supports MOJO >= 1.20 only")
        dom = self.domains[s["col"]]
        na = (
            math.isnan(d)
            or (s["kind"] != "num" and not s["in_range"](java_int(d)))
            or (dom is not None and len(dom) <= java_int(d))
        )
        if na:
            return not s["leftward"]
        if s["na_vs_rest"]:
            return False
        if s["kind"] == "num":
            return d >= s["split"]  # a double compared with a float32 widened to double
        return s["contains"](java_int(d))

    def score_tree(self, node, row):
        while node[0] == "split":
            s = node[1]
            node = s["right"] if self.go_right(s, row[s["col"]]) else s["left"]
        return node[1]

    def sums(self, row):
        """Per-class tree sums in H2O's order (class-major, groups in order, from 0.0)."""
        out = []
        for cls in range(self.tpc):
            acc = 0.0
            for g in range(self.ngroups):
                t = self.trees.get((cls, g))
                if t is not None:
                    acc += self.score_tree(t, row)
            out.append(acc)
        return out

    def margin_and_pred(self, row):
        s = self.sums(row)
        algo = self.algorithm
        if algo in ("Gradient Boosting Machine", "Gradient Boosting Method"):
            dist = self.info["distribution"]
            init_f = float(self.info["init_f"])
            link = self.info.get("link_function", "identity")
            if dist in ("bernoulli", "quasibinomial", "modified_huber"):
                f = s[0] + init_f + 0.0
                p1 = 1.0 / (1.0 + java_exp(-f))
                probs = [1.0 - p1, p1]
                return [f], self._finish_classes(probs)
            if dist == "multinomial":
                if self.nclasses == 2:
                    f = s[0] + init_f + 0.0
                    m = [f, -f]
                else:
                    m = list(s)
                mx = -math.inf
                for v in m:
                    mx = max(mx, v)
                es, dsum = [], 0.0
                for v in m:
                    e = math.exp(v - mx)
                    es.append(e)
                    dsum += e
                return m, self._finish_classes([e / dsum for e in es])
            f = s[0] + init_f + 0.0
            if link == "log":
                return [f], [java_exp(f)]
            if link == "identity":
                return [f], [f]
            raise MojoError(f"link {link}")
        if algo == "Distributed Random Forest":
            if self.nclasses == 1:
                return [s[0]], [s[0] / self.ngroups]
            if self.tpc == 1:
                p0 = s[0] / self.ngroups
                return [s[0]], self._finish_classes([p0, 1.0 - p0])
            total = 0.0
            for v in s:
                total += v
            probs = [v / total for v in s] if total > 0 else list(s)
            return list(s), self._finish_classes(probs)
        raise MojoError(f"algorithm {algo}")

    def _finish_classes(self, probs):
        if self.info.get("balance_classes") == "true":
            prior = parse_double_list(self.info["prior_class_distrib"])
            model = parse_double_list(self.info["model_class_distrib"])
            total = 0.0
            for c in range(len(probs)):
                if prior[c] != 0 and model[c] != 0:
                    probs[c] *= prior[c] / model[c]
                total += probs[c]
            if total > 0:
                probs = [p / total for p in probs]
        return probs

    # ----- statistics --------------------------------------------------------------------

    def stats(self):
        st = {
            "trees": len(self.trees),
            "stump_trees": 0,
            "splits": 0,
            "leaves": 0,
            "max_depth": 0,
            "numerical_splits": 0,
            "numerical_splits_on_categorical_columns": 0,
            "small_bitset_splits": 0,
            "big_bitset_splits": 0,
            "big_bitset_splits_with_offset": 0,
            "na_split_dir": {k: 0 for k in NA_DIRS.values()},
        }
        for root in self.trees.values():
            if root[0] == "leaf":
                st["stump_trees"] += 1
            stack = [(root, 0)]
            while stack:
                node, depth = stack.pop()
                st["max_depth"] = max(st["max_depth"], depth)
                if node[0] == "leaf":
                    st["leaves"] += 1
                    continue
                s = node[1]
                st["splits"] += 1
                st["na_split_dir"][NA_DIRS[s["na"]]] += 1
                if not s["na_vs_rest"]:
                    if s["kind"] == "num":
                        st["numerical_splits"] += 1
                        if self.domains[s["col"]] is not None:
                            st["numerical_splits_on_categorical_columns"] += 1
                    elif s["kind"] == "small":
                        st["small_bitset_splits"] += 1
                    else:
                        st["big_bitset_splits"] += 1
                        if s["bitoff"] > 0:
                            st["big_bitset_splits_with_offset"] += 1
                stack.append((s["left"], depth + 1))
                stack.append((s["right"], depth + 1))
        return st


NA_DIRS = {0: "None", 1: "NAvsREST", 2: "NALeft", 3: "NARight", 4: "Left", 5: "Right"}


def parse_double_list(text):
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise MojoError(f"not a list: {text}")
    return [float(p) for p in text[1:-1].split(",")]


def unescape_newlines(s):
    """StringEscapeUtils.unescapeNewlines: backslash-n, backslash-r and double backslash
    become newline, carriage return and backslash; a backslash before any other character is
    dropped, as is a trailing one."""
    out, slash = [], False
    for ch in s:
        if slash:
            out.append({"n": "\n", "r": "\r"}.get(ch, ch))
            slash = False
        elif ch == "\\":
            slash = True
        else:
            out.append(ch)
    return "".join(out)


def decode_tree(buf, version):
    """Decode one compressed tree (trees/tCC_GGG.bin) into nested tuples.

    ('leaf', value) or ('split', {...}). Checks every skip size and that the whole buffer is
    used, so a misread layout fails loudly.
    """
    pos = [0]

    def take(n):
        p = pos[0]
        if p + n > len(buf):
            raise MojoError(f"tree ends early at byte {p} (need {n})")
        pos[0] = p + n
        return buf[p : p + n]

    def u8():
        return take(1)[0]

    def u16():
        return struct.unpack("<H", take(2))[0]

    def u24():
        b = take(3)
        return b[0] | (b[1] << 8) | (b[2] << 16)

    def i32():
        return struct.unpack("<i", take(4))[0]

    def fl():
        return struct.unpack("<f", take(4))[0]

    def node():
        node_type = u8()
        col = u16()
        if col == 65535:
            return ("leaf", fl())  # a stump: the whole tree is one leaf
        na = u8()
        if na not in NA_DIRS or na == 0:
            raise MojoError(f"bad NA split direction {na}")
        lmask = node_type & 0x33
        equal = node_type & 0x0C
        rmask = (node_type & 0xC0) >> 2
        s = {
            "col": col,
            "na": na,
            "na_vs_rest": na == 1,
            "leftward": na in (2, 4),
            "kind": "num",
            "bitoff": 0,
        }
        if na != 1:
            if equal == 0:
                s["split"] = fl()
            elif equal == 4:
                raise MojoError("equality split (type 4) is not supported")
            else:
                if equal == 8:
                    nbits, bitoff, data = 32, 0, take(4)
                    s["kind"] = "small"
                else:
                    bitoff = u16()
                    if version >= 1.2:
                        nbits = i32()
                        nbytes = ((nbits - 1) >> 3) + 1
                    else:
                        nbytes = u16()
                        nbits = nbytes << 3
                    data = take(nbytes)
                    s["kind"] = "big"
                s["bitoff"], s["nbits"], s["bytes"] = bitoff, nbits, bytes(data)

                def in_range(i, bitoff=bitoff, nbits=nbits):
                    return 0 <= i - bitoff < nbits

                def contains(i, bitoff=bitoff, data=data):
                    k = i - bitoff
                    return (data[k >> 3] >> (k & 7)) & 1 == 1

                s["in_range"], s["contains"] = in_range, contains
        if lmask == 48:
            s["left"] = ("leaf", fl())
        elif lmask <= 3:
            size = [u8, u16, u24, i32][lmask]()
            start = pos[0]
            s["left"] = node()
            if pos[0] - start != size:
                raise MojoError(f"left subtree is {pos[0] - start} bytes, skip field says {size}")
        else:
            raise MojoError(f"illegal left mask {lmask}")
        if rmask & 16:
            if rmask != 48:
                raise MojoError(f"illegal right mask {rmask}")
            s["right"] = ("leaf", fl())
        else:
            s["right"] = node()
        return ("split", s)

    root = node()
    if pos[0] != len(buf):
        raise MojoError(f"{len(buf) - pos[0]} bytes left after the tree")
    return root


# --------------------------------------------------------------------------------------
# Java side: genmodel jar, harness, PredictCsv
# --------------------------------------------------------------------------------------


def compile_harness():
    os.makedirs(HARNESS_DIR, exist_ok=True)
    cls = os.path.join(HARNESS_DIR, "H2oMojoMargin.class")
    if os.path.exists(cls) and os.path.getmtime(cls) >= max(
        os.path.getmtime(HARNESS_SRC), os.path.getmtime(GENMODEL_JAR)
    ):
        return
    subprocess.run(
        ["javac", "-cp", GENMODEL_JAR, "-d", HARNESS_DIR, HARNESS_SRC], check=True
    )


def java(*args):
    cmd = ["java", "-Xmx1g", "-cp", GENMODEL_JAR + os.pathsep + HARNESS_DIR, *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def java_version():
    r = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return r.stderr.strip().splitlines()[0]


def predict_csv(model_zip, input_csv, tmp, decimal):
    out = os.path.join(tmp, "pred_dec.csv" if decimal else "pred_hex.csv")
    args = ["hex.genmodel.tools.PredictCsv", "--mojo", model_zip, "--input", input_csv,
            "--output", out]
    if decimal:
        args.append("--decimal")
    stdout = java(*args)
    with open(out) as fh:
        text = fh.read()
    return text, stdout


def harness(model_zip, input_csv, tmp):
    out = os.path.join(tmp, "harness.txt")
    java("H2oMojoMargin", model_zip, input_csv, out)
    rows = []
    with open(out) as fh:
        for line in fh:
            raw, margin, preds = line.rstrip("\n").split(";")
            rows.append(
                (
                    [from_hex(h) for h in raw.split(",")],
                    [from_hex(h) for h in margin.split(",")],
                    [from_hex(h) for h in preds.split(",")],
                )
            )
    return rows


def sig_digits(s):
    """Number of significant decimal digits in a float's text (Java or Python style)."""
    m = s.lower().lstrip("+-").split("e")[0].replace(".", "")
    return len(m.strip("0")) or 1


def parse_java_double(s):
    """Java's Double.toString / toHexString output as a Python float (exact)."""
    s = s.strip()
    if s == "NA":
        return math.nan
    if s in ("Infinity", "-Infinity"):
        return math.inf if s[0] != "-" else -math.inf
    if "0x" in s:
        return float.fromhex(s)
    return float(s)


# --------------------------------------------------------------------------------------
# Scoring a fixture: references + checks
# --------------------------------------------------------------------------------------


def read_csv_cells(path):
    with open(path, newline="") as fh:
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = lines[0].split(",")
    return header, [line.split(",") for line in lines[1:]]


def outputs_from_preds(mojo, preds):
    """Timber's outputs from score0's double[]: see the module docstring."""
    if mojo.nclasses == 1:
        return [preds[0]]
    if mojo.nclasses == 2:
        return [preds[2]]
    return list(preds[1 : 1 + mojo.nclasses])


def reference(outdir, tmp, input_name="input.csv"):
    """Run H2O's MOJO scorer on outdir/model.zip + input.csv; check everything; return
    (expected rows, margin rows, predictcsv text, stats)."""
    model_zip = os.path.join(outdir, "model.zip")
    input_csv = os.path.join(outdir, input_name)
    mojo = Mojo(model_zip)
    header, cell_rows = read_csv_cells(input_csv)

    dec_text, _ = predict_csv(model_zip, input_csv, tmp, decimal=True)
    hex_text, _ = predict_csv(model_zip, input_csv, tmp, decimal=False)
    dec_lines = dec_text.rstrip("\n").split("\n")
    hex_lines = hex_text.rstrip("\n").split("\n")
    if dec_lines[0] != hex_lines[0]:
        raise RuntimeError("PredictCsv headers differ")
    dec_rows = [line.split(",") for line in dec_lines[1:]]
    hex_rows = [line.split(",") for line in hex_lines[1:]]
    n = len(cell_rows)
    if len(dec_rows) != n or len(hex_rows) != n:
        raise RuntimeError(f"PredictCsv wrote {len(dec_rows)}/{len(hex_rows)} rows for {n}")
    h_rows = harness(model_zip, input_csv, tmp)
    if len(h_rows) != n:
        raise RuntimeError(f"harness wrote {len(h_rows)} rows for {n}")

    expected, margins = [], []
    java_decimal_not_shortest = 0
    glibc_diff = []
    for i in range(n):
        raw, margin, preds = h_rows[i]
        # PredictCsv: label first for classifiers, then the probabilities / the value.
        vals_start = 0 if mojo.nclasses == 1 else 1
        dec_vals = [parse_java_double(s) for s in dec_rows[i][vals_start:]]
        hex_vals = [parse_java_double(s) for s in hex_rows[i][vals_start:]]
        for d, h in zip(dec_vals, hex_vals):
            if bits(d) != bits(h):
                raise RuntimeError(f"row {i}: PredictCsv --decimal {d!r} != hex {h!r}")
        for s, h in zip(dec_rows[i][vals_start:], hex_vals):
            # Java 17's Double.toString is round-trip exact (checked above) but not always
            # the shortest such text (JDK-4511638, fixed in Java 19)
            if sig_digits(s) != sig_digits(repr(h)):
                java_decimal_not_shortest += 1
        pc_vals = hex_vals  # the value, or p0, p1, ... in response domain order
        score0_vals = preds[0:1] if mojo.nclasses == 1 else preds[1 : 1 + mojo.nclasses]
        if [bits(v) for v in pc_vals] != [bits(v) for v in score0_vals]:
            raise RuntimeError(f"row {i}: PredictCsv {pc_vals} != harness score0 {score0_vals}")
        if mojo.nclasses > 1 and dec_rows[i][0] != mojo_response_domain(mojo)[int(preds[0])]:
            raise RuntimeError(f"row {i}: label {dec_rows[i][0]} != score0 label {preds[0]}")
        out = outputs_from_preds(mojo, preds)
        if any(math.isnan(v) or math.isinf(v) for v in out + margin):
            raise RuntimeError(f"row {i}: non-finite output {out} / {margin}")
        expected.append(out)
        margins.append(margin)

        # Independent walker: raw row and margins must be bit-identical.
        py_raw = mojo.row_from_cells(header, cell_rows[i])
        if [bits(v) for v in py_raw] != [bits(v) for v in raw]:
            raise RuntimeError(f"row {i}: walker row {py_raw} != H2O row {raw}")
        py_margin, py_pred = mojo.margin_and_pred(raw)
        if [bits(v) for v in py_margin] != [bits(v) for v in margin]:
            raise RuntimeError(f"row {i}: walker margin {py_margin} != H2O margin {margin}")
        py_out = py_pred if mojo.nclasses != 2 else [py_pred[1]]
        if [bits(v) for v in py_out] != [bits(v) for v in out]:
            glibc_diff.append(i)
    st = mojo.stats()
    st["rows_differing_with_glibc_exp"] = len(glibc_diff)
    st["glibc_diff_rows"] = glibc_diff
    st["java_decimal_not_shortest"] = java_decimal_not_shortest
    return expected, margins, dec_text, st, mojo


def mojo_response_domain(mojo):
    with zipfile.ZipFile(mojo.path) as z:
        ini = z.read("model.ini").decode("utf-8")
    _, _, doms = Mojo._parse_ini(ini)
    idx = len(mojo.columns) - 1
    n, fname = doms[idx]
    with zipfile.ZipFile(mojo.path) as z:
        lines = z.read("domains/" + fname).decode("utf-8").split("\n")
    return lines[:n]


def mojo_equivalent(a, b):
    """Whether two MOJO zips hold the same model (ignoring uuid, timestamp and the
    experimental/ model details, which change on every export)."""

    def content(path):
        out = {}
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("experimental/"):
                    continue
                data = z.read(name)
                if name == "model.ini":
                    data = b"\n".join(
                        line for line in data.split(b"\n")
                        if not line.startswith((b"uuid", b"timestamp"))
                    )
                out[name] = data
        return out

    return content(a) == content(b)


def write_floats(path, rows):
    with open(path, "w", newline="\n") as fh:
        for r in rows:
            fh.write(",".join(repr(float(v)) for v in r) + "\n")


def check_committed(outdir, tmp):
    """--check: re-score and compare with the committed expected*.csv."""
    cases = [("input.csv", "expected.csv", "expected_margin.csv", "predictcsv.csv")]
    if os.path.exists(os.path.join(outdir, "input_quirks.csv")):
        cases.append(("input_quirks.csv", "expected_quirks.csv", "expected_quirks_margin.csv",
                      "predictcsv_quirks.csv"))
    st = None
    for inp, exp, marg, pcsv in cases:
        expected, margins, dec_text, st1, _ = reference(outdir, tmp, inp)
        st = st or st1
        for fname, rows in ((exp, expected), (marg, margins)):
            with open(os.path.join(outdir, fname)) as fh:
                got = [[float(c) for c in line.split(",")]
                       for line in fh.read().split("\n") if line]
            if len(got) != len(rows):
                raise RuntimeError(f"{outdir}/{fname}: {len(got)} rows, H2O gives {len(rows)}")
            for i, (a, b) in enumerate(zip(got, rows)):
                if [bits(x) for x in a] != [bits(x) for x in b]:
                    raise RuntimeError(f"{outdir}/{fname} row {i}: {a} != H2O {b}")
        with open(os.path.join(outdir, pcsv)) as fh:
            if fh.read() != dec_text:
                raise RuntimeError(f"{outdir}/{pcsv} differs from PredictCsv's output")
    return st


# --------------------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------------------


def sk_dataset(name):
    from sklearn import datasets

    if name == "breast_cancer":
        d = datasets.load_breast_cancer()
        y = np.array([d.target_names[t] for t in d.target])  # 'malignant' / 'benign'
        return list(d.feature_names), d.data.astype(np.float64), y
    if name == "wine":
        d = datasets.load_wine()
        y = np.array([d.target_names[t] for t in d.target])
        return list(d.feature_names), d.data.astype(np.float64), y
    if name == "iris":
        d = datasets.load_iris()
        y = np.array([d.target_names[t] for t in d.target])
        names = [n.replace(" (cm)", "").replace(" ", "_") for n in d.feature_names]
        return names, d.data.astype(np.float64), y
    if name == "diabetes":
        d = datasets.load_diabetes()  # scaled features, target 25..346
        return list(d.feature_names), d.data.astype(np.float64), d.target.astype(np.float64)
    raise ValueError(name)


def split_rows(rng, n, test_frac=0.25):
    perm = rng.permutation(n)
    k = int(round(n * test_frac))
    return np.sort(perm[k:]), np.sort(perm[:k])


def sprinkle_nan(rng, X, frac_rows, max_cells=3):
    X = X.copy()
    n, p = X.shape
    rows = rng.choice(n, size=int(n * frac_rows), replace=False)
    for r in rows:
        k = rng.integers(1, max_cells + 1)
        X[r, rng.choice(p, size=k, replace=False)] = np.nan
    return X


class Data:
    """Columns (name, kind 'num'|'cat'), training rows and the response."""

    def __init__(self, cols, train, y, y_kind, test=None, drop_levels=None):
        self.cols = cols  # [(name, 'num'|'cat')]
        self.train = train  # list of columns (np arrays; cat: object arrays, None = NA)
        self.y = y
        self.y_kind = y_kind  # 'cat' or 'num'
        self.test = test
        # {col: [levels]}: levels in the H2O frame's domain (present in extra rows of the
        # uploaded frame) but absent from the training rows
        self.drop_levels = drop_levels or {}


def numeric_data(feature_names, X, y, y_kind):
    return Data([(n, "num") for n in feature_names], [X[:, j] for j in range(X.shape[1])], y,
                y_kind)


# --------------------------------------------------------------------------------------
# H2O session
# --------------------------------------------------------------------------------------

_H2O = None


def h2o_session():
    global _H2O
    if _H2O is not None:
        return _H2O
    import h2o

    if h2o.__version__ != H2O_VERSION:
        raise RuntimeError(f"h2o {h2o.__version__} is installed, expected {H2O_VERSION}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logdir = tempfile.mkdtemp(prefix="h2o-fixtures-log-")
    # One thread: H2O's tree building is then deterministic for a given seed.
    h2o.init(ip="127.0.0.1", port=port, nthreads=1, max_mem_size="2G", log_dir=logdir,
             ice_root=logdir, verbose=False, strict_version_check=True)
    h2o.no_progress()
    _H2O = h2o
    if not os.path.exists(GENMODEL_JAR):
        tmp = GENMODEL_JAR + ".part"
        h2o.api("GET /3/h2o-genmodel.jar", save_to=tmp)
        os.replace(tmp, GENMODEL_JAR)
    return h2o


def h2o_shutdown():
    global _H2O
    if _H2O is not None:
        try:
            _H2O.cluster().shutdown()
        except Exception as e:  # noqa: BLE001 -- best effort at exit
            print(f"h2o shutdown: {e}", file=sys.stderr)
        _H2O = None


def upload(h2o, data, tmp):
    """Upload the training rows (plus the rows carrying domain-only levels) as a frame;
    return (frame restricted to training rows, response name, predictor names)."""
    import csv

    names = [c for c, _ in data.cols]
    path = os.path.join(tmp, "train.csv")
    extra = []
    for col, levels in data.drop_levels.items():
        for lv in levels:
            extra.append((col, lv))
    n = len(data.y)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names + ["response", "is_train"])
        for i in range(n):
            row = []
            for (c, kind), colv in zip(data.cols, data.train):
                v = colv[i]
                if kind == "num":
                    row.append("" if np.isnan(v) else repr(float(v)))
                else:
                    row.append("" if v is None else v)
            yv = data.y[i]
            row.append(repr(float(yv)) if data.y_kind == "num" else yv)
            row.append("1")
            w.writerow(row)
        for col, lv in extra:
            # a row only there to put `lv` into the domain; filtered out before training
            row = [lv if c == col else "" for c, _ in data.cols]
            row.append(repr(float(data.y[0])) if data.y_kind == "num" else data.y[0])
            row.append("0")
            w.writerow(row)
    col_types = {c: ("enum" if k == "cat" else "real") for c, k in data.cols}
    col_types["response"] = "enum" if data.y_kind == "cat" else "real"
    col_types["is_train"] = "int"
    fr = h2o.upload_file(path, col_types=col_types, na_strings=[""])
    fr = fr[fr["is_train"] == 1, :]
    return fr, "response", names


# --------------------------------------------------------------------------------------
# Test rows
# --------------------------------------------------------------------------------------


def fmt_num(v):
    v = float(v)
    return "" if math.isnan(v) else repr(v)


def numeric_test_rows(rng, X_test, X_all, n_rows=300, nan_rows=30):
    """Held-out rows, then perturbed copies of random rows (within the data range), 10% of
    them with 1-3 NaN cells."""
    rows = [list(r) for r in X_test]
    lo, hi = np.nanmin(X_all, axis=0), np.nanmax(X_all, axis=0)
    while len(rows) < n_rows:
        base = X_all[rng.integers(len(X_all))].copy()
        scale = (hi - lo) * 0.05
        base = base + rng.normal(0, 1, size=base.shape) * scale
        rows.append(list(base))
    rows = rows[:n_rows]
    for r in rng.choice(len(rows), size=nan_rows, replace=False):
        k = rng.integers(1, 4)
        for j in rng.choice(len(rows[r]), size=k, replace=False):
            rows[r][j] = math.nan
    return rows


def level_code(mojo, col, v):
    """A test-row value as H2O's double: categorical levels by domain index, unknown -> NaN."""
    dom = mojo.domains[col]
    if dom is None:
        return v
    return float(dom.index(v)) if v in dom else math.nan


def threshold_rows(rng, mojo, base_rows, n_exact=40, n_adj=40):
    """Rows where one numerical feature sits on the split value t (a float32) of a node the
    row reaches: exactly t, or an adjacent float64 (H2O compares doubles: t - 1 ulp(f64)
    goes left, t right), or an adjacent float32. The node is picked on the row's path
    through a random tree, among numerical splits whose column no ancestor tests, so
    setting the value keeps the row on that path."""
    trees = list(mojo.trees.values())
    out = []
    for _ in range(100 * (n_exact + n_adj)):
        if len(out) == n_exact + n_adj:
            break
        row = list(base_rows[rng.integers(len(base_rows))])
        node, above, candidates = trees[rng.integers(len(trees))], set(), []
        while node[0] == "split":
            s = node[1]
            if (s["kind"] == "num" and not s["na_vs_rest"] and mojo.domains[s["col"]] is None
                    and s["col"] not in above):
                candidates.append(s)
            above.add(s["col"])
            node = s["right"] if mojo.go_right(s, level_code(mojo, s["col"], row[s["col"]])) \
                else s["left"]
        if not candidates:
            continue
        s = candidates[rng.integers(len(candidates))]
        t = s["split"]
        if len(out) >= n_exact:
            k = rng.integers(4)
            t = [f64_next(t, False), f64_next(t, True), f32_next(t, False), f32_next(t, True)][k]
        row[s["col"]] = t
        out.append(row)
    return out


QUIRK_NUM = ["Infinity", "-Infinity", "1e400", "-1e400", " 0.25", "0.25 ", "+0.25", "NaN",
             "NA", "N/A", "-", "-0.0", "4.9e-324"]
QUIRK_CAT = ["NA", "N/A", "-", "blue ", " blue", "BLUE", "city07 ", "city7"]


def quirk_rows(rng, cols, base_cells):
    """Cells PredictCsv reads in its own way (see models/README.md): for every numerical
    column each of QUIRK_NUM (8 rows each, the other cells from test rows), for every
    categorical column each of QUIRK_CAT (4 rows each)."""
    out = []
    for j, (_, kind) in enumerate(cols):
        for q in QUIRK_NUM if kind == "num" else QUIRK_CAT:
            for _ in range(8 if kind == "num" else 4):
                r = list(base_cells[rng.integers(len(base_cells))])
                r[j] = q
                out.append(r)
    return out


def rows_to_cells(cols, rows):
    cells = []
    for r in rows:
        c = []
        for (name, kind), v in zip(cols, r):
            if kind == "num":
                c.append(fmt_num(v))
            else:
                c.append("" if v is None else v)
        cells.append(c)
    return cells


# --------------------------------------------------------------------------------------
# Fixture definitions
# --------------------------------------------------------------------------------------

FIXTURES = {}


def fixture(name, **spec):
    FIXTURES[name] = spec


def seed_of(name):
    import zlib

    return zlib.crc32(name.encode())


def dataset_fixture(ds, nan_train=0.0):
    def build(rng):
        names, X, y = sk_dataset(ds)
        tr, te = split_rows(rng, len(y))
        Xtr = sprinkle_nan(rng, X[tr], nan_train) if nan_train else X[tr]
        data = numeric_data(names, Xtr, y[tr], "num" if y.dtype.kind == "f" else "cat")
        return data, X[te], X

    return build


def gbm(**kw):
    def make():
        from h2o.estimators import H2OGradientBoostingEstimator

        return H2OGradientBoostingEstimator(**kw)

    return make


def drf(**kw):
    def make():
        from h2o.estimators import H2ORandomForestEstimator

        return H2ORandomForestEstimator(**kw)

    return make


COMMON = {"seed": 1234, "score_tree_interval": 0}

fixture("h2o_gbm_bernoulli", data=dataset_fixture("breast_cancer", nan_train=0.1),
        model=gbm(distribution="bernoulli", ntrees=30, max_depth=4, learn_rate=0.1, **COMMON),
        description="GBM bernoulli on breast_cancer (30 numeric features, names with spaces; "
                    "response levels benign/malignant: output p(malignant)), 10% training rows "
                    "with NaN cells; 30 trees depth 4")
fixture("h2o_gbm_multinomial", data=dataset_fixture("wine", nan_train=0.1),
        model=gbm(distribution="multinomial", ntrees=15, max_depth=3, learn_rate=0.2, **COMMON),
        description="GBM multinomial on wine (13 features, 3 classes), 10% training rows with "
                    "NaN cells; 15 trees per class, depth 3")
for _dist, _extra, _desc in [
    ("gaussian", {}, "gaussian (identity)"),
    ("poisson", {}, "poisson (log link: exp)"),
    ("gamma", {}, "gamma (log link: exp)"),
    ("tweedie", {"tweedie_power": 1.5}, "tweedie, power 1.5 (log link: exp)"),
    ("laplace", {}, "laplace (identity)"),
    ("quantile", {"quantile_alpha": 0.7}, "quantile, alpha 0.7 (identity)"),
    ("huber", {"huber_alpha": 0.8}, "huber, alpha 0.8 (identity)"),
]:
    fixture(f"h2o_gbm_{_dist}", data=dataset_fixture("diabetes", nan_train=0.1),
            model=gbm(distribution=_dist, ntrees=30, max_depth=4, learn_rate=0.1, **_extra,
                      **COMMON),
            description=f"GBM {_desc} on diabetes (10 features, target 25..346), 10% training "
                        "rows with NaN cells; 30 trees depth 4")
fixture("h2o_drf_regression", data=dataset_fixture("diabetes", nan_train=0.1),
        model=drf(ntrees=20, max_depth=8, **COMMON), quirks=True,
        description="DRF regression on diabetes, 10% training rows with NaN cells; 20 trees "
                    "depth 8 (prediction = sum / ntrees)")
fixture("h2o_drf_binomial", data=dataset_fixture("breast_cancer", nan_train=0.1),
        model=drf(ntrees=20, max_depth=6, **COMMON),
        description="DRF binomial on breast_cancer: one tree per iteration predicting "
                    "p(first level); output 1 - sum/ntrees")
fixture("h2o_drf_binomial_double", data=dataset_fixture("breast_cancer", nan_train=0.1),
        model=drf(ntrees=15, max_depth=6, binomial_double_trees=True, **COMMON),
        description="DRF binomial with binomial_double_trees=True: two trees per iteration, "
                    "normalised by their sum")
fixture("h2o_drf_multinomial", data=dataset_fixture("iris", nan_train=0.1),
        model=drf(ntrees=15, max_depth=6, **COMMON),
        description="DRF multinomial on iris (4 features, 3 classes): per-class sums "
                    "normalised by their total")
fixture("h2o_gbm_balance_classes", data=dataset_fixture("breast_cancer", nan_train=0.1),
        model=gbm(distribution="bernoulli", ntrees=20, max_depth=3, balance_classes=True,
                  **COMMON),
        description="GBM bernoulli with balance_classes=True: probabilities corrected by "
                    "prior_class_distrib / model_class_distrib (GenModel.correctProbabilities)")


fixture("h2o_gbm_multinomial_binary", data=dataset_fixture("breast_cancer", nan_train=0.1),
        model=gbm(distribution="multinomial", ntrees=20, max_depth=3, **COMMON),
        description="GBM with distribution=multinomial on a two-level response: one tree per "
                    "iteration; margins f = sum + init_f and -f, then H2O's softmax")
fixture("h2o_gbm_stumps", data=dataset_fixture("diabetes"),
        model=gbm(distribution="gaussian", ntrees=20, max_depth=3, learn_rate=0.5,
                  min_split_improvement=0.02, **COMMON),
        description="GBM gaussian, learn_rate 0.5, min_split_improvement 0.02: after 4 trees "
                    "no split improves enough; H2O keeps the single-leaf 5th tree (stump "
                    "encoding 00 FF FF + value) and stops (5 of 20 trees)")


def friedman(rng):
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=4000, n_features=6, noise=1.0, random_state=7)
    names = [f"x{j}" for j in range(6)]
    tr, te = split_rows(rng, len(y), test_frac=0.1)
    return numeric_data(names, X[tr], y[tr], "num"), X[te], X


fixture("h2o_drf_depth20", data=friedman,
        model=drf(ntrees=2, max_depth=20, min_rows=1, sample_rate=0.5, **COMMON),
        description="DRF regression on make_friedman1 (3600 training rows, 6 features), 2 "
                    "trees, max_depth 20, min_rows 1: trees reach depth 20")


# Synthetic categorical data -----------------------------------------------------------

COLORS = ["black", "blue", "green", "red", "white", "yellow"]
CITIES = [f"city{k:02d}" for k in range(60)]
CITIES_DOMAIN_ONLY = ["city60", "city61", "city62", "city63"]


def categorical_data(rng, n=3000, regression=False):
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-2, 2, size=n)
    x3 = rng.normal(size=n)
    x3_missing = rng.random(n) < 0.15
    color = rng.integers(len(COLORS), size=n)
    city = rng.integers(len(CITIES), size=n)
    color_eff = rng.normal(0, 1.0, size=len(COLORS))
    city_eff = rng.normal(0, 1.2, size=len(CITIES))
    z = (0.8 * x1 - 0.6 * x2 + np.where(x3_missing, 1.5, 0.4 * x3) + color_eff[color]
         + city_eff[city] + rng.normal(0, 0.5, size=n))
    color_na = rng.random(n) < 0.08
    city_na = rng.random(n) < 0.05
    x1[rng.random(n) < 0.05] = np.nan
    x3[x3_missing] = np.nan
    color_s = np.array([None if m else COLORS[c] for c, m in zip(color, color_na)], dtype=object)
    city_s = np.array([None if m else CITIES[c] for c, m in zip(city, city_na)], dtype=object)
    cols = [("x1", "num"), ("color", "cat"), ("x2", "num"), ("city", "cat"), ("x3", "num")]
    train = [x1, color_s, x2, city_s, x3]
    if regression:
        y = z * 10 + 50
        yk = "num"
    else:
        y = np.where(z > np.median(z), "yes", "no").astype(object)
        yk = "cat"
    return Data(cols, train, y, yk, drop_levels={"city": CITIES_DOMAIN_ONLY})


def categorical_test_rows(rng, data, n=400):
    rows = []
    for _ in range(n):
        r = []
        for (name, kind), colv in zip(data.cols, data.train):
            if kind == "num":
                v = colv[rng.integers(len(colv))]
                r.append(float(v) if rng.random() > 0.05 else math.nan)
            else:
                dom = COLORS if name == "color" else CITIES + CITIES_DOMAIN_ONLY
                u = rng.random()
                if u < 0.06:
                    r.append(None)  # missing
                elif u < 0.12:
                    r.append(["zz_unseen", "purple", "city99", "City01", "c"][rng.integers(5)])
                else:
                    r.append(dom[rng.integers(len(dom))])
        rows.append(r)
    # every level of every categorical column, including the domain-only ones
    for name in ("color", "city"):
        dom = COLORS if name == "color" else CITIES + CITIES_DOMAIN_ONLY
        for lv in dom + [None, "zz_unseen"]:
            base = list(rows[rng.integers(len(rows))])
            base[[c for c, _ in data.cols].index(name)] = lv
            rows.append(base)
    return rows


def cat_fixture(regression=False):
    def build(rng):
        data = categorical_data(rng, regression=regression)
        return data, None, None

    return build


fixture("h2o_gbm_categorical", data=cat_fixture(),
        model=gbm(distribution="bernoulli", ntrees=30, max_depth=5, learn_rate=0.1, **COMMON),
        rows="categorical", quirks=True,
        description="GBM bernoulli on synthetic data: 'color' (6 levels, 8% NA) and 'city' (64 "
                    "levels in the domain, 4 of them absent from the training rows; 5% NA: big "
                    "bitsets with offsets), x3 15% NA with a predictive missingness (NA vs REST "
                    "splits); test rows with NA, unseen levels, every domain level")
fixture("h2o_drf_categorical", data=cat_fixture(regression=True),
        model=drf(ntrees=10, max_depth=8, **COMMON), rows="categorical",
        description="DRF regression on the same synthetic categorical data (big bitsets, NA, "
                    "unseen and domain-only levels)")
fixture("h2o_gbm_cat_binned", data=cat_fixture(),
        model=gbm(distribution="bernoulli", ntrees=20, max_depth=4, nbins_cats=8, **COMMON),
        rows="categorical",
        description="GBM bernoulli with nbins_cats=8 < 64 city levels: 'city' is split like a "
                    "number on its level index (x >= t), with codes past the domain as NA")


# The fixtures whose transform calls exp get extra rows that tell Java's Math.exp from libm's.
for _name in ("h2o_gbm_bernoulli", "h2o_gbm_multinomial", "h2o_gbm_poisson", "h2o_gbm_gamma",
              "h2o_gbm_tweedie", "h2o_gbm_balance_classes", "h2o_gbm_multinomial_binary",
              "h2o_gbm_categorical"):
    FIXTURES[_name]["exp_rows"] = True


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def write_input(path, cols, rows):
    with open(path, "w", newline="\n") as fh:
        fh.write(",".join(c for c, _ in cols) + "\n")
        for c in rows_to_cells(cols, rows):
            fh.write(",".join(c) + "\n")


def exp_rows(rng, mojo, cols, spec, data, X_test, X_all, tmp, outdir, candidates=20000,
             keep=40):
    """Rows whose prediction differs when exp is the C library's instead of Java's Math.exp
    (about 1 in 400 calls): scored by H2O's MOJO scorer among `candidates` random rows, at
    most `keep` kept. They make the fixture fail for an implementation that uses libm's
    exp."""
    if spec.get("rows") == "categorical":
        by_name = [c for c, _ in data.cols]
        cand = categorical_test_rows(rng, data, n=candidates)
        cand = [[r[by_name.index(c)] for c, _ in cols] for r in cand]
    else:
        by_name = [c for c, _ in data.cols]
        order = [by_name.index(c) for c, _ in cols]
        cand = numeric_test_rows(rng, X_test[:0, order], X_all[:, order], n_rows=candidates,
                                 nan_rows=candidates // 10)
    path = os.path.join(tmp, "exp_candidates.csv")
    write_input(path, cols, cand)
    _, _, _, st, _ = reference(outdir, tmp, path)
    picked = st["glibc_diff_rows"][:keep]
    print(f"  exp rows: {len(st['glibc_diff_rows'])} of {candidates} candidates differ with "
          f"libm exp; keeping {len(picked)}")
    return [cand[i] for i in picked]


def build_fixture(name, spec, tmp):
    outdir = os.path.join(HERE, name)
    rng = np.random.default_rng(seed_of(name))
    data, X_test, X_all = spec["data"](rng)
    h2o = h2o_session()
    fr, yname, xnames = upload(h2o, data, tmp)
    est = spec["model"]()
    est.train(x=xnames, y=yname, training_frame=fr)
    mojo_tmp = os.path.join(tmp, "mojo")
    os.makedirs(mojo_tmp, exist_ok=True)
    path = est.download_mojo(path=mojo_tmp)
    h2o.remove(est)
    model_zip = os.path.join(outdir, "model.zip")
    keep = os.path.exists(model_zip) and mojo_equivalent(model_zip, path)
    if keep:
        # Same trees, domains and settings: keep the committed zip (a new export differs
        # only in uuid, timestamp, zip entry times and experimental/modelDetails.json).
        shutil.move(model_zip, os.path.join(tmp, "kept.zip"))
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    shutil.move(os.path.join(tmp, "kept.zip") if keep else path, model_zip)
    mojo = Mojo(model_zip)
    feat_cols = mojo.columns[: mojo.nfeatures]
    kinds = dict(data.cols)
    cols = [(c, kinds[c]) for c in feat_cols]

    if spec.get("rows") == "categorical":
        base = categorical_test_rows(rng, data)
        by_name = [c for c, _ in data.cols]
        base = [[r[by_name.index(c)] for c, _ in cols] for r in base]
        th = threshold_rows(rng, mojo, base[:300])
        rows = base + th + [[None if k == "cat" else math.nan for _, k in cols]]
    else:
        by_name = [c for c, _ in data.cols]
        order = [by_name.index(c) for c, _ in cols]
        base = numeric_test_rows(rng, X_test[:, order], X_all[:, order])
        th = threshold_rows(rng, mojo, base[:270])
        rows = base + th + [[math.nan] * len(cols)]
    if spec.get("exp_rows"):
        rows += exp_rows(rng, mojo, cols, spec, data, X_test, X_all, tmp, outdir)
    write_input(os.path.join(outdir, "input.csv"), cols, rows)
    if spec.get("quirks"):
        with open(os.path.join(outdir, "input_quirks.csv"), "w", newline="\n") as fh:
            fh.write(",".join(c for c, _ in cols) + "\n")
            for c in quirk_rows(rng, cols, rows_to_cells(cols, rows[:300])):
                fh.write(",".join(c) + "\n")
    finish(outdir, name, spec, tmp)


def finish(outdir, name, spec, tmp):
    expected, margins, dec_text, st, mojo = reference(outdir, tmp)
    write_floats(os.path.join(outdir, "expected.csv"), expected)
    write_floats(os.path.join(outdir, "expected_margin.csv"), margins)
    with open(os.path.join(outdir, "predictcsv.csv"), "w", newline="\n") as fh:
        fh.write(dec_text)
    if os.path.exists(os.path.join(outdir, "input_quirks.csv")):
        q_exp, q_margin, q_text, q_st, _ = reference(outdir, tmp, "input_quirks.csv")
        write_floats(os.path.join(outdir, "expected_quirks.csv"), q_exp)
        write_floats(os.path.join(outdir, "expected_quirks_margin.csv"), q_margin)
        with open(os.path.join(outdir, "predictcsv_quirks.csv"), "w", newline="\n") as fh:
            fh.write(q_text)
        st["quirk_rows"] = len(q_exp)
    info = mojo.info
    meta = {
        "h2o_version": info.get("h2o_version"),
        "h2o_python": H2O_VERSION,
        "genmodel_jar": f"h2o-genmodel {H2O_VERSION} (from the H2O server, GET /3/h2o-genmodel.jar)",
        "java": java_version(),
        "algorithm": info["algorithm"],
        "algo": info["algo"],
        "category": info["category"],
        "distribution": info.get("distribution"),
        "link_function": info.get("link_function"),
        "mojo_version": info["mojo_version"],
        "n_classes": mojo.nclasses,
        "n_trees": mojo.ngroups,
        "n_trees_per_class": mojo.tpc,
        "binomial_double_trees": info.get("binomial_double_trees"),
        "balance_classes": info.get("balance_classes"),
        "num_rows": len(expected),
        "outputs": len(expected[0]),
        "description": spec["description"],
        "tree_stats": {k: v for k, v in st.items() if k != "glibc_diff_rows"},
        "reference": "hex.genmodel.tools.PredictCsv --decimal (checked against its hex output and "
                     "MojoModel.score0); margins: models/H2oMojoMargin.java",
    }
    with open(os.path.join(outdir, "meta.json"), "w", newline="\n") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    size = os.path.getsize(os.path.join(outdir, "model.zip"))
    print(f"{name}: {len(expected)} rows, model.zip {size} bytes, {st['trees']} trees, "
          f"max depth {st['max_depth']}, NA dirs {st['na_split_dir']}, "
          f"bitsets small/big/offset {st['small_bitset_splits']}/{st['big_bitset_splits']}/"
          f"{st['big_bitset_splits_with_offset']}, num-on-cat "
          f"{st['numerical_splits_on_categorical_columns']}, stumps {st['stump_trees']}, "
          f"glibc-exp diffs {st['rows_differing_with_glibc_exp']}, "
          f"java-not-shortest {st['java_decimal_not_shortest']}")
    return st


def main(argv):
    if "--genmodel-jar" in argv:
        # Only fetch h2o-genmodel.jar (H2O's MOJO scorer), e.g. for scripts/h2o-bench.sh.
        if not os.path.exists(GENMODEL_JAR):
            try:
                h2o_session()
            finally:
                h2o_shutdown()
        print(GENMODEL_JAR)
        return
    check = "--check" in argv
    names = [a for a in argv if not a.startswith("--")]
    for n in names:
        if n not in FIXTURES:
            sys.exit(f"unknown fixture {n}; known: {', '.join(FIXTURES)}")
    names = names or list(FIXTURES)
    tmp = tempfile.mkdtemp(prefix="h2o-fixtures-")
    try:
        if check:
            if not os.path.exists(GENMODEL_JAR):
                sys.exit(f"{GENMODEL_JAR} is missing: run scripts/fixtures-h2o.sh once")
            compile_harness()
            for n in names:
                st = check_committed(os.path.join(HERE, n), tmp)
                print(f"{n}: ok (glibc-exp diffs {st['rows_differing_with_glibc_exp']})")
            return
        h2o_session()
        compile_harness()
        for n in names:
            build_fixture(n, FIXTURES[n], tmp)
    finally:
        h2o_shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
