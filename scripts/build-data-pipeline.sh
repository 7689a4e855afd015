#!/usr/bin/env bash
# Build the API image trading-ai/data-pipeline:latest (plus a :<git sha> tag when in git)
# with docker, else podman, else buildah.
#   IMAGE=trading-ai/data-pipeline TAG=latest scripts/build-data-pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

IMAGE="${IMAGE:-trading-ai/data-pipeline}"
TAG="${TAG:-latest}"

tags=(-t "$IMAGE:$TAG")
if sha="$(git rev-parse --short HEAD 2>/dev/null)"; then
    tags+=(-t "$IMAGE:$sha")
fi

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    builder=(docker build)
elif command -v podman >/dev/null; then
    builder=(podman build --format docker)
elif command -v buildah >/dev/null; then
    builder=(buildah bud --format docker)
elif command -v docker >/dev/null; then
    die "docker is installed but its daemon is not reachable (is it running? may you use it?)"
else
    die "no container builder found: install docker, podman or buildah"
fi

step "Building $IMAGE:$TAG with ${builder[0]}"
if ! "${builder[@]}" "${tags[@]}" .; then
    die "image build failed"
fi
ok "built $IMAGE:$TAG${sha:+ and $IMAGE:$sha}"
cat <<MSG

The Deployment uses imagePullPolicy IfNotPresent, so a local cluster needs the image:
  minikube image load $IMAGE:$TAG     |  kind load docker-image $IMAGE:$TAG
  k3s: docker save $IMAGE:$TAG | sudo k3s ctr images import -
or push it to your registry. Then: scripts/deploy-data-pipeline.sh
MSG
