# syntax=docker/dockerfile:1
# backtestdb API image (trading-ai/data-pipeline). Build: scripts/build-data-pipeline.sh
#
# Two stages: the build stage makes a virtualenv from the pinned requirements.lock (its own
# layer, so code changes do not reinstall dependencies); the final stage copies only that
# venv onto a fresh slim base: no pip cache, no build tools, non-root.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first: this layer is rebuilt only when requirements.lock changes.
# Wheels only, so nothing is compiled and the final image needs no compiler.
COPY requirements.lock ./
RUN pip install --no-cache-dir --only-binary=:all: --requirement requirements.lock
# Then the project itself, without re-resolving dependencies.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --no-deps . \
    && backtestdb --help > /dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="trading-ai/data-pipeline" \
      org.opencontainers.image.description="backtestdb: cTrader backtest exports in PostgreSQL" \
      org.opencontainers.image.licenses="MIT"
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 backtestdb \
    && useradd --system --uid 10001 --gid backtestdb --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin backtestdb \
    && mkdir -p /var/lib/backtestdb/files \
    && chown -R 10001:10001 /var/lib/backtestdb
COPY --from=build /opt/venv /opt/venv
# No .pyc writes: the root filesystem is read-only in Kubernetes.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/var/lib/backtestdb \
    STORAGE_DIR=/var/lib/backtestdb/files
WORKDIR /var/lib/backtestdb
USER 10001:10001
EXPOSE 8000
# python, not curl: the slim image has no curl and we add nothing just for this.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["backtestdb", "serve", "--host", "0.0.0.0", "--port", "8000"]
