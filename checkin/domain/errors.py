"""Rejections as data: a stable machine code, a human message, and the field at fault."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on; `status` is the HTTP status the web layer uses."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None,
                 **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422
