"""build and deploy scripts, run for real against stand-in docker/kubectl programs that log
their arguments (no container engine or cluster exists here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.deploy.conftest import REPO, SCRIPTS, run

FAKE_KUBECTL = r"""#!/bin/sh
echo "$*" >> "$LOG"
case "$*" in
  *"get secret"*) exit 1 ;;
  *"create secret"*) echo "kind: Secret" ;;
  "apply -f -") cat > /dev/null ;;
  *"get job"*) echo "Complete " ;;
  *ExternalIP*) echo "" ;;
  *InternalIP*) echo "192.168.49.2" ;;
  *"rollout status"*) exit "${ROLLOUT_RC:-0}" ;;
esac
"""
FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$LOG"
[ "$1" = info ] && exit "${INFO_RC:-0}"
exit 0
"""


def sandbox(tmp_path: Path, fakes: dict[str, str]) -> dict[str, str]:
    """A PATH holding only the basic tools the scripts use, plus the given stand-ins."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "env", "dirname", "cat", "git", "mktemp", "rm", "sleep"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    for name, body in fakes.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    return {"PATH": str(bin_dir), "LOG": str(tmp_path / "log"), "HOME": str(tmp_path)}


def logged(tmp_path: Path) -> list[str]:
    log = tmp_path / "log"
    return log.read_text().splitlines() if log.exists() else []


def test_build_uses_docker(tmp_path: Path) -> None:
    env = sandbox(tmp_path, {"docker": FAKE_DOCKER})
    result = run(["bash", str(SCRIPTS / "build-data-pipeline.sh")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    build = [line for line in logged(tmp_path) if line.startswith("build")]
    assert len(build) == 1
    assert build[0].startswith("build -t trading-ai/data-pipeline:latest")
    assert build[0].endswith(" .")
    assert "✓ built trading-ai/data-pipeline:latest" in result.stdout


def test_build_falls_back_to_podman(tmp_path: Path) -> None:
    env = sandbox(tmp_path, {"docker": FAKE_DOCKER, "podman": FAKE_DOCKER})
    result = run(["bash", str(SCRIPTS / "build-data-pipeline.sh")], {**env, "INFO_RC": "1"},
                 tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert logged(tmp_path)[-1].startswith(
        "build --format docker -t trading-ai/data-pipeline:latest"
    )


def test_build_without_a_builder(tmp_path: Path) -> None:
    result = run(["bash", str(SCRIPTS / "build-data-pipeline.sh")], sandbox(tmp_path, {}), tmp_path)
    assert result.returncode == 1
    assert "no container builder found: install docker, podman or buildah" in result.stderr


def test_build_with_docker_down(tmp_path: Path) -> None:
    env = {**sandbox(tmp_path, {"docker": FAKE_DOCKER}), "INFO_RC": "1"}
    result = run(["bash", str(SCRIPTS / "build-data-pipeline.sh")], env, tmp_path)
    assert result.returncode == 1
    assert "docker is installed but its daemon is not reachable" in result.stderr


def test_deploy_without_kubectl(tmp_path: Path) -> None:
    result = run(
        ["bash", str(SCRIPTS / "deploy-data-pipeline.sh")], sandbox(tmp_path, {}), tmp_path
    )
    assert result.returncode == 1
    assert "kubectl not found" in result.stderr


def test_deploy_sequence(tmp_path: Path) -> None:
    env = {**sandbox(tmp_path, {"kubectl": FAKE_KUBECTL}), "DATABASE_URL": "postgresql://u:p@h/db"}
    result = run(["bash", str(SCRIPTS / "deploy-data-pipeline.sh")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    ns = "-n trading-system"
    log = logged(tmp_path)
    # The two ends of a pipe run at once, so their order in the log is either.
    assert sorted(log[2:4]) == [
        f"{ns} create secret generic data-pipeline-secrets "
        "--from-literal=DATABASE_URL=postgresql://u:p@h/db --dry-run=client -o yaml",
        "apply -f -",
    ]
    assert log[:2] + log[4:] == [
        "version --request-timeout=10s",
        "apply -f deploy/kubernetes/namespace.yaml -f deploy/kubernetes/configmap.yaml",
        f"{ns} delete job data-pipeline-migrate --ignore-not-found --wait=true",
        "apply -k deploy/kubernetes/migrate",
        f"{ns} get job data-pipeline-migrate "
        '-o jsonpath={range .status.conditions[?(@.status=="True")]}{.type} {end}',
        "apply -k deploy/kubernetes",
        f"{ns} rollout restart deployment/data-pipeline",
        f"{ns} rollout status deployment/data-pipeline --timeout=300s",
        'get nodes -o jsonpath={.items[0].status.addresses[?(@.type=="ExternalIP")].address}',
        'get nodes -o jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
    ]
    assert "internal: http://data-pipeline.trading-system.svc.cluster.local:8000" in result.stdout
    assert "external: http://192.168.49.2:30800" in result.stdout
    assert "http://192.168.49.2:30800/docs  and  http://192.168.49.2:30800/redoc" in result.stdout


def test_deploy_reports_a_failed_rollout(tmp_path: Path) -> None:
    env = {**sandbox(tmp_path, {"kubectl": FAKE_KUBECTL}), "ROLLOUT_RC": "1"}
    result = run(["bash", str(SCRIPTS / "deploy-data-pipeline.sh")], env, tmp_path)
    assert result.returncode == 1
    assert "no secret data-pipeline-secrets and no DATABASE_URL given" in result.stderr
    assert "rollout of deployment/data-pipeline did not finish in 300s" in result.stderr


def test_scripts_are_executable() -> None:
    for script in SCRIPTS.glob("*.sh"):
        if script.name != "common.sh":
            assert os.access(script, os.X_OK), script
            assert "set -euo pipefail" in script.read_text(), script
    assert (REPO / "scripts" / "common.sh").exists()
