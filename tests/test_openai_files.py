"""Attachments reach the model as files; the knowledge base is a vector store cited by our own ids."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assistants.models import Attachment, KnowledgeArticle
from assistants.providers import get_provider
from assistants.providers.openai import remote_files
from tests.factories import ArticleFactory, open_ticket
from tests.openai_support import emulator_fixture, last_request, replies

pytestmark = pytest.mark.django_db(transaction=True)
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 200


@pytest.fixture
def emu(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    yield from emulator_fixture(settings)


def test_attachments_are_uploaded_as_user_data_and_sent_as_file_parts(emu, drain):
    files = [
        SimpleUploadedFile("screen.png", PNG, content_type="image/png"),
        SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 invoice 42", content_type="application/pdf"),
    ]
    ticket = open_ticket(body="See attached", files=files)
    drain()

    uploaded = emu.state()["files"]
    # Uploaded under names of our own (hd-<attachment id>-<name>): a lost upload is found again by it.
    assert sorted(f["filename"].split("-", 2)[2] for f in uploaded.values()) == ["invoice.pdf", "screen.png"]
    assert {f["purpose"] for f in uploaded.values()} == {"user_data"}
    ids = dict(Attachment.objects.values_list("filename", "remote_file_id"))
    [message] = last_request(emu, "POST", "/v1/responses")["json"]["input"]
    assert message["role"] == "user"
    assert message["content"] == [
        {"type": "input_text", "text": "See attached"},
        {"type": "input_image", "file_id": ids["screen.png"], "detail": "auto"},
        {"type": "input_file", "file_id": ids["invoice.pdf"]},
    ]
    assert replies(ticket).count() == 1


def test_unsupported_or_oversized_attachments_are_not_uploaded(emu, drain, monkeypatch):
    monkeypatch.setattr(remote_files, "MAX_IMAGE_BYTES", 100)
    files = [
        SimpleUploadedFile("big.png", PNG, content_type="image/png"),
        SimpleUploadedFile("logs.zip", b"PK\x03\x04zip", content_type="application/zip"),
    ]
    open_ticket(body="Two files", files=files)
    drain()

    assert emu.count("POST", "/v1/files") == 0
    [message] = last_request(emu, "POST", "/v1/responses")["json"]["input"]
    notes = [p["text"] for p in message["content"][1:]]
    assert "over the 0 MB limit" in notes[0] and "big.png" in notes[0]
    assert "application/zip is not supported" in notes[1]


def test_an_attachment_is_uploaded_once_even_if_the_start_is_retried(emu, drain):
    emu.fail_next(path_prefix="/v1/responses", method="POST", status=500)
    open_ticket(body="Once", files=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])
    drain()
    assert emu.count("POST", "/v1/files") == 1


def test_knowledge_base_is_synced_to_a_vector_store_and_used_through_file_search(emu, drain):
    refunds = ArticleFactory(title="Refunds", slug="refunds", body="Refunds reach the card in 5 business days.")
    ArticleFactory(title="Passwords", slug="passwords", body="Use the forgot password link.")
    hidden = ArticleFactory(title="Old", slug="old", body="Refunds used to take a month.", published=False)

    result = get_provider().sync_knowledge_base()
    assert result["uploaded"] == 2
    assert get_provider().sync_knowledge_base()["uploaded"] == 0  # idempotent
    store = emu.state()["vector_stores"][result["vector_store"]]
    assert len(store["files"]) == 2
    assert KnowledgeArticle.objects.get(pk=hidden.pk).remote_file_id == ""

    # A file that is not one of our articles shows up in the store: its citations must be dropped.
    client = get_provider().client
    stranger = client.files.create(file=("x.md", b"Refunds for partners", "text/markdown"), purpose="assistants")
    client.vector_stores.files.create(vector_store_id=result["vector_store"], file_id=stranger.id)

    ticket = open_ticket(body="How long do refunds take?")
    drain()

    sent = last_request(emu, "POST", "/v1/responses")["json"]
    [search] = [t for t in sent["tools"] if t["type"] == "file_search"]
    assert search["vector_store_ids"] == [result["vector_store"]]
    reply = replies(ticket).get()
    assert reply.metadata["citations"] == [{"article_id": refunds.pk, "title": "Refunds"}]


def test_an_unpublished_article_is_removed_from_the_vector_store(emu):
    article = ArticleFactory(title="Refunds", slug="refunds", body="Refunds reach the card in 5 days.")
    store_id = get_provider().sync_knowledge_base()["vector_store"]
    KnowledgeArticle.objects.filter(pk=article.pk).update(published=False)
    assert get_provider().sync_knowledge_base()["removed"] == 1
    assert emu.state()["vector_stores"][store_id]["files"] == {}


def test_no_file_search_tool_without_a_synced_knowledge_base(emu, drain):
    open_ticket(body="hello")
    drain()
    sent = last_request(emu, "POST", "/v1/responses")["json"]
    assert not [t for t in sent["tools"] if t["type"] == "file_search"]
    assert emu.count("GET", "/v1/vector_stores") == 0
