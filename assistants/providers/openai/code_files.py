"""The code interpreter's output files: downloaded from their container
(GET /containers/{id}/files/{file_id}/content) so the engine can attach them to the reply. Files
past ASSISTANT_MAX_OUTPUT_FILES or HELPDESK_MAX_UPLOAD_BYTES are left out (and logged)."""

from __future__ import annotations

import logging
import mimetypes
import os

from django.conf import settings

from assistants.providers.openai.errors import translated

logger = logging.getLogger(__name__)


def _filename(name: str, file_id: str) -> str:
    base = os.path.basename(name or "").strip() or file_id
    return base[:200]


def download(client, cited: list[dict]) -> list[dict]:
    files = []
    for ref in cited[: settings.ASSISTANT_MAX_OUTPUT_FILES]:
        with translated():
            response = client.containers.files.content.retrieve(ref["file_id"], container_id=ref["container_id"])
        data = response.read()
        if len(data) > settings.HELPDESK_MAX_UPLOAD_BYTES:
            logger.warning("container file %s is %d bytes: not attached", ref["file_id"], len(data))
            continue
        name = _filename(ref.get("filename", ""), ref["file_id"])
        files.append(
            {
                "filename": name,
                "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
                "data": data,
            }
        )
    if len(cited) > settings.ASSISTANT_MAX_OUTPUT_FILES:
        logger.warning(
            "%d container files cited; attached the first %d", len(cited), settings.ASSISTANT_MAX_OUTPUT_FILES
        )
    return files
