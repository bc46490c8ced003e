#!/usr/bin/env bash
# bash scripts/setup.sh [VENV]   (run by `make app` / `make test`; safe to run again)
# Creates the virtual environment with the pinned requirements and the `rsic` command, then
# installs the Debian packages the project uses (Java for coco-caption metrics, WordNet for
# synonym checks, Chromium for the browser test) where they are missing and root can.
set -euo pipefail
venv=${1:-.venv}
py=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv with $($py --version)"
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .

missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ -d /usr/share/wordnet ] || missing+=(wordnet-base wordnet-sense-index)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") >/dev/null \
      || echo "setup: could not install ${missing[*]}; the features that need them say so and the rest works"
  else
    echo "setup: not root (or no apt-get): please install ${missing[*]} yourself;" \
         "until then the features that need them say so and the rest works"
  fi
fi
echo "setup: done"
