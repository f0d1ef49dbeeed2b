"""Choose the provider named by settings.ASSISTANT_PROVIDER ("offline", "openai" or a dotted path)."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

PROVIDERS = {
    "offline": "assistants.providers.offline.OfflineProvider",
    "openai": "assistants.providers.openai.OpenAIProvider",
}


@cache
def _load(name: str):
    return import_string(PROVIDERS.get(name, name))()


def get_provider():
    return _load(settings.ASSISTANT_PROVIDER)


def provider_name() -> str:
    return get_provider().name
