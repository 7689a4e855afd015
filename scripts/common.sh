# Output helpers shared by scripts/*.sh (sourced, not run): ✓/✗ lines, colour on a terminal.
# shellcheck shell=bash

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
    GREEN=$'\e[32m' RED=$'\e[31m' YELLOW=$'\e[33m' BOLD=$'\e[1m' RESET=$'\e[0m'
else
    GREEN='' RED='' YELLOW='' BOLD='' RESET=''
fi

step() { printf '%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
ok() { printf '%s✓%s %s\n' "$GREEN" "$RESET" "$*"; }
warn() { printf '%s!%s %s\n' "$YELLOW" "$RESET" "$*" >&2; }
fail() { printf '%s✗%s %s\n' "$RED" "$RESET" "$*" >&2; }
die() {
    fail "$*"
    exit 1
}

# libpq (pg_dump, pg_restore, psql) does not understand SQLAlchemy's driver suffix.
libpq_url() {
    local url="$1"
    case "$url" in
        postgresql+*://*) url="postgresql://${url#*://}" ;;
        postgres+*://*) url="postgresql://${url#*://}" ;;
    esac
    printf '%s' "$url"
}

# Where backtestdb keeps raw files when STORAGE_DIR is not set (see config.py).
default_storage_dir() {
    local data_dir="${DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/backtestdb}"
    printf '%s' "${STORAGE_DIR:-$data_dir/files}"
}
