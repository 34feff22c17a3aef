# Thin wrappers: every target is one command you could type yourself.

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-short lint demo bench golden fuzz clean

## build: the rekwiz binary, in ./bin
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/rekwiz ./cmd/rekwiz

## test: every test, with the race detector (CI=true makes missing CLI tools fail, not skip).
## The scripts package runs its scripts with the real AWS CLI (each proof once per script,
## each test in a sandbox or a moto account of its own, on one moto_server) and reads the
## Azure CLI's help (once per az version: cached under the user cache dir, not under CI).
test:
	$(GO) test -race -timeout 30m ./...

## test-short: the quick loop: -short skips what starts the real AWS and Azure CLIs and
## moto_server, and what builds the binary; make test (and CI) runs everything
test-short:
	$(GO) test -short ./...

## lint: vet, staticcheck, gofmt, go mod tidy and shellcheck leave nothing to change
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) mod tidy -diff
	shellcheck --severity=style testdata/scripts/*.sh

## demo: the wizard on the built-in sandbox
demo:
	$(GO) run ./cmd/rekwiz demo

## bench: the benchmarks (numbers for the issue notes)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## golden: rewrite the golden files under testdata after a meant change
golden:
	$(GO) test ./scripts ./ui ./cmd/... -update

## fuzz: a short run of each fuzz test
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseAliasARN -fuzztime 30s ./flows
	$(GO) test -run '^$$' -fuzz FuzzParseKeyURL -fuzztime 30s ./flows
	$(GO) test -run '^$$' -fuzz FuzzRender -fuzztime 30s ./scripts

clean:
	rm -rf bin
