"""The providers' wire formats served by the emulator (one module each)."""

from __future__ import annotations

from . import jambonz, signalwire, telnyx, texml, twilio  # noqa: F401  (registers the wires)
