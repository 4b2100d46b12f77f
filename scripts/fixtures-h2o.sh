#!/usr/bin/env bash
# Generates the H2O fixtures (models/h2o_*): GBM and DRF models trained by H2O-3 3.46.0.7,
# exported as MOJO zips, with reference predictions made by H2O's own MOJO scorer
# (hex.genmodel.tools.PredictCsv from h2o-genmodel.jar), not by the H2O server.
#
#     scripts/fixtures-h2o.sh              # every h2o_* fixture
#     scripts/fixtures-h2o.sh NAME...      # only these (e.g. h2o_gbm_bernoulli)
#     scripts/fixtures-h2o.sh --check      # re-verify the committed fixtures only (no
#                                          # training): PredictCsv + margin harness again on
#                                          # the committed model.zip/input.csv, and the
#                                          # independent Python MOJO walker
#     scripts/fixtures-h2o.sh --genmodel-jar  # only fetch h2o-genmodel.jar (cached in the
#                                          # venv) and print its path (scripts/h2o-bench.sh)
#
# Needs Java 17 (`java` and `javac` on PATH; H2O 3.46 runs on Java 8-17). Creates
# .venv-fixtures-h2o/ (git-ignored) with exact pins: h2o 3.46.0.7 (the last open-source
# release whose Python client still exports MOJOs; 3.46.0.12 refuses), numpy, pandas,
# scikit-learn (datasets only) and their dependencies. Idempotent: a stamp file in the venv
# records the requirement list; when it matches, nothing is installed. The h2o wheel is
# ~266 MB (it bundles h2o.jar).
#
# h2o-genmodel.jar (the MOJO scorer, ~4 MB) is fetched once from the local H2O server that
# the generator starts (GET /3/h2o-genmodel.jar, i.e. the jar of the same 3.46.0.7 build) and
# cached as .venv-fixtures-h2o/h2o-genmodel-3.46.0.7.jar; it is never committed.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$TIMBER_ROOT/.venv-fixtures-h2o"

# Full pinned dependency closure (pip freeze of a fresh install), so the install is
# reproducible.
REQS="h2o==3.46.0.7
numpy==2.3.5
pandas==2.3.3
scikit-learn==1.9.1
scipy==1.17.1
joblib==1.6.0
threadpoolctl==3.8.0
narwhals==2.29.0
cloudpickle==3.1.3
python-dateutil==4.0.0
pytz==2026.6
tzdata==2026.6
requests==2.34.2
urllib3==2.8.0
idna==3.20
certifi==2026.10.19.post1
charset-normalizer==3.5.3
tabulate==0.10.0"

check_java() {
    if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
        die "java and javac (JDK 17) are needed to train H2O models and run its MOJO scorer.
Install a JDK 17, e.g. on Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless"
    fi
    local version major
    version="$(java -version 2>&1 | head -n 1)"
    major="$(printf '%s\n' "$version" | sed -E 's/.*version "([0-9]+)(\.[0-9]+)*.*".*/\1/')"
    if [[ "$major" != "17" ]]; then
        die "found $version; these fixtures are made with Java 17 (H2O 3.46 supports 8-17, and
Java's Math.exp differs between JVMs, so references must come from the same one).
Install a JDK 17, e.g. on Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless"
    fi
    echo "fixtures-h2o: $version" >&2
}

make_venv() {
    # h2o is a pure-Python wheel (py2.py3-none-any), so --only-binary takes it too.
    ensure_venv fixtures-h2o "$VENV" .fixtures-stamp "$REQS"
}

ensure_gitignore() {
    ensure_gitignored /.venv-fixtures-h2o/
}

check_java
make_venv
ensure_gitignore
run nice -n 10 "$VENV/bin/python" "$TIMBER_ROOT/models/fixtures_h2o.py" "$@"
