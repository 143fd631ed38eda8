#!/usr/bin/env bash
# What the dashboard and its browser tests need besides Python packages, installed idempotently:
#   - Debian's Chromium at /usr/bin/chromium (the tests drive it; they never download a browser);
#   - npm, only if missing (Node.js's registry client, to fetch the browser assets);
#   - libatomic1, only if missing (the playwright wheel's bundled Node.js needs it);
#   - the browser assets in Solara's CDN cache of the ACTIVE Python environment
#     (<venv>/share/solara/cdn), fetched from the npm registry, so the page needs no CDN.
# Run with the project's venv active, after `pip install -e ".[test]"`; as root or with sudo.
# A second run changes nothing and fetches nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The Node.js that the playwright wheel bundles (its driver) links against libatomic.
/sbin/ldconfig -p | grep 'libatomic\.so\.1' >/dev/null || missing+=(libatomic1)  # no -q: SIGPIPE under pipefail
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-dashboard: installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    # chromium keeps its recommended fonts (text in screenshots); the others need no extras.
    for package in "${missing[@]}"; do
        if [ "$package" = chromium ]; then
            "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
        else
            "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null
        fi
    done
fi
echo "setup-dashboard: $(dpkg-query -W -f='${Package} ${Version}' chromium 2>/dev/null || echo 'chromium (not from Debian)') at /usr/bin/chromium"

python -m simulation.dashboard.offline_assets  # fetches what is missing, then checks the cache
