# Thin wrappers: every target is one command you could type yourself.

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE        ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
DIST        ?= dist
PLATFORMS   ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

.PHONY: build test lint demo bench golden fuzz clean dist man

## build: the rekwiz binary, in ./bin (rekwiz --version: version, commit and commit date)
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/rekwiz ./cmd/rekwiz

## dist: release archives in $(DIST): rekwiz_OS_ARCH.tar.gz (.zip for Windows) with
## README.md, LICENSE, man pages and completions; SHA256SUMS; install.sh.
## A subset: make dist PLATFORMS=linux/amd64
dist:
	GO="$(GO)" DIST="$(DIST)" PLATFORMS="$(PLATFORMS)" VERSION="$(VERSION)" COMMIT="$(COMMIT)" DATE="$(DATE)" sh scripts/dist.sh

## man: the man pages ($(DIST)/man/man1) and shell completions ($(DIST)/completions)
man:
	$(GO) run -tags gendocs -ldflags "$(LDFLAGS)" ./cmd/rekwiz $(DIST)

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
	shellcheck --shell=sh --severity=style scripts/install.sh scripts/dist.sh

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
	rm -rf bin dist
