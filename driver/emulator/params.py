"""Parse and validate query-string and form parameters.

Every failure is an :class:`~driver.emulator.errors.ApiError` whose message
names the offending parameter, as Twilio's do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from .errors import invalid

HTTP_METHODS = ("GET", "POST")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^[+-]?\d+$")


class Params:
    """An ordered multi-map of request parameters (query or form pairs)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs: list[tuple[str, str]] = list(pairs)
        self._last: dict[str, str] = {}
        for key, value in self.pairs:
            self._last[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._last

    def get(self, key: str) -> str | None:
        """The last value sent for ``key``."""
        return self._last.get(key)

    def get_list(self, key: str) -> list[str]:
        """Every value sent for ``key``, in order (list inputs repeat the key)."""
        return [value for k, value in self.pairs if k == key]

    def keys(self) -> list[str]:
        """Distinct keys, in first-seen order."""
        return list(dict.fromkeys(k for k, _ in self.pairs))

    def boolean(self, key: str) -> bool | None:
        """``true``/``false`` (any case) or ``None`` when absent."""
        value = self.get(key)
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise invalid(f"Invalid value for {key}: '{value}' must be true or false")

    def integer(self, key: str, low: int | None = None, high: int | None = None) -> int | None:
        """An integer within ``[low, high]`` or ``None`` when absent."""
        value = self.get(key)
        if value is None:
            return None
        if not _INT.match(value.strip()):
            raise invalid(f"Invalid value for {key}: '{value}' is not an integer")
        number = int(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise invalid(f"{key} must be between {low} and {high}, got {number}")
        return number

    def choice(self, key: str, allowed: Sequence[str], *, upper: bool = False) -> str | None:
        """A value from ``allowed`` (HTTP methods compare case-insensitively)."""
        value = self.get(key)
        if value is None:
            return None
        candidate = value.upper() if upper else value
        if candidate not in allowed:
            raise invalid(f"Invalid value for {key}: '{value}' must be one of {', '.join(allowed)}")
        return candidate

    def method(self, key: str) -> str | None:
        """An HTTP method parameter (``GET`` or ``POST``)."""
        return self.choice(key, HTTP_METHODS, upper=True)

    def pattern(self, key: str, regex: re.Pattern[str], what: str) -> str | None:
        """A value matching ``regex`` (e.g. a SID), or ``None`` when absent."""
        value = self.get(key)
        if value is None:
            return None
        if not regex.match(value):
            raise invalid(f"Invalid value for {key}: '{value}' is not a valid {what}")
        return value

    def day(self, key: str) -> date | None:
        """A UTC date ``YYYY-MM-DD`` or ``None`` when absent."""
        value = self.get(key)
        if value is None:
            return None
        try:
            if not _DATE.match(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise invalid(
                f"Invalid value for {key}: '{value}' is not a date (YYYY-MM-DD)"
            ) from None
