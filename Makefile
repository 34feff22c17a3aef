# Thin wrappers: every target is one command you could type yourself.

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test lint demo bench bench-startup bench-render golden fuzz clean

## build: the rekwiz binary, in ./bin
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/rekwiz ./cmd/rekwiz

## test: every test, with the race detector (CI=true makes missing CLI tools fail, not skip).
## The scripts package runs its scripts with the real AWS CLI some ninety times (each test
## on a sandbox or moto_server of its own, in parallel): minutes under -race on 2 cores, and on
## a loaded machine past go test's default 10-minute limit.
test:
	$(GO) test -race -timeout 30m ./...

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

## bench-startup: the first frame of `rekwiz demo` and `rekwiz --domain …` in an 80x24 pty,
## each against a bare bubbletea v2 program (testdata/baretea), in turn: medians, ranges, ratio
bench-startup:
	REKWIZ_BENCH_STARTUP=1 $(GO) test -count=1 -run '^TestFirstFrameBench$$' -v ./cmd/rekwiz

## bench-render: one keystroke's Update and View at 120x40 on each step (target: under 1 ms)
bench-render:
	$(GO) test -run '^$$' -bench BenchmarkKeystroke -benchmem ./ui

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
