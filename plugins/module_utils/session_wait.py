# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until named sessions show what a caller expects (a state, a side, an rpo, a field that moved
on, or that they are gone), reading them in batches, with one deadline in seconds for all of them.

The cross-array playbooks use it for the side of a pair that follows the other: after a source is
started, its target half on the peer array reads in_sync a little later; after a stop, idle; after a
delete on one array, nothing on the other. An expectation is

    {"name": "remote_x", "equal": {"state": "in_sync", "current_role": "target"},
     "differ": {"latest_replicated_snapshot": "/snapshots/7"}, "absent": False}

`current_role` is worked out from `primary` when the array does not show it; numbers given as
strings compare equal to numbers, and references compare by ref string.
"""

from __future__ import annotations

import time

from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    SESSIONS_PATH,
    SOURCE,
    TARGET,
    ref_string,
)

# Polling back-off: 0.25 s doubling up to 5 s, never past the deadline.
FIRST_DELAY, MAX_DELAY = 0.25, 5.0
# How many unmet expectations a timeout message names (the rest are counted).
NAMED_IN_MESSAGE = 5


class WaitError(ValueError):
    """An expectation is malformed (raised before any request)."""


def side_of(session):
    """current_role as shown, else from `primary` (the target side reads primary false)."""
    role = session.get("current_role")
    if role in (SOURCE, TARGET):
        return role
    return TARGET if str(session.get("primary")).lower() == "false" else SOURCE


def _comparable(value):
    value = ref_string(value) if isinstance(value, dict) else value
    if isinstance(value, bool) or value is None:
        return value
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else text


def same(current, expected):
    """Whether a session field shows `expected` (numbers as strings and refs as dicts allowed)."""
    return _comparable(current) == _comparable(expected)


def check(expectations):
    """The expectations, checked: each names a session and waits for something."""
    checked = []
    for index, wanted in enumerate(expectations or []):
        where = "wait_for[%d]" % index
        if not isinstance(wanted, dict) or not isinstance(wanted.get("name"), str) or not wanted["name"]:
            raise WaitError("%s: a session name is required" % where)
        equal, differ = wanted.get("equal") or {}, wanted.get("differ") or {}
        if not isinstance(equal, dict) or not isinstance(differ, dict):
            raise WaitError("%s (%s): equal and differ are dictionaries of session fields" % (where, wanted["name"]))
        absent = bool(wanted.get("absent"))
        if absent and (equal or differ):
            raise WaitError("%s (%s): absent waits until the session is gone; it takes no equal or differ"
                            % (where, wanted["name"]))
        if not absent and not equal and not differ:
            raise WaitError("%s (%s): give equal, differ or absent: true" % (where, wanted["name"]))
        checked.append({"name": wanted["name"], "equal": dict(equal), "differ": dict(differ), "absent": absent})
    return checked


def shown(session, wanted):
    """What `session` shows of the fields `wanted` looks at (None: the session does not exist)."""
    if session is None:
        return None
    values = dict(session, current_role=side_of(session))
    return dict((field, values.get(field)) for field in list(wanted["equal"]) + list(wanted["differ"]))


def met(session, wanted):
    if wanted["absent"]:
        return session is None
    if session is None:
        return False
    values = dict(session, current_role=side_of(session))
    return all(same(values.get(f), v) for f, v in wanted["equal"].items()) and \
        all(not same(values.get(f), v) for f, v in wanted["differ"].items())


def unmet(found, expectations):
    """The expectations that the sessions `found` ({name: session}) do not meet, each with `found`:
    what its session shows (None when it does not exist)."""
    return [dict(w, found=shown(found.get(w["name"]), w)) for w in expectations if not met(found.get(w["name"]), w)]


def describe(wanted):
    """'remote_x: state in_sync, current_role target' for a message."""
    if wanted["absent"]:
        return "%s: gone" % wanted["name"]
    parts = ["%s %s" % (f, ref_string(v) if isinstance(v, dict) else v) for f, v in wanted["equal"].items()]
    parts += ["%s other than %s" % (f, ref_string(v) if isinstance(v, dict) else v) for f, v in wanted["differ"].items()]
    return "%s: %s" % (wanted["name"], ", ".join(parts))


def _shows(found):
    if found is None:
        return "nothing: it does not exist"
    return ", ".join("%s %s" % (k, ref_string(v) if isinstance(v, dict) else v) for k, v in found.items()) or "it exists"


def timeout_message(left, timeout):
    named = "; ".join("%s (it shows %s)" % (describe(w), _shows(w["found"])) for w in left[:NAMED_IN_MESSAGE])
    more = " (and %d more)" % (len(left) - NAMED_IN_MESSAGE) if len(left) > NAMED_IN_MESSAGE else ""
    return "after %s s, %d session(s) did not show what was waited for: %s%s" % (timeout, len(left), named, more)


def wait_for(api, expectations, timeout, params=None, sleep=None, clock=None):
    """Read the sessions of `expectations` (checked) until each meets its expectation or `timeout`
    seconds have passed. Each round reads only the sessions still waited for (api.find_by_names:
    one request per 100 names). Returns ({name: session as last read, or None}, unmet list)."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + timeout
    names = list(dict.fromkeys(w["name"] for w in expectations))
    last = {}
    left = expectations
    delay = FIRST_DELAY
    while True:
        wanted = list(dict.fromkeys(w["name"] for w in left))
        found = api.find_by_names(SESSIONS_PATH, wanted, params=params)
        for name in wanted:
            last[name] = found.get(name)
        left = unmet(last, left)
        now = clock()
        if not left or now >= deadline:
            return dict((name, last.get(name)) for name in names), left
        sleep(min(delay, deadline - now))
        delay = min(delay * 2, MAX_DELAY)
