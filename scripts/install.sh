#!/bin/sh
# Installs rekwiz from a release, e.g. in AWS CloudShell:
#
#   curl -fsSL https://github.com/rekwiz/rekwiz/releases/latest/download/install.sh | sh
#
# It picks the archive for this system (uname -s, uname -m), downloads it
# and SHA256SUMS, refuses it unless its checksum matches, and puts the
# rekwiz binary in ~/.local/bin (no sudo) and its man pages beside it in
# ~/.local/share/man/man1.
#
#   REKWIZ_BASE_URL     where the archives are (default: the latest release)
#   REKWIZ_INSTALL_DIR  where the binary goes (default: ~/.local/bin)
set -eu

base_url=${REKWIZ_BASE_URL:-https://github.com/rekwiz/rekwiz/releases/latest/download}
base_url=${base_url%/}

say() {
	echo "rekwiz install: $*"
}

die() {
	echo "rekwiz install: $*" >&2
	exit 1
}

# clean makes text from the environment or the network safe to print:
# anything but printable ASCII becomes "?".
clean() {
	printf '%s' "$1" | LC_ALL=C tr -c '[:print:]' '?'
}

case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
*)
	die "unsupported operating system $(clean "$(uname -s)") (uname -s); releases are for Linux and macOS. On Windows, download rekwiz_windows_amd64.zip from $(clean "$base_url")"
	;;
esac

case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*)
	die "unsupported architecture $(clean "$(uname -m)") (uname -m); releases are for x86_64 (amd64) and aarch64 (arm64)"
	;;
esac

archive="rekwiz_${os}_${arch}.tar.gz"

if [ -n "${REKWIZ_INSTALL_DIR:-}" ]; then
	bin_dir=$REKWIZ_INSTALL_DIR
else
	[ -n "${HOME:-}" ] || die "HOME is not set; set REKWIZ_INSTALL_DIR to the directory to install rekwiz in"
	bin_dir="$HOME/.local/bin"
fi

if command -v curl >/dev/null 2>&1; then
	fetcher=curl
	fetch() { curl -fsSL -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
	fetcher=wget
	fetch() { wget -q -O "$2" "$1"; }
else
	die "neither curl nor wget is installed; install one of them and run this again"
fi

if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
	sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
	die "neither sha256sum nor shasum is installed: the download cannot be checked"
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t rekwiz) || die "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# download fetches a file of the release into $tmp; on failure, one line
# with the downloader's first line of complaint.
download() {
	if ! fetch "$base_url/$1" "$tmp/$1" 2>"$tmp/fetch.err"; then
		why=$(head -n 1 "$tmp/fetch.err")
		[ -n "$why" ] || why="$fetcher failed"
		die "could not download $(clean "$base_url/$1") ($(clean "$why")); check the address (REKWIZ_BASE_URL) and your connection"
	fi
}

say "downloading $archive from $(clean "$base_url")"
download SHA256SUMS
download "$archive"

# The line for the archive: "HASH  NAME" (sha256sum), or "HASH *NAME".
want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")
[ -n "$want" ] || die "SHA256SUMS has no checksum for $archive; refusing to install what cannot be checked"
case $want in
*[!0-9a-fA-F]*) die "SHA256SUMS's line for $archive is not a SHA-256 checksum; refusing to install" ;;
esac
[ ${#want} -eq 64 ] || die "SHA256SUMS's line for $archive is not a SHA-256 checksum; refusing to install"
got=$(sha256 "$tmp/$archive")
want=$(printf '%s' "$want" | tr 'A-F' 'a-f')
[ "$got" = "$want" ] || die "checksum mismatch for $archive (SHA256SUMS says $want, the download is $got); refusing to install"
say "checksum verified ($got)"

tar -xzf "$tmp/$archive" -C "$tmp" 2>/dev/null || die "$archive is not a readable tar.gz archive"
src="$tmp/rekwiz_${os}_${arch}"
[ -f "$src/rekwiz" ] || die "$archive holds no rekwiz binary"

mkdir -p "$bin_dir" || die "cannot create $(clean "$bin_dir")"
# Copied beside the target, then renamed: a rekwiz that is running, or a
# failed copy, never leaves a half-written binary.
if ! { cp "$src/rekwiz" "$bin_dir/.rekwiz.new" && chmod 0755 "$bin_dir/.rekwiz.new" &&
	mv -f "$bin_dir/.rekwiz.new" "$bin_dir/rekwiz"; }; then
	rm -f "$bin_dir/.rekwiz.new"
	die "cannot write $(clean "$bin_dir/rekwiz")"
fi

# Man pages go to ../share/man beside the bin directory, where man finds
# them for a bin directory on PATH.
man_dir="$(dirname "$bin_dir")/share/man/man1"
if [ -d "$src/man/man1" ] && mkdir -p "$man_dir" 2>/dev/null; then
	cp "$src"/man/man1/*.1 "$man_dir/" 2>/dev/null || true
fi

version=$("$bin_dir/rekwiz" --version 2>/dev/null) || die "$(clean "$bin_dir/rekwiz") was installed but does not run on this system"
say "installed $(clean "$version") as $(clean "$bin_dir/rekwiz")"

case ":${PATH:-}:" in
*":$bin_dir:"*)
	say "run: rekwiz --help"
	;;
*)
	say "$(clean "$bin_dir") is not on your PATH; add it with:"
	echo "  export PATH=\"$(clean "$bin_dir"):\$PATH\""
	echo "and put that line in ~/.bashrc (or your shell's start-up file) to keep it."
	;;
esac
