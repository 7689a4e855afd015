#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh: the database (pg_restore --clean --if-exists,
# replacing backtestdb's tables in DATABASE_URL) and the raw files (into STORAGE_DIR,
# over what is there).
#   DATABASE_URL=postgresql://… STORAGE_DIR=… BACKUP_DIR=/backups \
#     scripts/restore.sh 20250101T020000Z        # or a path to the backup folder
# Asks for confirmation on a terminal unless --yes is given. Stop the API (and workers)
# first: pg_restore drops and recreates tables under them.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"

usage() { die "usage: $0 [--yes] BACKUP_STAMP_OR_PATH"; }
yes=0
source_arg=""
for arg in "$@"; do
    case "$arg" in
        -y | --yes) yes=1 ;;
        -*) usage ;;
        *)
            [[ -z "$source_arg" ]] || usage
            source_arg="$arg"
            ;;
    esac
done
[[ -n "$source_arg" ]] || usage

BACKUP_DIR="${BACKUP_DIR:-./backups}"
STORAGE="$(default_storage_dir)"
[[ -n "${DATABASE_URL:-}" ]] || die "DATABASE_URL is not set"
for tool in pg_restore tar sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

if [[ -d "$source_arg" ]]; then
    backup="$source_arg"
elif [[ -d "$BACKUP_DIR/backtestdb-$source_arg" ]]; then
    backup="$BACKUP_DIR/backtestdb-$source_arg"
elif [[ -d "$BACKUP_DIR/$source_arg" ]]; then
    backup="$BACKUP_DIR/$source_arg"
else
    die "no backup '$source_arg' (neither a folder nor a stamp in $BACKUP_DIR)"
fi
[[ -f "$backup/database.dump" && -f "$backup/files.tar.gz" ]] \
    || die "$backup lacks database.dump or files.tar.gz"

step "Verifying $backup"
if [[ -f "$backup/SHA256SUMS" ]]; then
    (cd "$backup" && sha256sum --quiet --check SHA256SUMS) || die "checksum mismatch in $backup"
    ok "checksums match"
else
    warn "no SHA256SUMS in $backup: not verified"
fi

url="$(libpq_url "$DATABASE_URL")"
if [[ "$yes" != 1 && -t 0 ]]; then
    read -r -p "Replace the database ${url##*@} and files in $STORAGE? [y/N] " answer
    [[ "$answer" == [yY]* ]] || die "aborted"
fi

step "Restoring the database"
# One transaction: a failed restore leaves the database as it was.
pg_restore --clean --if-exists --no-owner --no-acl --single-transaction --exit-on-error \
    --dbname="$url" "$backup/database.dump" || die "pg_restore failed"
ok "database restored"

step "Restoring raw files into $STORAGE"
mkdir -p "$STORAGE"
tar -C "$STORAGE" -xzf "$backup/files.tar.gz" || die "extracting files.tar.gz failed"
ok "files restored ($(find "$STORAGE" -type f | wc -l | tr -d ' ') files in $STORAGE)"
