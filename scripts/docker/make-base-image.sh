#!/usr/bin/env bash
# Build a minimal Debian bookworm image with python3 + venv, without any image registry:
# debootstrap a root filesystem and `docker import` it. Idempotent: does nothing when the
# image already exists. Usage: make-base-image.sh [IMAGE]   (default autograder-base:bookworm)
set -euo pipefail

image="${1:-autograder-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base image $image already exists"
    exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

rootfs="$(mktemp -d /tmp/autograder-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
    --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror"
# Keep the image small: no package lists or caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$image"
echo "built base image $image"
