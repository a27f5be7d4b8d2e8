#!/usr/bin/env bash
# A Debian bookworm base image with Python 3.11, made locally (no image registry needed):
#
#   deploy/base-image.sh [NAME]        # default NAME: captcha-solver-base:bookworm
#   docker build --build-arg BASE_IMAGE=captcha-solver-base:bookworm .
#
# debootstrap (minbase) from this machine's configured Debian mirror, plus python3,
# python3-venv and python3-pip; then `docker import`. The image gets this machine's
# CA bundle (pip's `cert`, $PIP_CERT, $REQUESTS_CA_BUNDLE or $SSL_CERT_FILE), so pip
# inside a build trusts the same authorities as pip here (a TLS-inspecting proxy's
# CA included), and the pip index settings of this machine that are URLs a build
# can reach (http/https; file:// folders exist only on this host).
# Environment: DEBIAN_MIRROR, DEBIAN_SUITE (bookworm), CA_BUNDLE, DOCKER (docker).
set -euo pipefail

name="${1:-captcha-solver-base:bookworm}"
suite="${DEBIAN_SUITE:-bookworm}"
docker="${DOCKER:-docker}"

log() { echo "base-image: $*" >&2; }

host_pip_config() {
    # `pip config list` prints key='value' lines, e.g. global.index-url='https://...'.
    local pip
    for pip in pip3 pip "python3 -m pip"; do
        if $pip --version >/dev/null 2>&1; then
            $pip config list 2>/dev/null || true
            return
        fi
    done
}

pip_value() {  # the value of the last matching key (global., install., :env:.)
    printf '%s\n' "$PIP_CONFIG" | sed -n "s/^[^.]*\.$1='\(.*\)'$/\1/p" | tail -n 1
}

debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local uri
    # deb822 sources first (URIs: ...), then one-line sources (deb URI suite ...); skip security and updates.
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v -- '-security' | head -n 1 || true)"
    if [ -z "$uri" ]; then
        uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' \
            | grep -v -- '-security' | head -n 1 || true)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

PIP_CONFIG="$(host_pip_config)"
ca="${CA_BUNDLE:-$(pip_value cert)}"
ca="${ca:-${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}}}"
if [ ! -s "$ca" ]; then
    echo "error: CA bundle '$ca' not found or empty; set CA_BUNDLE to the PEM bundle pip uses here" >&2
    exit 2
fi
mirror="$(debian_mirror)"

rootfs="$(mktemp -d /tmp/captcha-base-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# apt inside builds (the proxy image's nginx) uses the same mirror; updates and security too.
cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
SOURCES
security="$(grep -hsv '^[[:space:]]*#' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
    | grep -o '[a-z]*://[^ ]*debian-security' | head -n 1 || true)"
if [ -n "$security" ]; then
    echo "deb $security $suite-security main" >>"$rootfs/etc/apt/sources.list"
fi
# Keep images small: no docs, manuals or translations from later apt installs either.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'NODOC'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
NODOC
echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/01-norecommends"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true

# This machine's CA bundle, for pip (cert) and every other TLS client in the image.
cp "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
{
    echo "[global]"
    echo "cert = /etc/ssl/certs/ca-certificates.crt"
    echo "disable-pip-version-check = true"
    timeout="$(pip_value default-timeout)"; timeout="${timeout:-$(pip_value timeout)}"
    if [ -n "$timeout" ]; then echo "timeout = $timeout"; fi
    for key in index-url extra-index-url; do
        urls=""
        for url in $(pip_value "$key"); do
            case "$url" in
                http://*|https://*) urls="$urls $url" ;;
                *) log "not copying pip $key $url into the image (a local path a build cannot see)" ;;
            esac
        done
        if [ -n "$urls" ]; then echo "$key =$urls"; fi
    done
} >"$rootfs/etc/pip.conf"
log "pip.conf of the image:"; sed 's/^/    /' "$rootfs/etc/pip.conf" >&2

tar -C "$rootfs" -c . | "$docker" import \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
    --message "debootstrap --variant=minbase $suite + python3 python3-venv python3-pip" - "$name" >/dev/null
log "imported $name ($("$docker" image inspect --format '{{.Size}}' "$name" | awk '{printf "%.0f MB", $1 / 1e6}'))"
