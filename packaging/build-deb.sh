#!/bin/sh
# build-deb.sh VERSION — build dist/lxnetd_VERSION_ARCH.deb (run by `make deb`
# from the repository root; needs go, git, gzip, dpkg-shlibdeps and nfpm).
#
# Reproducible: two runs from one commit give byte-identical packages.
#   - SOURCE_DATE_EPOCH is the commit's time (unless set): nfpm stamps every
#     file and the archive members with it, the man pages and the changelog
#     carry its date;
#   - the binary is built with -trimpath and an empty -buildid (no paths, no
#     per-build ID), gzip -9n stores no names or times;
#   - nfpm writes the tar sorted as listed in nfpm.yaml, owned by root:root.
#
# The binary is a stripped (-s -w) position-independent executable
# (-buildmode=pie), dynamically linked against glibc; see packaging/README.md
# for the measurements behind that choice. Depends is what dpkg-shlibdeps
# derives from the symbols the binary uses (libc6 (>= 2.34) today).
set -eu

# need CMD PACKAGE: install PACKAGE with apt when CMD is missing (as root;
# `make test` installs what it needs the same way), else say what to install.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "build-deb: installing $2 (for $1)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }
	fi
	command -v "$1" >/dev/null 2>&1 || { echo "build-deb: $1 is missing: apt-get install $2" >&2; exit 1; }
}
need dpkg-shlibdeps dpkg-dev
need gzip gzip

VERSION=$1
GO=${GO:-go}
ARCH=$($GO env GOARCH)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
STAGE=dist/stage
rm -rf "$STAGE"
mkdir -p "$STAGE/docs" "$STAGE/doc" "$STAGE/shlibs/debian"

# The binary. CGO stays on (the default): glibc's resolver and NSS, as every
# other daemon on the host uses them.
$GO build -trimpath -buildmode=pie \
	-ldflags "-s -w -buildid= -X main.version=$VERSION" \
	-o "$STAGE/lxnetd" ./cmd/lxnetd

# Man pages (section 1 from the command tree, lxnetd.hcl(5) from the README's
# language reference) and shell completions.
"$STAGE/lxnetd" gen-docs --readme README.md "$STAGE/docs"
gzip -9n "$STAGE"/docs/man1/*.1 "$STAGE"/docs/man5/*.5

# The changelog of a native package: one entry per build, naming the commit.
{
	printf 'lxnetd (%s) unstable; urgency=medium\n\n' "$VERSION"
	printf '  * Built from commit %s.\n' "$(git rev-parse --short=12 HEAD)"
	printf '    The changes are in the project'\''s git history.\n\n'
	printf ' -- lxnetd developers <lxnetd@users.noreply.invalid>  %s\n' \
		"$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$STAGE/doc/changelog.gz"
gzip -9n <README.md >"$STAGE/doc/README.md.gz"

# The examples, without their tests (they need the sandbox) and the demo.
mkdir -p "$STAGE/examples"
(cd examples && find . -type f ! -name '*_test.go' ! -name demo.sh | LC_ALL=C sort) |
	while read -r f; do
		mkdir -p "$STAGE/examples/$(dirname "$f")"
		cp "examples/$f" "$STAGE/examples/$f"
	done
find "$STAGE/examples" -type d -exec chmod 0755 {} +
find "$STAGE/examples" -type f -exec chmod 0644 {} +

# Depends: dpkg-shlibdeps reads the symbol versions the binary needs. It
# wants a debian/control naming the package; a minimal one is enough.
printf 'Source: lxnetd\n\nPackage: lxnetd\nArchitecture: any\n' >"$STAGE/shlibs/debian/control"
cp "$STAGE/lxnetd" "$STAGE/shlibs/lxnetd"
DEPENDS=$(cd "$STAGE/shlibs" && dpkg-shlibdeps -O lxnetd 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

NFPM=$(command -v nfpm || echo "$($GO env GOPATH)/bin/nfpm")
rm -f dist/lxnetd_*.deb
VERSION="$VERSION" ARCH="$ARCH" DEPENDS="$DEPENDS" \
	"$NFPM" package --config packaging/nfpm.yaml --packager deb --target dist/
