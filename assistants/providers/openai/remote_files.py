"""Files at the provider: customer attachments (Files API, purpose user_data) and the knowledge
base as a vector store used through file_search.

The functions take an SDK client from the provider (this module never imports ``openai``); the
provider translates API errors. Limits are checked before anything is uploaded.
"""

from __future__ import annotations

import logging
import time

from django.db.models import F, Q
from django.utils import timezone

from assistants.models import Attachment, KnowledgeArticle

logger = logging.getLogger(__name__)

IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
FILE_TYPES = {"application/pdf", "text/plain", "text/csv", "text/markdown", "application/json"}
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_FILE_BYTES = 32 * 1024 * 1024  # total file content the model accepts in one request
VECTOR_STORE_NAME = "helpdesk-knowledge-base"
VECTOR_STORE_TTL = 300.0
# "No article was synced yet" is remembered this long per process (every response asks); a sync in
# this process forgets it at once, one in another process is seen within it.
NOT_SYNCED_TTL = 30.0

_vector_store: dict = {}


def refusal(attachment: Attachment) -> str:
    """Why this attachment cannot go to the model ("" if it can)."""
    content_type = (attachment.content_type or "").split(";")[0].lower()
    if content_type in IMAGE_TYPES:
        limit = MAX_IMAGE_BYTES
    elif content_type in FILE_TYPES:
        limit = MAX_FILE_BYTES
    else:
        return f"type {content_type or 'unknown'} is not supported"
    if attachment.size > limit:
        return f"{attachment.size // (1024 * 1024)} MB is over the {limit // (1024 * 1024)} MB limit"
    return ""


def remote_name(attachment: Attachment) -> str:
    """The uploaded file's name: ours, so that a lost upload can be found again by it."""
    return f"hd-{attachment.pk}-{attachment.filename}"[:200]


def find_uploaded(client, attachment: Attachment) -> str:
    """A file an earlier, lost upload of this attachment left at the provider ("" if none)."""
    wanted = remote_name(attachment)
    try:
        for uploaded in client.files.list(purpose="user_data", order="desc", limit=100):
            if getattr(uploaded, "filename", "") == wanted:
                return uploaded.id
    except Exception as exc:  # noqa: BLE001 - looking is an optimisation: uploading again only costs a file
        logger.info("could not look for an earlier upload of attachment %s: %s", attachment.pk, exc)
    return ""


def upload_attachment(client, attachment: Attachment, hooks, *, look_first: bool = False) -> str:
    """The attachment's file id at the provider, uploading it if needed. After an ambiguous call
    (`look_first`), a file a lost upload left behind is found by its name and reused."""
    if attachment.remote_file_id:
        return attachment.remote_file_id
    file_id = find_uploaded(client, attachment) if look_first else ""
    if not file_id:
        with attachment.file.open("rb") as handle:
            data = handle.read()
        hooks.before_call()
        file_id = client.files.create(
            file=(remote_name(attachment), data, attachment.content_type), purpose="user_data"
        ).id
    hooks.file_uploaded(attachment.pk, file_id)
    attachment.remote_file_id = file_id
    return file_id


def attachment_parts(client, attachments: list[Attachment], hooks, *, look_first: bool = False) -> list[dict]:
    """Content parts for a user message: input_image / input_file by file id, or a note saying why
    an attachment was left out."""
    parts: list[dict] = []
    budget = MAX_FILE_BYTES
    for attachment in attachments:
        why = refusal(attachment)
        if not why and attachment.size > budget:
            why = "the message's attachments are over the per-request limit"
        if why:
            parts.append({"type": "input_text", "text": f"[Attachment {attachment.filename} not shown: {why}.]"})
            continue
        budget -= attachment.size
        file_id = upload_attachment(client, attachment, hooks, look_first=look_first)
        if attachment.content_type.split(";")[0].lower() in IMAGE_TYPES:
            parts.append({"type": "input_image", "file_id": file_id, "detail": "auto"})
        else:
            parts.append({"type": "input_file", "file_id": file_id})
    return parts


# --- knowledge base ---------------------------------------------------------------------------


def reset_cache() -> None:
    _vector_store.clear()


def _find_vector_store(client) -> str:
    for store in client.vector_stores.list(limit=100):
        if store.name == VECTOR_STORE_NAME:
            return store.id
    return ""


def knowledge_vector_store_id(client, *, create: bool = False) -> str:
    """The knowledge base's vector store, or "" when no article was synced yet."""
    if not create and not _any_article_synced():
        return ""
    cached = _vector_store.get("id")
    if cached and _vector_store.get("at", 0) > time.monotonic() - VECTOR_STORE_TTL:
        return cached
    store_id = _find_vector_store(client)
    if not store_id and create:
        store_id = client.vector_stores.create(name=VECTOR_STORE_NAME, metadata={"app": "helpdesk"}).id
    if store_id:
        _vector_store.update(id=store_id, at=time.monotonic())
    return store_id


def _any_article_synced() -> bool:
    if _vector_store.get("none_synced_at", -NOT_SYNCED_TTL) > time.monotonic() - NOT_SYNCED_TTL:
        return False
    synced = KnowledgeArticle.objects.exclude(remote_file_id="").exists()
    if synced:
        _vector_store.pop("none_synced_at", None)
    else:
        _vector_store["none_synced_at"] = time.monotonic()
    return synced


def _forget(client, store_id: str, file_id: str) -> None:
    for call in (
        lambda: client.vector_stores.files.delete(file_id, vector_store_id=store_id),
        lambda: client.files.delete(file_id),
    ):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - a file already gone is fine
            logger.info("could not delete %s: %s", file_id, exc)


def sync_knowledge_base(client) -> dict:
    """Upload new and changed published articles, remove unpublished ones. Idempotent."""
    store_id = knowledge_vector_store_id(client, create=True)
    uploaded = removed = 0
    stale = KnowledgeArticle.objects.filter(published=True).filter(
        Q(remote_file_id="") | Q(remote_synced_at__isnull=True) | Q(remote_synced_at__lt=F("updated_at"))
    )
    for article in stale:
        content = f"# {article.title}\n\n{article.body}\n".encode()
        new = client.files.create(
            file=(f"kb-{article.pk}-{article.slug}.md", content, "text/markdown"), purpose="assistants"
        )
        client.vector_stores.files.create(
            vector_store_id=store_id, file_id=new.id, attributes={"article_id": str(article.pk)}
        )
        if article.remote_file_id:
            _forget(client, store_id, article.remote_file_id)
        # updated_at is auto_now: update() keeps it, so the article is in sync until it changes again.
        KnowledgeArticle.objects.filter(pk=article.pk).update(remote_file_id=new.id, remote_synced_at=timezone.now())
        uploaded += 1
    for article in KnowledgeArticle.objects.filter(published=False).exclude(remote_file_id=""):
        _forget(client, store_id, article.remote_file_id)
        KnowledgeArticle.objects.filter(pk=article.pk).update(remote_file_id="", remote_synced_at=None)
        removed += 1
    _vector_store.pop("none_synced_at", None)
    return {"vector_store": store_id, "uploaded": uploaded, "removed": removed}
