"""``python -m driver``: the confsql shell."""

from .shell import main

raise SystemExit(main())
