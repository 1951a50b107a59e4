"""k2sim: a stateful HTTPS simulator of the Kaminario K2 REST API v2 (two arrays, faults, journal).

Test-only code: nothing under plugins/ imports it. Start it with ``python -m k2sim`` (this folder's
parent on PYTHONPATH) or from Python with :func:`k2sim.process.start`.
"""

__version__ = "1.0.0"
