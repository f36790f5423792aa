# The two commands a newcomer runs are `make demo` and `make test` (README).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
MODULE := github.com/imgtrust/kubectl-imgtrust

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w \
	-X $(MODULE)/pkg/version.version=$(VERSION) \
	-X $(MODULE)/pkg/version.commit=$(COMMIT) \
	-X $(MODULE)/pkg/version.date=$(DATE)

E2E_TIMEOUT ?= 40m

.PHONY: help all build tools vet unit e2e test demo demo-down bench fuzz clean

.DEFAULT_GOAL := help

## help: this list (the default target): every public target and its `## ` comment
help:
	@echo 'usage: make TARGET; on a fresh machine: make demo, then make test'
	@awk '/^## [A-Za-z0-9_-]+:/ { t = $$2; sub(/:$$/, "", t); d = $$0; sub(/^## [^:]+: */, "", d); \
		printf "  %-17s %s\n", t, d; next } \
		/^## / { sub(/^## /, ""); printf "  %-17s %s\n", "", $$0 }' $(firstword $(MAKEFILE_LIST))

## all: the same as build
all: build

## build: the plugin binary, bin/kubectl-imgtrust
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-imgtrust ./cmd/kubectl-imgtrust

## tools: the real test-stack binaries (kube-apiserver, etcd, kubectl, registry, crane), signers (cosign, notation) and krew (kubectl-krew, validate-krew-manifest), cached in .cache/tools (hack/build-tools.sh), and the CRDs the e2e tests install (admission engines, Tekton, prometheus-operator, Trivy Operator) in .cache/crds (hack/crds.sh)
tools:
	hack/build-tools.sh tools signers krew
	hack/crds.sh >/dev/null

## vet: gofmt and go vet
vet:
	@unformatted=$$(gofmt -l cmd pkg test hack); \
	if [[ -n "$$unformatted" ]]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...

## unit: unit tests (no cluster, no network)
unit:
	$(GO) test ./...

## e2e: end-to-end tests through the real kubectl on the real local stack
e2e: tools
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) ./test/e2e/...

## test: everything CI runs
test: vet unit release-check e2e

## demo: build, start the local cluster and registries, load a demo, run the audit (builds only the
## local stack: the demo signs in-process, so neither the signers nor krew nor the release tools)
# Each step prints the time it is expected to take: cold is a fresh 2-core machine, measured on the
# project's 2-core machine with empty GOCACHE and GOMODCACHE (2026-12-04: 10m36s in all, exit 0; two
# engineers' code reading beside it), warm is every cache filled.
demo:
	@echo 'demo: 5 steps; cold (a fresh 2-core machine, tools built from source): ~10.5 min measured with empty build and module caches (plugin 1.5 min, step 2 6.5 min, step 5 2.5 min); warm: ~30 s' >&2
	@hack/demo.sh step 1/5 'build the plugin, bin/kubectl-imgtrust' \
		'cold: ~1.5 min (1m27s measured with empty build and module caches); warm: ~5 s, the link' \
		-- $(MAKE) --no-print-directory build
	@hack/demo.sh step 2/5 'build the local stack into .cache/tools (hack/build-tools.sh tools)' \
		'cold: ~6.5 min on 2 cores (6m30s measured; kube-apiserver is most of it); warm: instant' \
		-- hack/build-tools.sh tools
	@hack/demo.sh step 3/5 "fetch the Trivy Operator's CRDs (hack/crds.sh)" \
		'cold: a few seconds, five module zips; warm: instant' \
		-- bash -c 'hack/crds.sh >/dev/null'
	@hack/demo.sh step 4/5 'start the local cluster and registries (hack/local-cluster.sh up)' \
		'~10 s' \
		-- hack/local-cluster.sh up
	@hack/demo.sh step 5/5 'load the demo (images, signatures, workloads) and run the audits (hack/demo.sh)' \
		'warm: ~25 s, signing in-process in cosign and notation formats; cold: ~2.5 min (2m29s measured), most of it compiling hack/demo (notation-go, oras-go)' \
		-- hack/demo.sh

## demo-down: stop the demo cluster and registries
demo-down:
	hack/local-cluster.sh down

## bench: 10,000 pods side by side with kubectl, crane, kbld and cosign (~48 min at its defaults, 47m45s measured; docs/benchmarks.md)
bench: tools
	hack/bench/run.sh

## bench-scale: audit --offline and kubectl get pods at 1,000 / 10,000 / 30,000 / 100,000 pods (~50 min; SCALE_SIZES to choose)
bench-scale: tools
	hack/bench/scale.sh

## fuzz: every Go fuzz target for FUZZTIME each (default 1m); their seeds run in `unit`
fuzz:
	hack/fuzz.sh

## clean: remove bin/
clean:
	rm -rf bin

.PHONY: goreleaser release-check release-snapshot bench-scale

## goreleaser: the goreleaser pinned in hack/goreleaser, cached in .cache/tools (~6 min cold)
goreleaser:
	hack/build-tools.sh goreleaser

## release-check: goreleaser check, krew's validate-krew-manifest on plugins/imgtrust.yaml, and a single-target snapshot build into dist/
release-check: goreleaser
	hack/build-tools.sh krew
	hack/release.sh check
	hack/release.sh validate-krew
	hack/release.sh snapshot-one

## release-snapshot: every release archive and checksums.txt into dist/, nothing published; with
## IMAGE_REPO=registry/path/kubectl-imgtrust also the plugin's image (linux/amd64+arm64, hack/image,
## no Docker daemon), pushed there with your docker config's credentials
IMAGE_REPO ?=
release-snapshot: goreleaser
	hack/release.sh snapshot-all
	$(if $(IMAGE_REPO),$(GO) run ./hack/image -dist dist -repo $(IMAGE_REPO))
