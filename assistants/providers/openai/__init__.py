"""The OpenAI provider (Conversations + Responses). This package is the only code importing ``openai``.

- provider.py      OpenAIProvider: a thread is a conversation, a run is a background response
- recovery.py      after an ambiguous call, the lost request's answer found by the recorded anchor
- items.py         local messages as input items; what output items say
- context.py       the context budget: when to rotate the conversation, what to seed it with
- remote_files.py  attachments as files; the knowledge base as a vector store
- errors.py        SDK errors as transient/permanent, clean/ambiguous
- client.py        the SDK client (tests point it at the emulator)
- webhooks.py      signed webhook deliveries
"""

from assistants.providers.openai.client import get_client, set_client
from assistants.providers.openai.errors import retry_after_seconds, translate
from assistants.providers.openai.items import message_item
from assistants.providers.openai.provider import OpenAIProvider
from assistants.providers.openai.webhooks import WebhookRejected, unwrap_webhook

__all__ = [
    "OpenAIProvider",
    "WebhookRejected",
    "get_client",
    "message_item",
    "retry_after_seconds",
    "set_client",
    "translate",
    "unwrap_webhook",
]
