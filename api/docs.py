"""The API's docs page: rendered on the server from the OpenAPI schema, so it needs no script and
works under the site's CSP (ninja's Swagger page loads its scripts from a CDN)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from api.views import api

METHODS = ("get", "post", "patch", "delete")


@require_GET
def docs(request):
    schema = api.get_openapi_schema()
    operations = []
    for path, item in schema["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            operations.append(
                {
                    "method": method.upper(),
                    "path": "/api/v1" + path if not path.startswith("/api/v1") else path,
                    "summary": op.get("summary", ""),
                    "tag": (op.get("tags") or [""])[0],
                    "parameters": [
                        {"name": p["name"], "in": p["in"], "required": p.get("required", False)}
                        for p in op.get("parameters", [])
                    ],
                    "body": ", ".join(op.get("requestBody", {}).get("content", {})),
                    "responses": ", ".join(str(code) for code in op.get("responses", {})),
                }
            )
    return render(request, "api/docs.html", {"schema": schema, "operations": operations})
