#!/usr/bin/env bash
# A Debian bookworm base image with Python 3.11, made locally (no image registry needed):
#
#   deploy/base-image.sh [NAME]        # default NAME: captcha-solver-base:bookworm
#   deploy/base-image.sh --print-sources   # the apt sources the image would get; builds nothing
#   docker build --build-arg BASE_IMAGE=captcha-solver-base:bookworm .
#
# debootstrap (minbase) from this machine's configured Debian mirror, plus python3,
# python3-venv and python3-pip; then `docker import`. The mirror is DEBIAN_MIRROR, else
# the one in this machine's apt sources (/etc/apt/sources.list, sources.list.d/*.list and
# *.sources): the source that carries the suite being built, else one whose URI ends in
# /debian. With neither, the script stops and says where it looked: no mirror is built in.
# The image gets this machine's CA bundle (pip's `cert`, $PIP_CERT, $REQUESTS_CA_BUNDLE or
# $SSL_CERT_FILE), so pip inside a build trusts the same authorities as pip here (a
# TLS-inspecting proxy's CA included), and the pip index settings of this machine that
# are URLs a build can reach (http/https; file:// folders exist only on this host).
# Environment: DEBIAN_MIRROR, DEBIAN_SUITE (bookworm), CA_BUNDLE, DOCKER (docker),
# APT_ROOT (read apt's files under this folder instead of /; for tests).
set -euo pipefail

print_sources=0
if [ "${1:-}" = "--print-sources" ]; then print_sources=1; shift; fi
name="${1:-captcha-solver-base:bookworm}"
suite="${DEBIAN_SUITE:-bookworm}"
apt_root="${APT_ROOT:-}"
apt_lists=("$apt_root/etc/apt/sources.list" "$apt_root"/etc/apt/sources.list.d/*.list)
apt_deb822=("$apt_root"/etc/apt/sources.list.d/*.sources)
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

apt_entries() {
    # One line per `deb` source of this machine's apt configuration: "URI SUITE...".
    local f
    for f in "${apt_lists[@]}"; do
        [ -f "$f" ] || continue
        # deb [options] URI SUITE COMPONENT...
        awk '{ sub(/#.*/, "") }
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if (i < NF) print $i, $(i + 1)
            }' "$f"
    done
    for f in "${apt_deb822[@]}"; do
        [ -f "$f" ] || continue
        # deb822 stanzas (Types:, URIs:, Suites:, Enabled:), separated by blank lines; a line
        # starting with a space continues the field above it.
        awk 'function flush(   n, k, u) {
                if ((" " v["types"] " ") ~ / deb / && tolower(v["enabled"]) != "no") {
                    n = split(v["uris"], u, " ")
                    for (k = 1; k <= n; k++) print u[k], v["suites"]
                }
                delete v; key = ""
            }
            /^[[:space:]]*#/ { next }
            /^[[:space:]]*$/ { flush(); next }
            /^[[:space:]]/ { if (key != "") v[key] = v[key] " " $0; next }
            {
                key = tolower(substr($0, 1, index($0, ":") - 1))
                v[key] = substr($0, index($0, ":") + 1)
                gsub(/^[[:space:]]+|[[:space:]]+$/, "", v[key])
            }
            END { flush() }' "$f"
    done
}

debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local entries uri
    entries="$(apt_entries | awk '$1 ~ /^https?:\/\// && $1 !~ /-security\/?$/')"
    # The source that carries the suite being built, else one that looks like a Debian archive.
    # (No `exit` in these awk programs: with pipefail, a writer cut off early would fail the script.)
    uri="$(printf '%s\n' "$entries" | awk -v s="$suite" '{ for (i = 2; i <= NF; i++) if ($i == s && !n++) print $1 }')"
    if [ -z "$uri" ]; then
        uri="$(printf '%s\n' "$entries" | awk '$1 ~ /\/debian\/?$/ && !n++ { print $1 }')"
    fi
    if [ -z "$uri" ]; then
        local found=() f
        for f in "${apt_lists[@]}" "${apt_deb822[@]}"; do [ -f "$f" ] && found+=("$f"); done
        {
            echo "error: no Debian mirror found in this machine's apt configuration."
            echo "  Looked in: $apt_root/etc/apt/sources.list, $apt_root/etc/apt/sources.list.d/*.list and $apt_root/etc/apt/sources.list.d/*.sources"
            echo "  (files there: ${found[*]:-none}) for a 'deb' source with an http(s) URI that carries"
            echo "  the suite $suite or ends in /debian."
            echo "  Set DEBIAN_MIRROR to your Debian mirror, e.g. DEBIAN_MIRROR=http://<your mirror>/debian $0"
        } >&2
        return 1
    fi
    echo "$uri"
}

debian_security() {
    # The security archive of this machine's apt sources, if any (its suites end in -security).
    apt_entries | awk '$1 ~ /^https?:\/\// {
        security = $1 ~ /-security\/?$/
        for (i = 2; i <= NF; i++) if ($i ~ /-security$/) security = 1
        if (security && !n++) print $1
    }'
}

image_sources() {
    # apt inside builds (the proxy image's nginx) uses the same mirror; updates and security too.
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    if [ -n "$security" ]; then echo "deb $security $suite-security main"; fi
}

mirror="$(debian_mirror)" || exit 2
security="$(debian_security)"
if [ "$print_sources" = 1 ]; then
    image_sources
    exit 0
fi

PIP_CONFIG="$(host_pip_config)"
ca="${CA_BUNDLE:-$(pip_value cert)}"
ca="${ca:-${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}}}"
if [ ! -s "$ca" ]; then
    echo "error: CA bundle '$ca' not found or empty; set CA_BUNDLE to the PEM bundle pip uses here" >&2
    exit 2
fi

rootfs="$(mktemp -d /tmp/captcha-base-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

image_sources >"$rootfs/etc/apt/sources.list"
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
