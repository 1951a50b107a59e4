# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The connection options shared by every kaminario.k2 module (kaminario.k2.connection)."""

    DOCUMENTATION = r"""
options:
  host:
    description:
      - The K2 array's management address, as a host name or IP address with an optional port
        (V(k2.example.com), V(k2.example.com:8443), V(192.0.2.10) or V([2001:db8::10]:443)).
      - Not a URL. The module talks to C(https://HOST/api/v2); a scheme or a path is rejected.
      - Credentials do not belong here. A value such as C(user:password@k2.example.com) is refused
        before any request, without repeating it; use O(username) and O(password).
      - If not set, the value of the E(K2_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The user to authenticate as (HTTP Basic authentication on every request).
      - If not set, the value of the E(K2_USERNAME) environment variable is used.
    type: str
    required: true
  password:
    description:
      - The user's password.
      - If not set, the value of the E(K2_PASSWORD) environment variable is used.
    type: str
    required: true
  validate_certs:
    description:
      - Whether to verify the array's TLS certificate.
      - Arrays ship with a self-signed certificate; rather than turning this off, give the CA that
        signed it in O(ca_path).
      - If not set, the value of the E(K2_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file (or a directory prepared with C(c_rehash)) of CA certificates to verify the
        array's certificate against, instead of the system's.
      - Ignored when O(validate_certs=false).
      - If not set, the value of the E(K2_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for a connection, and then for each answer, before the request fails.
      - A read that times out is retried a few times; a write that times out is not repeated and the
        module fails, asking to check the object's state first.
    type: int
    default: 30
notes:
  - Requests that the array refuses because it is busy (HTTP 503, HTTP 429, or one of its
    C(MC_ERR_*) busy codes) and reads that fail on the way are retried, at most 5 times and for at
    most 120 seconds per request, with a short backoff and honouring C(Retry-After) up to 10 seconds.
requirements:
  - requests >= 2.28
"""

    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/kaminario.k2.k2) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - kaminario.k2.k2
"""
