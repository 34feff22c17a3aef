#!/bin/sh
# Release archives for rekwiz (make dist runs this): for each GOOS/GOARCH
# in PLATFORMS, a static binary (CGO_ENABLED=0, -trimpath, the version,
# commit and date stamped in) packed with README.md, LICENSE, the man
# pages and the shell completions, as rekwiz_OS_ARCH.tar.gz (.zip for
# Windows); then SHA256SUMS over them and install.sh beside them.
#
# The archive names carry no version, so that a release's latest/download
# address and install.sh find them under one name.
#
# Environment: GO, DIST (output directory), PLATFORMS, VERSION, COMMIT,
# DATE (RFC 3339, UTC); make dist sets them all.
set -eu

GO=${GO:-go}
DIST=${DIST:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}
VERSION=${VERSION:-dev}
COMMIT=${COMMIT:-}
DATE=${DATE:-}

die() {
	echo "dist: $*" >&2
	exit 1
}

cd "$(dirname "$0")/.."
for f in go.mod LICENSE README.md; do [ -f "$f" ] || die "run from the rekwiz repository ($f is missing)"; done

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$@"
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$@"
	else
		die "neither sha256sum nor shasum is installed"
	fi
}

# Every file in an archive gets the commit's time, so the same commit
# packs to the same bytes (GNU tar; gzip -n leaves out the name and time).
epoch=0
if [ -n "$DATE" ]; then
	epoch=$(date -u -d "$DATE" +%s 2>/dev/null || date -u -j -f %Y-%m-%dT%H:%M:%SZ "$DATE" +%s) ||
		die "DATE=$DATE: expected RFC 3339 in UTC, e.g. 2026-12-02T16:00:00Z"
fi

for p in $PLATFORMS; do
	case $p in
	linux/amd64 | linux/arm64 | darwin/amd64 | darwin/arm64 | windows/amd64) ;;
	*) die "PLATFORMS: $p is not one rekwiz releases (linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)" ;;
	esac
	case $p in windows/*) command -v zip >/dev/null 2>&1 || die "zip is not installed (apt-get install zip); the Windows archive is a .zip" ;; esac
done

mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)
stage="$DIST/.stage"
# Only what this script writes is removed: the archives, the sums, the
# installer and its staging directory.
rm -rf "$stage"
rm -f "$DIST"/rekwiz_*.tar.gz "$DIST"/rekwiz_*.zip "$DIST/SHA256SUMS" "$DIST/install.sh"
mkdir -p "$stage"

ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"

echo "dist: man pages and completions"
"$GO" run -tags gendocs -ldflags "$ldflags" ./cmd/rekwiz "$stage/docs"

archives=""
for p in $PLATFORMS; do
	os=${p%/*}
	arch=${p#*/}
	name="rekwiz_${os}_${arch}"
	dir="$stage/$name"
	exe=rekwiz
	[ "$os" = windows ] && exe=rekwiz.exe
	echo "dist: $name"
	mkdir -p "$dir"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -ldflags "$ldflags" -o "$dir/$exe" ./cmd/rekwiz
	cp README.md LICENSE "$dir/"
	cp -R "$stage/docs/man" "$stage/docs/completions" "$dir/"
	find "$dir" -exec touch -h -d "@$epoch" {} +
	if [ "$os" = windows ]; then
		(cd "$stage" && find "$name" | LC_ALL=C sort | TZ=UTC zip -qX "$DIST/$name.zip" -@)
		archives="$archives $name.zip"
	else
		(cd "$stage" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - "$name") |
			gzip -9n >"$DIST/$name.tar.gz"
		archives="$archives $name.tar.gz"
	fi
done

cp scripts/install.sh "$DIST/install.sh"
chmod 0755 "$DIST/install.sh"
rm -rf "$stage"
# shellcheck disable=SC2086 # $archives is a list of plain file names
(cd "$DIST" && sha256 $archives install.sh >SHA256SUMS)
echo "dist: $DIST"
# shellcheck disable=SC2086
(cd "$DIST" && ls -l $archives install.sh SHA256SUMS)
