"""Static files: hashed and compressed after collectstatic, plain before it."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFiles(CompressedManifestStaticFilesStorage):
    """whitenoise's storage (content-hashed names, gzip copies, a manifest) once `collectstatic`
    has written its manifest. Without one (development, tests, benchmarks: nothing was collected)
    `{% static %}` gives the plain name, which whitenoise then serves from the app folders
    (WHITENOISE_USE_FINDERS); a missing file with a manifest present is still an error, and
    `check --deploy` warns when there is no manifest (config/checks.py)."""

    def stored_name(self, name):
        if not self.hashed_files:
            return name
        return super().stored_name(name)
