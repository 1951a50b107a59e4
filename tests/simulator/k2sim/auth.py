"""Users and HTTP Basic authentication. Role ``admin`` may write; ``read_only`` may only GET."""

import base64
import binascii
import hmac
from dataclasses import dataclass

ADMIN = "admin"
READ_ONLY = "read_only"
ROLES = (ADMIN, READ_ONLY)


@dataclass(frozen=True)
class User:
    name: str
    password: str
    role: str

    @property
    def can_write(self):
        return self.role == ADMIN


DEFAULT_USERS = (User("admin", "admin-k2sim", ADMIN), User("monitor", "monitor-k2sim", READ_ONLY))


def parse_user(spec):
    """``name:password:role``; the password may itself hold colons."""
    name, sep, rest = spec.partition(":")
    password, sep2, role = rest.rpartition(":")
    if not (sep and sep2 and name and password):
        raise ValueError("a user is name:password:role, got %r" % spec)
    if role not in ROLES:
        raise ValueError("role must be one of %s, got %r" % (", ".join(ROLES), role))
    return User(name, password, role)


def basic_credentials(header):
    """(name, password) from an ``Authorization: Basic ...`` header, or None."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


def authenticate(users, header):
    """The user an ``Authorization: Basic ...`` header names with the right password, or None."""
    credentials = basic_credentials(header)
    user = users.get(credentials[0]) if credentials else None
    if user is None or not hmac.compare_digest(user.password.encode(), credentials[1].encode()):
        return None
    return user
