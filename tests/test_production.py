"""Production settings and serving: DEBUG off unless asked, HTTPS settings from SITE_URL,
`check --deploy` clean, gunicorn + whitenoise serving hashed compressed static files, the plain
500 page, a debug page that hides connection URLs, and the CSP on every HTML page."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import path, reverse

from config.urls import urlpatterns as site_urlpatterns
from tests.factories import StaffFactory, open_ticket

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def boom(request):
    raise RuntimeError("forced error for the test")


urlpatterns = [path("boom/", boom), *site_urlpatterns]


def _env(**overrides) -> dict:
    # Nothing the test session set for itself (the browser fixture sets DJANGO_ALLOW_ASYNC_UNSAFE).
    prefixes = ("DEBUG", "SECURE_", "SESSION_", "CSRF_", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("SITE_URL", None)
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


SETTINGS_NAMES = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
]
# One fresh process reads config/settings.py once per environment (a module of plain Python).
READ_SETTINGS = """
import json, os, runpy, sys
base = dict(os.environ)
out = []
job = json.loads(sys.stdin.read())
for env in job["envs"]:
    os.environ.clear()
    os.environ.update({**base, **env})
    values = runpy.run_path("config/settings.py")
    out.append({name: values[name] for name in job["names"]})
print(json.dumps(out))
"""


def _settings(*envs: dict) -> list[dict]:
    """Settings as a process started with each of `envs` reads them (no DEBUG, SITE_URL, ... inherited)."""
    result = subprocess.run(
        [PYTHON, "-c", READ_SETTINGS],
        cwd=ROOT,
        env=_env(),
        input=json.dumps({"envs": list(envs), "names": SETTINGS_NAMES}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_is_off_unless_the_environment_turns_it_on():
    unset, on = _settings({}, {"DEBUG": "true"})
    assert unset["DEBUG"] is False and on["DEBUG"] is True
    assert "DEBUG=true" in (ROOT / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]


def test_https_settings_follow_an_https_site_url_and_each_can_be_overridden():
    plain, https, overridden, debug = _settings(
        {},
        {"SITE_URL": "https://help.example.com/"},
        {
            "SITE_URL": "https://help.example.com",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "3600",
            "SECURE_HSTS_PRELOAD": "false",
            "SECURE_PROXY_SSL_HEADER": "false",
            "CSRF_TRUSTED_ORIGINS": "https://a.example.com,https://b.example.com",
        },
        {"SITE_URL": "https://help.example.com", "DEBUG": "true"},
    )
    assert not plain["SECURE_SSL_REDIRECT"] and plain["SECURE_HSTS_SECONDS"] == 0
    assert not plain["SESSION_COOKIE_SECURE"] and plain["SECURE_PROXY_SSL_HEADER"] is None

    assert https["SECURE_SSL_REDIRECT"] and https["SECURE_HSTS_SECONDS"] == 31_536_000
    assert https["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and https["SECURE_HSTS_PRELOAD"]
    assert https["SESSION_COOKIE_SECURE"] and https["CSRF_COOKIE_SECURE"]
    assert https["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert https["CSRF_TRUSTED_ORIGINS"] == ["https://help.example.com"]

    assert not overridden["SECURE_SSL_REDIRECT"] and overridden["SECURE_HSTS_SECONDS"] == 3600
    assert not overridden["SECURE_HSTS_PRELOAD"] and overridden["SECURE_PROXY_SSL_HEADER"] is None
    assert overridden["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.com", "https://b.example.com"]
    # DEBUG=true (development over https) keeps the HTTPS settings off.
    assert not debug["SECURE_SSL_REDIRECT"] and not debug["SESSION_COOKIE_SECURE"]


def test_links_follow_the_port_make_run_serves_on_unless_site_url_is_set():
    default, port, explicit = _settings({}, {"PORT": "8123"}, {"PORT": "8123", "SITE_URL": "https://help.example.com/"})
    assert default["SITE_URL"] == "http://127.0.0.1:8000"
    assert port["SITE_URL"] == "http://127.0.0.1:8123"
    assert port["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:8123"]
    assert explicit["SITE_URL"] == "https://help.example.com"
    # make run hands its PORT to the processes it starts (honcho -f Procfile).
    assert "PORT=$(PORT)" in (ROOT / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]


# --- check --deploy, collectstatic and gunicorn ---------------------------------------------


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """The environment of a production deployment, with its static files collected."""
    var = tmp_path_factory.mktemp("var")
    env = _env(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="help.example.com,127.0.0.1",
        SITE_URL="https://help.example.com",
        EMAIL_BACKEND="smtp",
        VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="config.settings",
        WEB_CONCURRENCY="1",
    )
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    return env, var


def test_check_deploy_reports_no_issues(production):
    env, _ = production
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_when_static_files_were_not_collected(production, tmp_path):
    env, _ = production
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**env, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "helpdesk.W001" in result.stdout + result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """One GET, redirects not followed (the site's host name is not resolved here)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "help.example.com", **(headers or {})})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_gunicorn_serves_the_app_and_whitenoise_the_hashed_compressed_static_files(production):
    env, var = production
    port = _free_port()
    process = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi"],
        cwd=ROOT,
        env={**env, "PORT": str(port), "GUNICORN_ACCESS_LOG": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        # Plain http is sent to https (SITE_URL is https); through the TLS proxy it is served.
        redirect = _get(port, "/healthz")
        assert redirect.status == 301 and redirect.headers["Location"] == "https://help.example.com/healthz"
        proxied = {"X-Forwarded-Proto": "https"}
        health = _get(port, "/healthz", proxied)
        assert health.status == 200
        assert health.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"

        manifest = json.loads((var / "static" / "staticfiles.json").read_text())["paths"]
        hashed = manifest["app.css"]
        assert re.fullmatch(r"app\.[0-9a-f]{12}\.css", hashed)
        css = _get(port, f"/static/{hashed}", {**proxied, "Accept-Encoding": "gzip"})
        assert css.status == 200
        assert css.headers["Content-Encoding"] == "gzip"
        assert "immutable" in css.headers["Cache-Control"]
        admin_css = _get(port, f"/static/{manifest['admin/css/base.css']}", proxied)
        assert admin_css.status == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)  # gunicorn's quick shutdown (TERM waits for keep-alives)
        process.wait(timeout=30)


# --- error pages -----------------------------------------------------------------------------


@pytest.mark.urls("tests.test_production")
@pytest.mark.django_db
def test_a_forced_error_with_debug_off_shows_the_plain_500_page(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html and "forced error" not in html and "DATABASE" not in html


@pytest.mark.urls("tests.test_production")
@pytest.mark.django_db
def test_the_debug_page_hides_connection_urls(client, settings):
    settings.DEBUG = True
    settings.CELERY_BROKER_URL = "redis://:brokerpw@redis.internal:6379/0"
    client.raise_request_exception = False
    # runserver copies the whole environment into request.META, DATABASE_URL and all.
    response = client.get("/boom/", DATABASE_URL="postgres://helpdesk:dbpw-hunter2@db.internal/helpdesk")
    assert response.status_code == 500
    html = response.content.decode()
    assert "forced error for the test" in html  # this is the debug page
    assert "DATABASE_URL" in html and "CELERY_BROKER_URL" in html
    assert "dbpw-hunter2" not in html and "brokerpw" not in html


# --- the Content-Security-Policy -------------------------------------------------------------


def _nonce(response) -> str:
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    return re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)


def _scripts_carry_the_nonce(response):
    nonce = _nonce(response)
    html = response.content.decode()
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags
    for tag in tags:
        assert f'nonce="{nonce}"' in tag or "application/json" in tag or "src=" in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), "an inline event handler"
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), "an inline style attribute"
    assert "hx-on" not in html


