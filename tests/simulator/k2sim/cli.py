"""``python -m k2sim``: start the arrays, print ONE JSON line on stdout (arrays, CA, users, control
URL), log to stderr, stop cleanly on SIGTERM/SIGINT."""

import argparse
import json
import logging
import shutil
import signal
import sys
import tempfile
import threading

from k2sim import auth, rounds, seed
from k2sim.simulator import Simulator
from k2sim.tls import make_tls_files

log = logging.getLogger("k2sim")


def _names(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one array name")
    return names


def _ports(text):
    try:
        return [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("ports are comma-separated integers (0 = a free port)") from None


def _user(text):
    try:
        return auth.parse_user(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser():
    p = argparse.ArgumentParser(prog="python -m k2sim", description="Kaminario K2 REST API v2 simulator")
    p.add_argument(
        "--arrays",
        type=_names,
        default=["k2-a", "k2-b"],
        help="comma-separated array names; each is every other's replication peer (default k2-a,k2-b)",
    )
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--ports", type=_ports, default=None, help="one port per array, comma-separated; 0 = free port")
    p.add_argument("--control-port", type=int, default=0, help="port of the control API listener (default free)")
    p.add_argument("--seed", help="YAML or JSON file with the objects of each array (replaces the default content)")
    p.add_argument(
        "--user",
        dest="users",
        action="append",
        type=_user,
        metavar="NAME:PASSWORD:ROLE",
        help="a user (role admin or read_only); repeat for more. Default: admin and monitor",
    )
    p.add_argument(
        "--transition-delay",
        type=float,
        default=0.5,
        help="seconds before a session transition (and then its mirror) lands (default 0.5)",
    )
    p.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every API request")
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second: the array clock, replication rounds and rpo (default 1.0)",
    )
    p.add_argument(
        "--round-bytes",
        type=int,
        default=rounds.DEFAULT_ROUND_BYTES,
        help="bytes each replication round transfers (default %d)" % rounds.DEFAULT_ROUND_BYTES,
    )
    p.add_argument(
        "--link-speed",
        type=float,
        default=rounds.DEFAULT_LINK_SPEED,
        help="replication link speed, bytes per simulated second (default %d)" % rounds.DEFAULT_LINK_SPEED,
    )
    p.add_argument("--tls-dir", help="folder for ca.pem and server.pem (default: a temporary folder, removed on exit)")
    p.add_argument("--log-level", default="INFO", help="stderr log level (DEBUG logs every request)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if args.transition_delay < 0 or args.latency_ms < 0:
        log.error("--transition-delay and --latency-ms must not be negative")
        return 2
    if not (args.time_scale > 0 and args.round_bytes > 0 and args.link_speed > 0):
        log.error("--time-scale, --round-bytes and --link-speed must be positive")
        return 2
    try:
        content = seed.load_file(args.seed) if args.seed else None
    except (OSError, ValueError) as exc:
        log.error("cannot read the seed: %s", exc)
        return 2
    tls_dir = args.tls_dir or tempfile.mkdtemp(prefix="k2sim-tls-")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sim = None
    try:
        sim = Simulator(
            args.arrays,
            bind=args.bind,
            ports=args.ports,
            users=args.users or auth.DEFAULT_USERS,
            transition_delay=args.transition_delay,
            latency_ms=args.latency_ms,
            content=content,
            tls=make_tls_files(tls_dir),
            control_port=args.control_port,
            time_scale=args.time_scale,
            round_bytes=args.round_bytes,
            link_speed=args.link_speed,
        )
        sim.start()
    except (OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        if sim is not None:
            sim.stop()
        if not args.tls_dir:
            shutil.rmtree(tls_dir, ignore_errors=True)
        return 2
    sys.stdout.write(json.dumps(sim.info()) + "\n")
    sys.stdout.flush()
    log.info("serving %s", ", ".join("%s at %s" % (a.name, a.url) for a in sim.arrays.values()))
    while not stop.wait(3600):
        pass
    log.info("stopping")
    sim.stop()
    if not args.tls_dir:
        shutil.rmtree(tls_dir, ignore_errors=True)
    return 0
