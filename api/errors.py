"""Every error the API answers is JSON: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, field: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}


def not_found(what: str = "object") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def _field(loc) -> str | None:
    """pydantic's location, less ninja's own prefixes: ("body", "payload", "content") -> "content"."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form", "file", "payload")]
    return ".".join(parts) or None


def from_django_validation(exc: DjangoValidationError) -> ApiError:
    if hasattr(exc, "error_dict"):
        name, errors = next(iter(exc.error_dict.items()))
        return ApiError(400, "invalid", " ".join(m for e in errors for m in e.messages), field=name)
    return ApiError(400, "invalid", " ".join(exc.messages))


def install(api) -> None:
    def respond(request, status: int, code: str, message: str, field=None, headers=None):
        response = api.create_response(request, body(code, message, field), status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.code, exc.message, exc.field, exc.headers)

    @api.exception_handler(NinjaValidationError)
    def _validation(request, exc: NinjaValidationError):
        first = exc.errors[0] if exc.errors else {}
        message = first.get("msg", "Invalid request.")
        field = _field(first.get("loc", ()))
        return respond(request, 400, "invalid", f"{field}: {message}" if field else message, field)

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request, exc):
        return respond(
            request,
            401,
            "unauthorized",
            "Send a live API token: Authorization: Bearer <token> (revoked and expired tokens are refused).",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        return respond(request, exc.status_code, "error", str(exc))

    @api.exception_handler(Http404)
    def _404(request, exc):
        return respond(request, 404, "not_found", "Not found.")

    @api.exception_handler(PermissionDenied)
    def _403(request, exc):
        return respond(request, 403, "forbidden", str(exc) or "Not allowed.")

    @api.exception_handler(DjangoValidationError)
    def _invalid(request, exc):
        error = from_django_validation(exc)
        return respond(request, 400, error.code, error.message, error.field)

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        return respond(request, 413, "too_large", "The request body is too large.")

    @api.exception_handler(TooManyFieldsSent)
    def _too_many(request, exc):
        return respond(request, 400, "invalid", "Too many fields.")
