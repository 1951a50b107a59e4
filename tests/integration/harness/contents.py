# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the checkout ships, by name: its modules, filters and roles, read from the files (the docs test,
the examples test and the release check compare these lists with what they find)."""

import ast
import os

from harness.simulator import REPO_ROOT


def modules():
    folder = os.path.join(REPO_ROOT, "plugins", "modules")
    return sorted(n[:-3] for n in os.listdir(folder) if n.endswith(".py") and n != "__init__.py")


def filters():
    """Every name a plugins/filter/*.py returns from FilterModule.filters() (read, not imported)."""
    names = []
    folder = os.path.join(REPO_ROOT, "plugins", "filter")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name == "__init__.py":
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                        names += [key.value for key in ret.value.keys]
    return sorted(names)


def roles():
    folder = os.path.join(REPO_ROOT, "roles")
    return sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)))
