# Thin wrappers: every target is one command you could type yourself.

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE        ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
DIST        ?= dist
PLATFORMS   ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

.PHONY: build test test-short lint demo demo-cast bench bench-checks bench-startup bench-render golden fuzz clean dist man

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
## The scripts package runs its scripts with the real AWS CLI (each proof once per script,
## each test in a sandbox or a moto account of its own, on one moto_server; the CLI imported
## once and forked per command, or started each time with REKWIZ_TEST_AWS_FORK=off) and reads the
## Azure CLI's help (once per az version: cached under the user cache dir, not under CI).
## The packages that take longest are named first, so they start first rather than last;
## with -p 4, four test binaries run at once: much of their time is spent waiting on the
## CLIs and in the race detector's one-second pause at exit, not on the two cores.
test:
	$(GO) test -race -timeout 30m -p 4 ./scripts ./scripts/installtest ./cmd/... ./providers/fakecloud/... ./...

## test-short: the quick loop: -short skips what starts the real AWS and Azure CLIs, gcloud and
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
	shellcheck --shell=sh --severity=style scripts/install.sh scripts/dist.sh

## demo: the wizard on the built-in sandbox
demo:
	$(GO) run ./cmd/rekwiz demo

## demo-cast: record `rekwiz demo --autoplay` with asciinema at 100x30 (a fresh HOME, so the
## screens show the same paths every time) to docs/demo.cast, and render docs/demo.svg with
## svg-term-cli from npm, installed under .cache/npm. Pauses longer than CAST_IDLE seconds are
## cut to it, which keeps the SVG small.
SVG_TERM  := .cache/npm/node_modules/.bin/svg-term
CAST_IDLE ?= 4
demo-cast: build
	@command -v asciinema >/dev/null || apt-get install -y asciinema || { echo "demo-cast needs asciinema (apt-get install -y asciinema)"; exit 1; }
	test -x $(SVG_TERM) || npm install --prefix .cache/npm --no-save --no-audit --no-fund svg-term-cli@2.1.1
	home=$$(mktemp -d) && trap 'rm -rf "$$home"' EXIT && \
	  HOME=$$home XDG_CONFIG_HOME=$$home/.config TERM=xterm-256color \
	  asciinema rec --overwrite -q --cols 100 --rows 30 -i $(CAST_IDLE) -t "rekwiz demo --autoplay" \
	    -c 'bin/rekwiz demo --autoplay' docs/demo.cast </dev/null
	$(SVG_TERM) --in docs/demo.cast --out docs/demo.svg --window --width 100 --height 30
	@ls -l docs/demo.cast docs/demo.svg

## bench: the benchmarks (numbers for the issue notes)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-checks: each provider's pairing check with 50 ms added to every HTTP request, its
## wall time beside its critical path (wall-ms, path-ms, x-path; a benchmark over 1.2x fails).
## -v logs each benchmark's last run: its requests and the path through them.
bench-checks:
	$(GO) test -run '^$$' -bench 'PairingCheck|ServiceAccountCheck' -benchtime 20x ./providers/awskms ./providers/azurehsm ./providers/gcpkms

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
	rm -rf bin dist
