# penny — run `make run` to start, `make test` to test.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build run test test-node lint bench cover openapi release clean

# Release targets: static binaries (no cgo) with the version stamped.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/penny ./cmd/penny

run: build
	./bin/penny serve

test:
	$(GO) test -race -count=1 ./...

# The official openai npm package against penny's /v1 (needs Node and npm).
test-node:
	npm ci --prefix tests/openai-node --no-audit --no-fund
	PENNY_TEST_NODE=1 $(GO) test -count=1 -run TestOfficialNodeClient -v ./app/httpapi

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

bench:
	$(GO) run ./tools/bench -out docs/benchmarks.md

cover:
	$(GO) test -count=1 -coverpkg=./... -coverprofile=cover.out ./... >/dev/null
	$(GO) tool cover -func=cover.out | tail -1

openapi:
	python3 docs/openapi.py

# dist/penny-VERSION-OS-ARCH for every platform, and their SHA-256 sums.
release:
	@mkdir -p dist
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=dist/penny-$(VERSION)-$$os-$$arch; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/penny || exit 1; \
	done
	cd dist && sha256sum penny-$(VERSION)-* > SHA256SUMS

clean:
	rm -rf bin dist cover.out
