#!/usr/bin/env bash
# Prints the Debian/Ubuntu packages a runtime image needs for PROGRAM: the packages that own the
# system libraries it loads (the libraries installed beside it are skipped) and Open MPI's
# launcher. Read off the build machine, so it names the right versions on either distribution
# (libboost-program-options1.74.0 on Debian 12, 1.83.0 on Ubuntu 24.04).
# usage: docker/runtime_packages.sh PROGRAM
set -euo pipefail
program="$1"
own_lib_dir="$(readlink -f "$(dirname "$program")/../lib")"
{
  ldd "$program" | awk '/=> \// {print $3}' | while read -r lib; do
    real="$(readlink -f "$lib")"
    case "$real" in "$own_lib_dir"/*) continue ;; esac
    # usrmerge: a library may be registered under /usr/lib or /lib
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null ||
      { echo "runtime_packages: no package owns $lib" >&2; exit 1; }
  done | cut -d: -f1
  echo openmpi-bin
} | sort -u | tr '\n' ' '
echo
