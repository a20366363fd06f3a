#!/usr/bin/env bash
# base-image.sh slim|kindnode — make a base image locally from Debian packages
# (debootstrap) and `docker import` it, for machines that cannot pull images.
#   slim      -> debian:bookworm-slim (the tag the driver Dockerfile starts FROM)
#   kindnode  -> localhost/kindnode-base:bookworm (systemd, containerd, runc, CNI
#                plugins, iptables …: what a kind node image is built on)
# The rootfs tarball is cached in ${CACHE:-.cache}/images/, keyed by flavour and
# suite, so a second run (or a fresh dockerd) only re-imports.
set -euo pipefail
FLAVOUR=${1:?usage: $0 slim|kindnode}
SUITE=bookworm
CACHE=$(mkdir -p "${CACHE:-.cache}" && cd "${CACHE:-.cache}" && pwd)
OUT=$CACHE/images
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

case $FLAVOUR in
slim)
	TAG=debian:$SUITE-slim
	INCLUDE=ca-certificates
	;;
kindnode)
	TAG=localhost/kindnode-base:$SUITE
	INCLUDE=systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iptables,iproute2,ethtool,socat,util-linux,mount,conntrack,kmod,ca-certificates,procps,libseccomp2,pigz,bash,ebtables,e2fsprogs,xfsprogs,hostname,jq,open-iscsi,multipath-tools
	;;
*)
	echo "unknown flavour $FLAVOUR" >&2
	exit 2
	;;
esac

TAR=$OUT/$FLAVOUR-$SUITE-rootfs.tar
if [[ ! -f $TAR ]]; then
	mkdir -p "$OUT"
	ROOT=$(mktemp -d "$OUT/rootfs.XXXX")
	trap 'rm -rf "$ROOT"' EXIT
	debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOT" "$MIRROR"
	# Package caches and docs only make the image bigger.
	rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/*
	tar -C "$ROOT" --numeric-owner -cf "$TAR.tmp" . && mv "$TAR.tmp" "$TAR"
fi
if ! docker image inspect "$TAG" >/dev/null 2>&1; then
	case $FLAVOUR in
	slim) docker import -c 'CMD ["/bin/bash"]' "$TAR" "$TAG" ;;
	kindnode) docker import -c 'ENTRYPOINT ["/sbin/init"]' -c 'ENV container=docker' "$TAR" "$TAG" ;;
	esac
fi
echo "$TAG ready (rootfs $TAR, $(du -h "$TAR" | cut -f1))"
