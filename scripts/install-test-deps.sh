#!/usr/bin/env bash
# System packages the tests need (Debian): a browser, CJK fonts, LibreOffice for PDF briefings,
# docker-compose to validate docker-compose.yml. Idempotent; installs only what is missing.
set -euo pipefail
pkgs=(chromium fonts-noto-cjk libreoffice-writer-nogui docker-compose)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# PostgreSQL is provided by the machine (127.0.0.1:5432); start it if it is installed but stopped.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
