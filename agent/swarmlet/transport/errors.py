"""An error answered with an HTTP status and Docker's {"message": ...} body."""

from __future__ import annotations


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
