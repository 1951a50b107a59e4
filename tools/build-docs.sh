#!/usr/bin/env bash
# The HTML docs of kaminario.k2 with antsibull-docs: `sphinx-init` into DEST, then its build.sh, without
# -W (Sphinx cannot fetch the intersphinx inventories here, and warns about it). The collection is
# read from ANSIBLE_COLLECTIONS_PATH; the site ends up in DEST/build/html.
set -euo pipefail
dest=${1:?usage: build-docs.sh DEST}
if [ -z "${ANSIBLE_COLLECTIONS_PATH:-}" ]; then
    echo "build-docs.sh: ANSIBLE_COLLECTIONS_PATH must hold ansible_collections/kaminario/k2" >&2
    exit 2
fi
rm -rf "${dest}"
# antsibull-docs wants a folder of its own that only its owner can write to.
mkdir -p "${dest}"
chmod 0755 "${dest}"
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "${dest}" kaminario.k2
sed -i 's/ -W --keep-going$/ --keep-going/' "${dest}/build.sh"
if grep -q -- ' -W' "${dest}/build.sh"; then
    echo "build-docs.sh: could not take -W out of ${dest}/build.sh" >&2
    exit 1
fi
bash "${dest}/build.sh"
