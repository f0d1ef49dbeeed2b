"""A question in a language only some articles are translated into still finds the article that answers."""

from __future__ import annotations

import pytest

from assistants import knowledge
from tests.factories import ArticleFactory
from tests.knowledge_base import without_embeddings  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_an_article_that_merely_speaks_the_questions_language_does_not_beat_the_one_that_answers(
    without_embeddings,  # noqa: F811
):
    ArticleFactory(
        slug="export",
        title="Exporting invoices for your accountant",
        body="Under Reports > Export choose a date range and download every invoice as a spreadsheet.",
    )
    ArticleFactory(
        slug="logo",
        title="Your logo on invoices",
        body="Upload your logo under Settings > Branding; every invoice shows it.",
    )
    ArticleFactory(
        slug="logo-fr",
        language="fr",
        translation_group="logo",
        title="Votre logo sur les factures",
        body="Téléchargez votre logo dans Paramètres > Image de marque ; chaque facture l'affiche.",
    )
    knowledge.reset()
    hit = knowledge.search("Comment exporter toutes mes factures pour mon comptable ?", language="fr").hits[0]
    assert hit.group == "export"
