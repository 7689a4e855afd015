"""Settings, read once from the environment (and a `.env` file) by `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from platformdirs import user_data_path
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "backtestdb"
#: Loopback, and the Service of deploy/kubernetes (data-pipeline in trading-system) by
#: every name the cluster's DNS gives it.
DEFAULT_ALLOWED_HOSTS = ",".join(
    ("localhost", "127.0.0.1", "[::1]", "data-pipeline", "data-pipeline.trading-system",
     "data-pipeline.trading-system.svc", "data-pipeline.trading-system.svc.cluster.local")
)  # fmt: skip


def default_data_dir() -> Path:
    return user_data_path(APP_NAME, appauthor=False)


def normalize_database_url(url: str) -> str:
    """Accept the plain `postgresql://` form the seed's ConfigMap holds; we drive psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    #: Empty means the embedded SQLite file `DATA_DIR/backtestdb.sqlite3`.
    database_url: str = ""
    #: Where backtestdb keeps its embedded database and (by default) raw files.
    data_dir: Path = Field(default_factory=default_data_dir)
    #: Raw source files are kept here, one folder per backtest id. Default: DATA_DIR/files.
    storage_dir: Path | None = None
    #: Where raw files go, as an fsspec URL (`s3://bucket/prefix`, `file:///srv/files`).
    #: Empty: the local folder STORAGE_DIR. Async uploads wait here for a worker, so every
    #: replica that runs workers must reach the same location.
    storage_url: str = ""
    #: Extra fsspec options for STORAGE_URL, as JSON (`{"endpoint_url": "http://..."}`).
    storage_options: dict[str, Any] = Field(default_factory=dict)
    #: Upload limit per file, in MiB.
    max_file_size_mb: int = Field(default=100, gt=0)
    #: Most a zip (or a folder chosen in the dashboard) may hold unpacked, in MiB; past it
    #: the upload answers 413. Counted as the bytes are written, not as the zip declares.
    max_archive_unpacked_mb: int = Field(default=1024, gt=0)
    #: Longest an upload's whole body may take to arrive, in seconds; slower answers 408.
    upload_timeout_seconds: float = Field(default=600, gt=0)
    #: How many row errors a failed job keeps (the count of the rest is kept too).
    max_row_errors: int = Field(default=1000, gt=0)
    #: Migrate the database on first use. Default: yes for SQLite, no for PostgreSQL
    #: (there a migration job runs once before the replicas start).
    auto_migrate: bool | None = None
    #: History CSV bounds: past them a file is refused at once, naming the row, so a file
    #: with no newline or 100,000 columns costs bounded memory (characters, roughly bytes).
    max_csv_header_bytes: int = Field(default=1 << 20, ge=1024)
    max_csv_row_bytes: int = Field(default=64 << 10, ge=1024)
    max_csv_columns: int = Field(default=500, ge=10)
    max_csv_extra_bytes: int = Field(default=16 << 10, ge=0)
    #: Rows sent to the database per batch.
    batch_size: int = Field(default=5000, gt=0)
    log_level: str = "INFO"
    #: Comma-separated keys; when set, writes (POST, DELETE) need `X-API-Key` or a Bearer token.
    api_keys: str = ""
    #: Also require a key for reads (every GET but /health*, /, /docs, /redoc, /openapi.json).
    api_key_reads: bool = False
    #: Comma-separated origins allowed by CORS; empty disables CORS headers. Writes from a
    #: browser page are refused (403) unless it is this server or one of these origins.
    cors_origins: str = ""
    #: Host names this server answers, comma-separated (`*.example.com` for subdomains, `*`
    #: for any); another Host header answers 400, so a DNS-rebound name reaches nothing.
    allowed_hosts: str = DEFAULT_ALLOWED_HOSTS
    #: This pod's and its node's IP (the Deployment passes them from the downward API),
    #: allowed as hosts too: Kubernetes probes send the pod IP, NodePort clients the node's.
    pod_ip: str = ""
    node_ip: str = ""
    #: Trading days per year for annualising Sharpe and Sortino (docs/metrics.md).
    days_per_year: int = Field(default=252, ge=1, le=366)
    #: Run a worker thread inside each API process for `?mode=async` ingests. Off when
    #: separate `backtestdb worker` processes do the work.
    inprocess_worker: bool = True
    #: How long a claimed job stays a worker's without a heartbeat; the worker renews it
    #: every third of that, so a dead worker's job is retried after at most this long.
    job_lease_seconds: float = Field(default=60, gt=0)
    #: How often an idle worker looks for pending jobs.
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    #: Longest one statement of a read (API and dashboard GETs, each batch of an export)
    #: may run, in seconds; longer is cancelled and answers 503. On SQLite it bounds the
    #: read transaction as a whole.
    statement_timeout_seconds: float = Field(default=30, gt=0)
    #: Longest a read transaction may sit idle between statements before PostgreSQL ends
    #: its connection, so a read that leaks holds a pooled connection no longer than this.
    idle_transaction_timeout_seconds: float = Field(default=30, gt=0)
    #: Connections the exports of one process share, in a pool of their own: exports never
    #: take the connections ordinary requests use, and at most this many read at once.
    export_connections: int = Field(default=2, ge=1, le=50)
    #: How long a stopping server waits for open responses (a download nobody reads) to
    #: finish before it cancels them (the in-process worker's job then gets up to 10 s).
    shutdown_timeout_seconds: int = Field(default=15, ge=1)

    @field_validator("database_url")
    @classmethod
    def _normalize_url(cls, value: str) -> str:
        return normalize_database_url(value.strip())

    @field_validator("api_keys", "allowed_hosts")
    @classmethod
    def _not_only_separators(cls, value: str, info: ValidationInfo) -> str:
        # "," must not read as "no keys": that would turn authentication off.
        if value and not _split_csv(value):
            name = str(info.field_name).upper()
            raise ValueError(f"{name} is only separators ({value!r}): list a value or unset it")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, value: str) -> str:
        for pattern in _split_csv(value):
            wildcard = pattern.startswith("*.") or pattern == "*"
            if "*" in (pattern[2:] if wildcard else pattern):
                raise ValueError(f"ALLOWED_HOSTS: {pattern!r} is not a host, *.domain or *")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'backtestdb.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def effective_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "files"

    @property
    def effective_storage_url(self) -> str:
        return self.storage_url.strip() or str(self.effective_storage_dir)

    @property
    def upload_tmp_dir(self) -> Path:
        """Where uploads stream to while their request runs (a killed server leaves them)."""
        return self.data_dir / "tmp"

    @property
    def max_file_size_bytes(self) -> int:
        return self.max_file_size_mb * 1024 * 1024

    @property
    def max_archive_unpacked_bytes(self) -> int:
        return self.max_archive_unpacked_mb * 1024 * 1024

    @property
    def api_key_list(self) -> list[str]:
        return _split_csv(self.api_keys)

    @property
    def cors_origin_list(self) -> list[str]:
        return _split_csv(self.cors_origins)

    @property
    def allowed_host_list(self) -> list[str]:
        """ALLOWED_HOSTS, POD_IP and NODE_IP (an IPv6 one in brackets, as in a Host header)."""
        own = [ip.strip() for ip in (self.pod_ip, self.node_ip) if ip.strip()]
        return [*_split_csv(self.allowed_hosts), *(f"[{ip}]" if ":" in ip else ip for ip in own)]


def _split_csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
