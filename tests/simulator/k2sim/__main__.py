"""``python -m k2sim``: run the simulator until SIGTERM/SIGINT."""

import sys

from k2sim.cli import main

sys.exit(main())
