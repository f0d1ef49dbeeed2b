"""Playwright (sync API) driving Debian's chromium against pytest-django's live_server.

Playwright cannot download its own browser here, so it launches /usr/bin/chromium. Without it
(or without the playwright package) the browser tests skip; with REQUIRE_SERVICES=1 they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.conftest import REQUIRE_SERVICES

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def _unavailable(message: str):
    if REQUIRE_SERVICES:
        pytest.fail(message + " (REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the session; every test opens its own contexts (own cookies)."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"needs chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("needs the playwright package (requirements-dev.txt)")
    # The sync API keeps an asyncio loop in this thread; Django would then refuse ORM calls made
    # between two browser calls, although they are plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, started with a placeholder MEDIA_URL.

    settings.MEDIA_URL is None on purpose (uploads are served only through access-checked
    views), but Django's LiveServerThread wraps the app in a media handler that parses
    MEDIA_URL when it starts and then fails on every request if it is None. The handler keeps
    the value it read at start, so the setting is restored right after; nothing is served there.
    """
    from pytest_django.live_server_helper import LiveServer

    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    with override_settings(MEDIA_URL="/live-server-serves-no-media/"):
        server = LiveServer(addr)
    yield server
    server.stop()


@pytest.fixture
def open_as(chromium, live_server):
    """`open_as(user)` gives a new page (its own browser context) signed in as `user` (None: anonymous)."""
    yield from pages_as(chromium, live_server)


def pages_as(chromium, live_server, **context_options):
    """Use as `yield from` in a fixture: a function giving a new page (own context, `context_options`
    passed to chromium) signed in as a user or anonymous; the contexts are closed afterwards."""
    contexts = []

    def _open(user=None):
        context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT, **context_options)
        context.set_default_timeout(10_000)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()
