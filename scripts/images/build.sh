#!/usr/bin/env bash
# build.sh [driver] [emulator] [helper] — build the project's images from this
# tree. Binaries are static (CGO_ENABLED=0) and built by the host's Go into
# bin/linux-<arch>/, so the Dockerfiles need no Go image and build offline.
# Tags: ghcr.io/instorage-csi/<name>:${TAG:-dev}. Set BASE to change the driver's
# base image (default debian:bookworm-slim; offline: scripts/images/base-image.sh slim).
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG=${TAG:-dev}
ARCH=${ARCH:-amd64}
REPO=${REPO:-ghcr.io/instorage-csi}
WHAT=${*:-driver emulator helper}
BIN=bin/linux-$ARCH
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
mkdir -p "$BIN"

gobuild() { # OUT PKG
	CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH go build -trimpath -ldflags "-s -w" -o "$BIN/$1" "$2"
}

for w in $WHAT; do
	case $w in
	driver)
		gobuild instorage-csi ./driver/cmd/instorage-csi
		# --network host: the legacy builder's RUN apt-get needs the host's route to the mirror.
		docker build --network host ${BASE:+--build-arg BASE="$BASE"} \
			-f deploy/images/instorage-csi/Dockerfile -t "$REPO/instorage-csi:$TAG" "$BIN"
		;;
	emulator)
		gobuild mcs-emulator ./emulator/cmd/mcs-emulator
		docker build -f deploy/images/mcs-emulator/Dockerfile -t "$REPO/mcs-emulator:$TAG" "$BIN"
		;;
	helper)
		gobuild csi-node-helper ./deploy/images/csi-node-helper
		docker build --target registrar -f deploy/images/csi-node-helper/Dockerfile \
			-t "$REPO/csi-node-driver-registrar-lite:$TAG" "$BIN"
		docker build --target livenessprobe -f deploy/images/csi-node-helper/Dockerfile \
			-t "$REPO/livenessprobe-lite:$TAG" "$BIN"
		;;
	*)
		echo "unknown image $w (want driver, emulator, helper)" >&2
		exit 2
		;;
	esac
done
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -F "$REPO/" || true
