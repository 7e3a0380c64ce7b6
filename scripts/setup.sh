#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs to grade and to run the tests:
# system packages, a virtual environment with the project, a running Docker engine, a
# base image (built locally: no registry needed), the public data sets, and the sandbox
# image. Idempotent: a second run only checks. Runs as root (or with sudo available).
#
#   AUTOGRADER_SETUP_DOCKER=0        skip the Docker engine and image (local sandbox only)
#   AUTOGRADER_BASE_IMAGE=python:3.11-slim   use a registry image instead of the local base
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
with_docker="${AUTOGRADER_SETUP_DOCKER:-1}"
base_image="${AUTOGRADER_BASE_IMAGE:-autograder-base:bookworm}"

# System packages: Python's venv, Fashion-MNIST (offline data), Chromium (feedback-page
# screenshots), and the Docker engine with debootstrap for the base image.
wanted=(python3-venv dataset-fashion-mnist chromium)
[ "$with_docker" = 1 ] && wanted+=(docker.io debootstrap)
missing=()
for package in "${wanted[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  rm -f .venv/.installed-* && touch "$stamp"
fi
autograder=.venv/bin/autograder

# Public data sets for the sandbox and held-out splits for the judge (no downloads).
"$autograder" datasets prepare --offline >/dev/null

if [ "$with_docker" = 1 ]; then
  $SUDO bash scripts/docker/start-dockerd.sh
  if [ "$base_image" = "autograder-base:bookworm" ]; then
    $SUDO bash scripts/docker/make-base-image.sh "$base_image"
  fi
  # pip inside the image build needs the same CA bundle as pip here (TLS proxies).
  ca_bundle="$(.venv/bin/python -m pip config get global.cert 2>/dev/null || true)"
  [ -n "$ca_bundle" ] || ca_bundle=/etc/ssl/certs/ca-certificates.crt
  ca_option=()
  [ -f "$ca_bundle" ] && ca_option=(--ca-bundle "$ca_bundle")
  "$autograder" image build --base-image "$base_image" "${ca_option[@]}"
fi
