#!/usr/bin/env bash
# ansible-test bootstraps pip in each sanity venv with a get-pip.py it downloads from a host that is
# not reachable here. Put the project's offline stand-in where ansible-test looks for its cache.
set -eu
bin=$1
version=$("${bin}/python" - <<'PY'
import re
import ansible_test._internal.python_requirements as req
print(re.search(r"pip='([0-9.]+)'", open(req.__file__).read()).group(1))
PY
)
cache="${HOME}/.ansible/test/cache/get_pip_${version//./_}.py"
mkdir -p "$(dirname "${cache}")"
cp "$(dirname "$0")/../.ci/get_pip_standin.py" "${cache}"
