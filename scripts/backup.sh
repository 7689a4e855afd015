#!/usr/bin/env bash
# Back up backtestdb: the PostgreSQL database (pg_dump custom format) and the raw files
# (a tarball of STORAGE_DIR), together in BACKUP_DIR/backtestdb-<UTC stamp>/, keeping the
# newest KEEP backups.
#   DATABASE_URL=postgresql://… STORAGE_DIR=/srv/backtestdb/files BACKUP_DIR=/backups \
#     KEEP=14 scripts/backup.sh
# Restore with scripts/restore.sh <stamp or folder>. BACKUP_STAMP overrides the stamp.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"

BACKUP_DIR="${BACKUP_DIR:-./backups}"
KEEP="${KEEP:-7}"
STAMP="${BACKUP_STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}"
STORAGE="$(default_storage_dir)"

[[ -n "${DATABASE_URL:-}" ]] || die "DATABASE_URL is not set"
case "$DATABASE_URL" in
    postgres*) ;;
    *) die "backup.sh backs up PostgreSQL; for the embedded SQLite copy DATA_DIR while idle" ;;
esac
[[ "$KEEP" =~ ^[1-9][0-9]*$ ]] || die "KEEP must be a positive whole number, not '$KEEP'"
[[ "$STAMP" =~ ^[A-Za-z0-9._-]+$ ]] || die "BACKUP_STAMP may hold only letters, digits, . _ -"
for tool in pg_dump tar sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

target="$BACKUP_DIR/backtestdb-$STAMP"
[[ ! -e "$target" ]] || die "$target already exists"
# Written under a temporary name and renamed at the end, so a half-written backup is never
# mistaken for a good one (nor counted by KEEP).
partial="$BACKUP_DIR/.backtestdb-$STAMP.partial"
mkdir -p "$BACKUP_DIR"
rm -rf "$partial"
mkdir "$partial"
trap 'rm -rf "$partial"' EXIT

step "Dumping the database"
pg_dump --format=custom --no-owner --no-acl --file="$partial/database.dump" \
    "$(libpq_url "$DATABASE_URL")" || die "pg_dump failed"
ok "database.dump ($(du -h "$partial/database.dump" | cut -f1))"

step "Archiving raw files from $STORAGE"
if [[ -d "$STORAGE" ]]; then
    tar -C "$STORAGE" -czf "$partial/files.tar.gz" . || die "tar of $STORAGE failed"
    ok "files.tar.gz ($(find "$STORAGE" -type f | wc -l | tr -d ' ') files)"
else
    warn "$STORAGE does not exist: the backup holds no raw files"
    tar -czf "$partial/files.tar.gz" -T /dev/null
fi

(cd "$partial" && sha256sum database.dump files.tar.gz >SHA256SUMS)
mv "$partial" "$target"
trap - EXIT
ok "backup written to $target"

# Oldest first by name: stamps sort by time.
mapfile -t backups < <(find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name 'backtestdb-*' | sort)
excess=$((${#backups[@]} - KEEP))
for ((i = 0; i < excess; i++)); do
    rm -rf "${backups[i]}"
    ok "removed old backup ${backups[i]}"
done
