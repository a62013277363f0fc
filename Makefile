# The README's two commands are `make run` and `make test`.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 5s

.PHONY: run test build vet fmt-check fuzz bench clean

## run: build and start the control plane on an embedded store (./trellis-data)
run: build
	./bin/trellis server --data-dir trellis-data

build:
	$(GO) build -o bin/trellis ./cmd/trellis

## test: formatting, vet, unit/API/crash tests under the race detector, brief fuzzing
test: fmt-check vet
	$(GO) test -race -count=1 -p 2 $(PKGS)
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
	$(GO) test -run '^$$' -fuzz '^FuzzParseNodeID$$' -fuzztime $(FUZZTIME) ./internal/xdsserver/

## bench: API throughput with 10,000 virtual nodes in one mesh
bench:
	$(GO) run ./bench/apithroughput

clean:
	rm -rf bin trellis-data
