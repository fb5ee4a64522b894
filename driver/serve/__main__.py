"""``python -m driver.serve`` is ``confsql serve``."""

import sys

from .cli import main

sys.exit(main())
