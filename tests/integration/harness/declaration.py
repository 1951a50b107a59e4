"""Declaration files as Ansible reads them: playbooks/export_topology.yml tags every value read from an
array ``!unsafe``; here such a value loads as an :class:`Unsafe` string (a ``str``, so it compares
equal to the plain name), which lets a test tell which values were tagged, and dumps back tagged.

    from harness.declaration import Unsafe, dump, load
    exported = load(path)                      # {"k2_topology_export": ..., "k2_topology": ...}
    isinstance(exported["k2_topology"]["pairs"][0]["name"], Unsafe)
    text = dump({"k2_failover_pairs": [Unsafe(name)]})   # a vars file for -e @file
"""

import yaml


class Unsafe(str):
    """A string tagged !unsafe in a YAML vars file: Ansible never templates it."""


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))
_Dumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style='"'))


def loads(text):
    return yaml.load(text, Loader=_Loader)  # nosec: a safe loader with one more tag


def load(path):
    with open(path, encoding="utf-8") as handle:
        return loads(handle.read())


def dump(data):
    """YAML text of `data`; Unsafe strings tagged !unsafe (double-quoted: line breaks stay escapes)."""
    return "---\n" + yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=False,
                               width=1000)


def unsafe_strings(data):
    """`data` with every string in it an Unsafe string (tagged when dumped)."""
    if isinstance(data, dict):
        return {key: unsafe_strings(value) for key, value in data.items()}
    if isinstance(data, list):
        return [unsafe_strings(value) for value in data]
    return Unsafe(data) if isinstance(data, str) else data
