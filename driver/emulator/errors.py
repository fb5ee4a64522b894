"""Twilio-shaped API errors and their JSON bodies."""

from __future__ import annotations

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"

# Codes used by the emulator (Twilio's numbering).
INVALID_PARAMETER = 20001
AUTHENTICATION_FAILED = 20003
METHOD_NOT_ALLOWED = 20004
NOT_FOUND = 20404
TOO_MANY_REQUESTS = 20429
INTERNAL_ERROR = 20500
FROM_REQUIRED = 21603
TO_REQUIRED = 21604
LABEL_INVALID = 16024
LABEL_IN_USE = 16025


class ApiError(Exception):
    """An error the API answers with ``{"code", "message", "more_info", "status"}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, object]:
        """The JSON body Twilio sends for this error."""
        return error_body(self.status, self.code, self.message)


def error_body(status: int, code: int, message: str) -> dict[str, object]:
    """Build a Twilio error body."""
    return {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code=code),
        "status": status,
    }


def invalid(message: str) -> ApiError:
    """A 400 for a bad parameter value (code 20001)."""
    return ApiError(400, INVALID_PARAMETER, message)


def not_found(path: str) -> ApiError:
    """A 404 naming the requested resource (code 20404)."""
    return ApiError(404, NOT_FOUND, f"The requested resource {path} was not found")
