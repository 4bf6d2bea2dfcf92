#!/usr/bin/env bash
# Installs the Debian packages mixtral-lab builds against, only those missing (idempotent):
#   libopenblas-dev  BLAS for matrix products (linked as openblas, not the generic blas)
#   libpng-dev       PNG encoding of charts
#   libcairo2-dev    2-D drawing of charts; fonts-dejavu-core for their text
#   libssl-dev       SHA-256 (libcrypto) of the calibration text a checkpoint records
#   pkg-config       how SwiftPM finds the four libraries
set -euo pipefail
packages=(libopenblas-dev libpng-dev libcairo2-dev libssl-dev fonts-dejavu-core pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "mixtral-lab: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
