"""``python -m edgebrain`` runs the command line."""

import sys

from edgebrain.cli.main import main

sys.exit(main())
