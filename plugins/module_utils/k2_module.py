# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module boundary: connection argspec, connect(), and the one place K2Errors become fail_json."""

from __future__ import annotations

import contextlib

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.transport import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    K2Transport,
    has_userinfo,
)


def k2_argument_spec(**module_options):
    """The connection options (doc fragment kaminario.k2.connection) merged with the module's own."""
    spec = dict(
        host=dict(type="str", required=True, fallback=(env_fallback, ["K2_HOST"])),
        username=dict(type="str", required=True, fallback=(env_fallback, ["K2_USERNAME"])),
        password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["K2_PASSWORD"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["K2_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["K2_CA_PATH"])),
        timeout=dict(type="int", default=30),
    )
    clash = sorted(set(spec) & set(module_options))
    if clash:
        raise ValueError("module options clash with the connection options: %s" % ", ".join(clash))
    spec.update(module_options)
    return spec


def connect(module, **transport_options):
    """A K2Api for the module's connection options. `transport_options` go to K2Transport (e.g.
    retries, retry_max_time). Fails the module when requests is missing or an option is unusable."""
    mask_credentials_in_host(module)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    params = module.params
    with handle_errors(module):
        transport = K2Transport(params["host"], params["username"], params["password"],
                                validate_certs=params["validate_certs"], ca_path=params["ca_path"],
                                timeout=params["timeout"], **transport_options)
    return K2Api(transport)


@contextlib.contextmanager
def handle_errors(module):
    """`with handle_errors(module):` turns a K2Error into module.fail_json(msg=str(e), status=...,
    method=..., path=..., error_msg=... when known). Other exceptions pass through (they are bugs).
    Entering it also masks a host value that carries credentials (mask_credentials_in_host)."""
    mask_credentials_in_host(module)
    try:
        yield
    except K2Error as exc:
        module.fail_json(msg=str(exc), **exc.details())


def mask_credentials_in_host(module):
    """A host value with credentials in it (`user:secret@array`) is refused by the transport without
    being repeated; the copy of the module arguments that every result carries (`invocation`) must
    not show it either, so it becomes a no_log value: Ansible masks those wherever they appear in a
    result. Called by connect() and handle_errors(), so a module that enters handle_errors() at once
    masks it for every result it returns."""
    host = (module.params or {}).get("host")
    if has_userinfo(host):
        module.no_log_values.add(host)
