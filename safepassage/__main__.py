"""``python -m safepassage``: the ``safepassage`` command."""

import sys

from .cli import main

sys.exit(main())
