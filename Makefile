# instorage-csi — see README.md. Every target works on a fresh Debian bookworm
# machine with Go; targets that need more (VM, kind) install it via scripts/.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
CACHE ?= $(CURDIR)/.cache
export CACHE
K8S_VERSION ?= 1.37
FUZZTIME ?= 30s

.PHONY: emulator iscsi-conformance sanity-binaries ci all build test test-unit test-emulator sanity sanity-node e2e e2e-all demo demo-stop demo-kind demo-kind-stop e2e-controlplane e2e-smoke vm-image vm-smoke vm-iscsi bench fuzz vet clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/mcs-emulator ./emulator/cmd/mcs-emulator
	$(GO) build -o $(BIN)/instorage-csi ./driver/cmd/instorage-csi

vet:
	$(GO) vet ./...

# Unit tests and the emulator suite (real SSH on loopback); no root needed.
test: vet
	$(GO) test -count=1 -timeout 20m ./driver/... ./emulator/... ./deploy/...

test-emulator:
	$(GO) test -count=1 -timeout 20m ./emulator/...

# Start the emulator in the background (scripts/emulator/emulator.sh stop to stop it).
emulator: build
	scripts/emulator/emulator.sh start $(EMULATOR_ARGS)

sanity:
	$(GO) test -count=1 -timeout 20m ./sanity/...

# What CI runs (.ci/run), stage by stage; every stage must pass.
ci:
	scripts/ci/stages.sh

# A narrated walkthrough over the CSI API against the emulator (no Kubernetes).
demo:
	scripts/demo/demo.sh

demo-stop:
	scripts/demo/demo.sh stop

# make demo's story with PVCs in a kind cluster (built offline; the pod's I/O runs where the host has an initiator).
demo-kind:
	scripts/demo/kind/demo-kind.sh start

demo-kind-stop:
	scripts/demo/kind/demo-kind.sh stop

# Real-kernel proofs in a throwaway qemu TCG VM (scripts/vm/README.md); need root.
vm-image:
	scripts/vm/build.sh

vm-smoke:
	scripts/vm/smoke-tgt.sh

vm-iscsi:
	scripts/vm/iscsi-emulator.sh

# libiscsi iscsi-test-cu (SCSI + iSCSI families) on tgt and on the emulator, same run; fails if the emulator passes fewer.
iscsi-conformance:
	PORT=$${ISCSI_TEST_PORT:-13293} scripts/iscsi/conformance.sh

# Node service on a real kernel in the VM against the emulator (csi-sanity Node tests + data tests).
sanity-node:
	scripts/node/sanity-node.sh

# kind cluster for K8S_VERSION built offline, demo overlay, this repo's e2e suite + Kubernetes' external storage suite.
e2e:
	K8S_VERSION=$(K8S_VERSION) scripts/k8s/e2e.sh

e2e-all:
	scripts/k8s/e2e-all.sh

# CI's subset of make e2e (kind, real iSCSI): provision + write/read, snapshot restore, online expand.
e2e-smoke:
	K8S_VERSION=$(K8S_VERSION) LABELS=smoke SKIP_EXTERNAL=1 scripts/k8s/e2e.sh

# The suite's controlplane specs against a real API server on the host (no VM, no kind): ~2.5 min.
e2e-controlplane:
	scripts/e2e/controlplane-host.sh

fuzz:
	$(GO) test ./emulator/cli -run '^$$' -fuzz FuzzTokenize -fuzztime $(FUZZTIME)
	$(GO) test ./emulator/cli -run '^$$' -fuzz FuzzRun -fuzztime $(FUZZTIME)
	$(GO) test -run '^$$' -fuzz FuzzParsers -fuzztime $(FUZZTIME) ./driver/pkg/array
	$(GO) test -run '^$$' -fuzz FuzzValidatorsOnlyAcceptSafeTokens -fuzztime $(FUZZTIME) ./driver/pkg/array

# csi-sanity against the built binaries (driver in controller mode, emulator over SSH).
sanity-binaries:
	scripts/sanity/binaries.sh

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./emulator/... ./driver/...

clean:
	rm -rf $(BIN)
