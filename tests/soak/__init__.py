"""Soak and fuzz probes: the driver under random faults, early exits and hostile input.

* :mod:`.writes` — EXECs with unique labels under injected faults; every
  answer is compared with the emulator's state (no duplicates, no lost
  acknowledged writes, a definite failure wrote nothing).
* :mod:`.reads` — random SELECTs on one shared connection under faults, with
  LIMIT early exits and half-read cursors; every answer is the oracle's or a
  PEP 249 error, and every statement in a fault-free moment succeeds.
* ``test_fuzz.py`` — Hypothesis: no input reaches InternalError or an
  exception outside PEP 249.

The default ``pytest`` run takes the bounded form (fixed seed, about 125
statements).  The long form is ``make soak DURATION=600 THREADS=4`` (or
``python -m tests.soak --help``); both read the settings in :mod:`.config`.
"""
