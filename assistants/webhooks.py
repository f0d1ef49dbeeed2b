"""POST /webhooks/openai/: OpenAI says a background response has ended; wake its run.

The signature is checked on the raw body by the SDK (through the provider module), a delivery
seen before (same webhook-id) is acknowledged and ignored, and no model work happens here: the
view only enqueues a step of the run, which reads the response itself. Polling stays the fallback.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from assistants import scheduling
from assistants.models import Run, WebhookDelivery
from config import parsing

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def openai_webhook(request):
    from assistants.providers.openai import WebhookRejected, unwrap_webhook

    # The id is what makes a replay a duplicate: a delivery without one could never be told apart.
    webhook_id = request.headers.get("webhook-id", "").strip()
    if not webhook_id or len(webhook_id) > 100:
        return HttpResponseBadRequest("webhook-id is missing or longer than 100 characters")
    # The SDK decodes the body with json.loads, which a deeply nested body drives into RecursionError.
    try:
        parsing.json_loads(request.body)
    except ValueError as exc:
        return HttpResponseBadRequest(f"not a JSON event: {exc}")
    try:
        event_type, object_id = unwrap_webhook(request.body, request.headers)
    except WebhookRejected as exc:
        logger.warning("rejected an OpenAI webhook: %s", exc)
        return HttpResponseBadRequest("invalid signature")
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(webhook_id=webhook_id, event_type=event_type[:60])
    except IntegrityError:
        return HttpResponse("duplicate", content_type="text/plain")
    if event_type.startswith("response.") and object_id:
        run_id = (
            Run.objects.filter(remote_response_id=object_id, status__in=Run.ACTIVE).values_list("pk", flat=True).first()
        )
        if run_id is not None:
            scheduling.enqueue_step(run_id)
            return HttpResponse("woken", content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
