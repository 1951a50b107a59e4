"""Offline stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its venvs.

ansible-test fetches get-pip.py from a host these machines cannot reach. The real script only runs
``pip install --upgrade --force-reinstall <args>`` from a pip it carries inside itself; this one does
the same with the pip wheel CPython ships in ``ensurepip/_bundled``. pip then installs the requested
pip version (and everything after it) from the package registry as usual.
"""
import glob
import os
import sys

import ensurepip


def main():
    wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
    if not wheels:
        sys.exit("get-pip stand-in: no bundled pip wheel in ensurepip")
    sys.path.insert(0, wheels[0])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    # The real get-pip.py understands --no-setuptools/--no-wheel; pip itself does not.
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall"] + args))


if __name__ == "__main__":
    main()
