"""The ``confsql`` shell (also ``python -m driver``), built on :class:`apsw.shell.Shell`.

>>> from driver.shell import main
>>> main(["--sandbox", "--mode", "csv", "SELECT count(*) > 0 AS live FROM Conferences"])
live
1
0
"""

from ._app import ConfShell
from ._main import build_parser, main

__all__ = ["ConfShell", "build_parser", "main"]
