# penny — run `make run` to start, `make test` to test.
GO      ?= go
# Builds and tests use this Go release (fetched through the module proxy
# the first time, ~10 s): Go 1.26.8 has known net/http, crypto/tls and
# crypto/x509 vulnerabilities (make vulncheck). `make GOTOOLCHAIN=local`
# uses the Go on the PATH instead.
GOTOOLCHAIN ?= go1.27.3
export GOTOOLCHAIN
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build run test test-node test-browser test-scaleout fuzz ui screenshots lint vulncheck bench cover openapi release clean

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

# Fuzz every parser of untrusted input for FUZZTIME each (CI: a few
# seconds; locally as long as you like). Crashers land in testdata/fuzz/
# and from then on run with the ordinary tests.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./app/documents:FuzzChunker ./app/documents:FuzzHTMLText ./app/documents:FuzzCSVText \
	./app/documents:FuzzJSONText ./app/documents:FuzzDOCXText ./app/documents:FuzzPDFText ./app/httpapi:FuzzBindJSON \
	./providers/cloudflare:FuzzChatStream ./providers/openai:FuzzChatStream ./providers/anthropic:FuzzChatStream
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || { $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime 1x $$pkg; exit 1; }; \
	done

# The web UI: Vite builds ui/src into ui/dist, which the binary embeds.
# The build is committed, so `go build` and `make run` need no Node.
ui:
	npm ci --prefix ui --no-audit --no-fund
	npm run --prefix ui build

# Scale-out suites against real engines: PGlite (PostgreSQL 17 + pgvector)
# and s3rver from npm, Debian's redis-server and postgresql-15 (apt-get
# install redis-server postgresql-15). Each test starts its own server.
test-scaleout:
	npm ci --prefix tests/pglite --no-audit --no-fund
	npm ci --prefix tests/s3rver --no-audit --no-fund
	engines="$$(.ci/engines)" && eval "$$engines" && { $(GO) test -count=1 ./storage/... ./vector/... ./cmd/penny -run 'Conformance|Migrations|Blobs|Keywords|Dimension|Tally|Cache|Bus|Prefixes|Replicas|MigrateData|FullDisk'; rc=$$?; .ci/engines stop; exit $$rc; }

# The web UI in Debian's Chromium (apt-get install chromium).
test-browser:
	npm ci --prefix tests/browser --no-audit --no-fund
	PENNY_TEST_BROWSER=1 $(GO) test -count=1 -run TestWebUI -v ./app/httpapi

# docs/screenshots/: every page of a demo instance (penny seed --demo).
screenshots: build
	npm ci --prefix tests/browser --no-audit --no-fund
	@dir=$$(mktemp -d); \
	PENNY_DATA_DIR=$$dir ./bin/penny seed --demo >/dev/null && \
	{ PENNY_DATA_DIR=$$dir PENNY_ADDR=127.0.0.1:18089 ./bin/penny serve >$$dir/serve.log 2>&1 & pid=$$!; \
	  for i in $$(seq 50); do curl -sf http://127.0.0.1:18089/readyz >/dev/null && break; sleep 0.2; done; \
	  PENNY_URL=http://127.0.0.1:18089 PENNY_SCREENSHOTS=$(CURDIR)/docs/screenshots node tests/browser/screenshots.mjs; rc=$$?; \
	  kill $$pid; wait $$pid 2>/dev/null; rm -rf $$dir; exit $$rc; }

# gofmt, go vet and staticcheck (which also finds code nothing calls: it
# found two conformance tests that were written but never run).
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Known vulnerabilities reachable from penny's code (govulncheck, with the
# database built from the golang.org/x/vulndb module); the exceptions and
# their reasons are in tools/vulncheck/allowed.txt.
vulncheck:
	$(GO) run ./tools/vulncheck ./...

bench:
	$(GO) run ./tools/bench -out docs/benchmarks.md

# Statement coverage of every package (counted from all test binaries:
# a package's code exercised through another's tests counts, and so does
# the code the cmd/penny tests run in `penny` subprocesses), then the total.
# tools/ (the benchmark and vulnerability-check programs) is not product
# code and is left out.
COVERPKG = $(shell $(GO) list ./... | grep -v /tools/ | paste -sd, -)
cover:
	@rm -rf .cover && mkdir -p .cover/bin
	@echo "go test -coverpkg=<every package but tools/> ./... (and the penny binaries the tests start)"
	@PENNY_TEST_COVERDIR=$(CURDIR)/.cover/bin $(GO) test -count=1 -coverpkg=$(COVERPKG) -coverprofile=.cover/tests.out ./... >/dev/null
	$(GO) tool covdata textfmt -i=.cover/bin -o .cover/bin.out
	@{ cat .cover/tests.out; tail -n +2 .cover/bin.out; } > cover.out
	@awk 'NR > 1 { split($$1, a, ":"); key = $$1; n[key] = $$2; if ($$3 > 0) hit[key] = 1; \
		f = a[1]; sub(/\/[^\/]*$$/, "", f); pkg[key] = f } \
		END { for (k in n) { t[pkg[k]] += n[k]; if (k in hit) c[pkg[k]] += n[k]; T += n[k]; if (k in hit) C += n[k] } \
		for (p in t) printf "%6.1f%%  %s\n", 100 * c[p] / t[p], p | "sort -k2"; close("sort -k2"); \
		printf "%6.1f%%  total\n", 100 * C / T }' cover.out

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
	rm -rf bin dist cover.out .cover
