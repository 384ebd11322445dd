"""``python -m optdyn.cli``: the command line."""

import sys

from optdyn.cli import main

sys.exit(main())
