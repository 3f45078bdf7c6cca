"""``python -m wslab`` is the same as the ``wslab`` command."""

import sys

from wslab.cli import main

sys.exit(main())
