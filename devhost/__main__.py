"""Entry point: `python -m devhost serve [...]`."""

import sys

from .cli import main

sys.exit(main())
