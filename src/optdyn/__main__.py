"""``python -m optdyn``: the command line."""

import sys

from optdyn.cli import main

sys.exit(main())
