"""Make ``ansible_collections.kaminario.k2`` importable from a plain checkout.

pytest-ansible (``--ansible-unit-inject-only``) puts ANSIBLE_COLLECTIONS_PATH on sys.path; this file
points it at a temporary tree whose ``ansible_collections/kaminario/k2`` is a link to this checkout,
so nothing is written into the repository.
"""
import hashlib
import os
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))


def _collection_root():
    # One tree per checkout, so that two checkouts (say, git worktrees) tested at once never
    # re-point each other's link.
    tag = hashlib.sha1(_HERE.encode()).hexdigest()[:10]
    root = os.path.join(tempfile.gettempdir(), "kaminario-k2-pytest-%d-%s" % (os.getuid(), tag))
    link = os.path.join(root, "ansible_collections", "kaminario", "k2")
    if os.path.realpath(link) != _HERE:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(_HERE, link)
    return root


if "ANSIBLE_COLLECTIONS_PATH" not in os.environ:
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = _collection_root()
