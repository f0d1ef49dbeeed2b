"""Error types shared by the emulator core and its transports."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answer in the OpenAI error format: {"error": {message, type, param, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        self.body = body

    def payload(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class SimulatedNetworkFault(Exception):
    """Raised by ``Emulator.handle`` when the client must not get an HTTP answer.

    Transports translate it: the in-process transport raises an httpx2 exception, the loopback
    server sleeps and/or closes the socket without writing a response.
    """


class SimulatedTimeout(SimulatedNetworkFault):
    """The client should time out. ``sleep`` is how long the loopback server stalls before closing."""

    def __init__(self, sleep: float) -> None:
        super().__init__(f"emulated timeout (server stalls {sleep}s)")
        self.sleep = sleep


class SimulatedDrop(SimulatedNetworkFault):
    """The connection is closed without any answer (RemoteProtocolError on the client)."""


class SimulatedConnectError(SimulatedNetworkFault):
    """The connection is refused (in-process: httpx2.ConnectError; loopback: closed at once)."""


# Canned error bodies, close to what the real API sends.
def rate_limit_error(headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(
        429,
        "Rate limit reached for requests. Please try again in a moment.",
        type="requests",
        code="rate_limit_exceeded",
        headers=headers,
    )


def insufficient_quota_error() -> ApiError:
    return ApiError(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def server_error() -> ApiError:
    return ApiError(
        500,
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )


def invalid_api_key_error() -> ApiError:
    return ApiError(
        401,
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def permission_error() -> ApiError:
    return ApiError(403, "You do not have access to this resource.", type="permission_error")


def not_found_error(what: str = "resource") -> ApiError:
    return ApiError(404, f"No {what} found.", code="not_found")


def conversation_locked_error() -> ApiError:
    return ApiError(
        400,
        "Another process is currently operating on this conversation. Please retry in a few seconds.",
        param="conversation",
        code="conversation_locked",
    )


def error_for_status(status: int, code: str | None = None, headers: dict[str, str] | None = None) -> ApiError:
    """Default error for a fault rule that only names a status (and maybe a code)."""
    if code == "insufficient_quota":
        err = insufficient_quota_error()
    elif code == "conversation_locked":
        err = conversation_locked_error()
    elif code == "invalid_api_key" or status == 401:
        err = invalid_api_key_error()
    elif status == 429:
        err = rate_limit_error()
    elif status == 403:
        err = permission_error()
    elif status == 404:
        err = not_found_error()
    elif status >= 500:
        err = server_error()
    else:
        err = ApiError(status, f"Emulated error {status}.", code=code)
    if code and err.code != code:
        err.code = code
    err.status = status
    if headers:
        err.headers.update(headers)
    return err
