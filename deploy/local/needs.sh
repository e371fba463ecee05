#!/usr/bin/env bash
# Installs the Debian packages a step needs, or says in one line what is missing.
#   deploy/local/needs.sh COMMAND:PACKAGE ...   e.g. chromium:chromium chromedriver:chromium-driver
# A COMMAND that is an absolute path or glob (e.g. /usr/lib/postgresql/*/bin/initdb) is checked as a file.
# Installs with apt-get as root, or through `sudo -n` where that needs no password; otherwise exits 1 with
# the one apt-get line that would do it. Harmless when everything is there.
set -euo pipefail

present() {
  local what="$1"
  if [[ "$what" == /* ]]; then
    compgen -G "$what" >/dev/null
  else
    command -v "$what" >/dev/null
  fi
}

missing=()
for need in "$@"; do
  present "${need%%:*}" || missing+=("${need#*:}")
done
((${#missing[@]})) || exit 0

line="apt-get install -y ${missing[*]}"
if [[ "$(id -u)" == 0 ]]; then
  as=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as=(sudo -n)
else
  echo "missing: ${missing[*]} (run: sudo $line)" >&2
  exit 1
fi
echo "installing from apt: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as[@]}" apt-get install -y -qq "${missing[@]}" >&2 \
  || { "${as[@]}" apt-get update -qq >&2 && "${as[@]}" apt-get install -y -qq "${missing[@]}" >&2; } \
  || { echo "missing: ${missing[*]} (apt-get could not install them: run '$line')" >&2; exit 1; }
