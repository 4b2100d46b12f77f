# Shared helpers for scripts/*.sh. Source it; it does not change shell options.
#
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The repository root (the directory above scripts/), whatever the caller's cwd.
TIMBER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The training libraries' pinned dependency closure (pip freeze): the fixtures are made with
# it (scripts/fixtures-venv.sh) and the peers are measured with it (scripts/peers-venv.sh), so
# that models written by one load unchanged in the other.
TRAINING_REQS="xgboost-cpu==3.2.0
lightgbm==4.7.0
scikit-learn==1.9.1
numpy==2.3.5
pandas==2.3.3
scipy==1.17.1
joblib==1.6.0
threadpoolctl==3.8.0
narwhals==2.28.0
cloudpickle==3.1.2
python-dateutil==4.0.0
pytz==2026.6
tzdata==2026.6"

# section TITLE: a visible header between steps.
section() {
    printf '\n==== %s ====\n' "$*"
}

# run CMD ARGS...: print the command (as `+ cmd args`), then run it.
run() {
    printf '+ %s\n' "$*"
    "$@"
}

# die MESSAGE: print to stderr and exit 1.
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# ensure_rust_components COMPONENT...: make `cargo fmt` / `cargo clippy` available.
# Installs missing components with rustup when it is there; otherwise fails clearly.
ensure_rust_components() {
    local comp probe
    for comp in "$@"; do
        case "$comp" in
            rustfmt) probe=(cargo fmt --version) ;;
            clippy) probe=(cargo clippy --version) ;;
            *) die "ensure_rust_components: unknown component $comp" ;;
        esac
        if "${probe[@]}" >/dev/null 2>&1; then
            continue
        fi
        if command -v rustup >/dev/null 2>&1; then
            run rustup component add "$comp"
        else
            die "\`${probe[*]}\` is unavailable and rustup is not installed to add $comp"
        fi
    done
}

# ensure_rust_targets TARGET...: make `cargo build --target TARGET` possible (rustup target add).
ensure_rust_targets() {
    local target
    for target in "$@"; do
        if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
            continue
        fi
        command -v rustup >/dev/null 2>&1 || die "rustup is needed to add the $target target"
        run rustup target add "$target"
    done
}

# ensure_commands COMMAND=PACKAGE...: install each missing command from Debian's package
# PACKAGE (apt-get, as root or through sudo).
ensure_commands() {
    local pair cmd pkg missing=()
    for pair in "$@"; do
        cmd=${pair%%=*}
        pkg=${pair#*=}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    run "${sudo[@]}" apt-get update -qq
    run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# ensure_venv LABEL DIR STAMP REQS: make DIR a venv holding exactly the pinned requirement
# list REQS (one per line; PyPI binary wheels only). Idempotent: the file DIR/STAMP records
# the list installed, and when it matches nothing runs (no network access). LABEL prefixes
# the progress message. The base interpreter is $PYTHON, else python3.11, else python3.
# Returns non-zero when venv or pip fails (callers run it under `set -e`).
ensure_venv() {
    local label="$1" dir="$2" stamp="$2/$3" reqs="$4" want reqfile py=python3
    want="$(printf '%s\n' "$reqs" | sort)"
    if [[ -x "$dir/bin/python" && -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    echo "$label: setting up $dir" >&2
    if [[ ! -x "$dir/bin/python" ]]; then
        if [[ -n "${PYTHON:-}" ]]; then py="$PYTHON"
        elif command -v python3.11 >/dev/null 2>&1; then py=python3.11
        fi
        "$py" -m venv "$dir" || return 1
    fi
    reqfile="$(mktemp)"
    printf '%s\n' "$reqs" >"$reqfile"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
        --only-binary=:all: -r "$reqfile" >&2 || { rm -f "$reqfile"; return 1; }
    rm -f "$reqfile"
    printf '%s\n' "$want" >"$stamp"
}

# ensure_gitignored LINE...: append each LINE missing from the repository's .gitignore.
ensure_gitignored() {
    local gi="$TIMBER_ROOT/.gitignore" line
    for line in "$@"; do
        if ! { [[ -f "$gi" ]] && grep -qxF "$line" "$gi"; }; then
            echo "$line" >>"$gi"
        fi
    done
}
