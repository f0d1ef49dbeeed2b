"""Static files: hashed and compressed after collectstatic, plain before it."""

from __future__ import annotations

import logging

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class StaticFiles(CompressedManifestStaticFilesStorage):
    """whitenoise's storage (content-hashed names, gzip copies, a manifest) once `collectstatic`
    has written its manifest. Without one (development, tests, benchmarks: nothing was collected)
    `{% static %}` gives the plain name, which whitenoise then serves from the app folders
    (WHITENOISE_USE_FINDERS); so does DEBUG, and a file the manifest does not know (collected
    before the file was added): a page with a stale stylesheet link beats a 500. `check --deploy`
    warns when there is no manifest at all (config/checks.py)."""

    def stored_name(self, name):
        if not self.hashed_files or settings.DEBUG:
            return name
        try:
            return super().stored_name(name)
        except ValueError:
            logger.warning("static file %s is not in the manifest: run collectstatic", name)
            return name
