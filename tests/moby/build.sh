#!/bin/bash
# Build the moby-resolve test oracle (see resolve.go) offline from Debian 12
# packages only: golang-go 1.19 and golang-github-docker-docker-dev 20.10.24
# (whose dependencies bring runtime-spec and x/sys into /usr/share/gocode).
#
#   tests/moby/build.sh OUTPUT_BINARY
#
# The moby package is compiled from a temporary copy of Debian's unchanged
# package directory plus one file of ours (shim/zz_oracle_shim.go); nothing of
# moby is copied into this repository.
set -euo pipefail

out="${1:?usage: $0 OUTPUT_BINARY}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkgs=(golang-go golang-github-docker-docker-dev)
mobypkg=github.com/docker/docker/profiles/seccomp
mobydir=/usr/share/gocode/src/$mobypkg

installed() {
	local p
	for p in "${pkgs[@]}"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
	done
}
if ! installed; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${pkgs[@]}" ||
		{ apt-get update && apt-get install -y --no-install-recommends "${pkgs[@]}"; }
fi
[ -f "$mobydir/seccomp_linux.go" ] || { echo "build.sh: $mobydir missing" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/$mobypkg" "$tmp/src/moby-resolve"
# Non-test Go files only; then our shim, which lives in the same package.
find "$mobydir" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$tmp/src/$mobypkg/" \;
cp "$here/shim/zz_oracle_shim.go" "$tmp/src/$mobypkg/"
cp "$here/resolve.go" "$tmp/src/moby-resolve/"

# Go needs a build cache dir; fall back to a temporary one without HOME.
if [ -z "${GOCACHE:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ] && [ -z "${HOME:-}" ]; then
	export GOCACHE="$tmp/gocache"
fi
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
cd "$tmp/src/moby-resolve"
# GOPATH mode: our temp copy of the package shadows Debian's; its deps
# (runtime-spec, x/sys) come from /usr/share/gocode. No network, no modules.
# -tags seccomp is how dockerd itself is built (affects only DefaultProfile).
GO111MODULE=off GOPATH="$tmp:/usr/share/gocode" GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
	go build -tags seccomp -o "$out" .
