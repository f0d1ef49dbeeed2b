"""Helpers for the REST API tests: tokens and a client that sends them."""

from __future__ import annotations

import json

from django.test import Client

from api.tokens import token_create


def bearer(user, scope: str = "write", **kwargs) -> str:
    _token, secret = token_create(user=user, scope=scope, **kwargs)
    return secret


class ApiClient:
    def __init__(self, secret: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body=None, *, key: str | None = None, **kwargs):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        if "data" in kwargs:  # multipart
            return self.client.post(f"/api/v1{path}", kwargs["data"], headers=headers)
        return self.client.post(
            f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", headers=headers
        )

    def patch(self, path: str, body):
        return self.client.patch(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=self.headers
        )

    def delete(self, path: str, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.client.delete(f"/api/v1{path}" + (f"?{query}" if query else ""), headers=self.headers)
