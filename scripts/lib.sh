# Shared helpers for scripts/*.sh. Source it; it does not change shell options.
#
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The repository root (the directory above scripts/), whatever the caller's cwd.
TIMBER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

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