@pytest.mark.django_db
def test_every_html_page_has_a_nonce_csp_and_no_inline_handlers_or_styles(client, customer):
    ticket = open_ticket(customer=customer)
    for url in (reverse("login"), reverse("portal:signup"), reverse("password_reset")):
        _scripts_carry_the_nonce(client.get(url))
    client.force_login(customer)
    for url in (reverse("portal:tickets"), reverse("portal:new"), reverse("portal:ticket", args=[ticket.pk])):
        _scripts_carry_the_nonce(client.get(url))
    lead = StaffFactory()
    lead.groups.add(Group.objects.get(name="Support lead"))
    client.force_login(lead)
    for url in (
        reverse("staff:inbox"),
        reverse("staff:dashboard"),
        reverse("staff:ticket", args=[ticket.pk]),
        reverse("admin:index"),
        reverse("admin:tickets_ticket_changelist"),
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        reverse("admin:assistants_run_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _nonce(response)
        assert f'nonce="{_nonce(response)}"' in response.content.decode(), url
    assert '"includeIndicatorStyles": false' in client.get(reverse("staff:inbox")).content.decode()
    assert '"allowEval": false' in client.get(reverse("staff:inbox")).content.decode()


def test_static_names_are_hashed_from_the_manifest_and_plain_without_one(settings):
    from config.storage import StaticFiles

    storage = StaticFiles()
    storage.hashed_files = {}
    assert storage.stored_name("app.css") == "app.css"  # nothing collected (development, tests)
    storage.hashed_files = {"app.css": "app.0123456789ab.css"}
    assert storage.stored_name("app.css") == "app.0123456789ab.css"
    assert storage.stored_name("added-after-collectstatic.css") == "added-after-collectstatic.css"
    settings.DEBUG = True
    assert storage.stored_name("app.css") == "app.css"  # make run after make serve: the live files
