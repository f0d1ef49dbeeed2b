"""Attachment downloads: the only way a stored upload leaves the server (MEDIA_URL is None)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from assistants.models import Attachment, Message
from tickets.models import Ticket
from tickets.services import ALLOWED_UPLOAD_TYPES


def _attachments_for(user):
    """Staff may download any attachment; a customer only those of public messages on their tickets."""
    if user.is_staff:
        return Attachment.objects.all()
    visible = Message.objects.public().filter(thread__ticket__in=Ticket.objects.visible_to(user))
    return Attachment.objects.filter(message__in=visible)


@login_required
@require_GET
def download(request, pk: int):
    attachment = _attachments_for(request.user).filter(pk=pk, redacted_at__isnull=True).first()
    if attachment is None:
        raise Http404("No such attachment.")
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("The file is gone.") from exc
    content_type = attachment.content_type if attachment.content_type in ALLOWED_UPLOAD_TYPES else None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
