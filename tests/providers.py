"""Providers for tests: the offline assistant made slow or made to fail on cue."""

import os
import time

from assistants.providers.offline import OfflineProvider


class SlowProvider(OfflineProvider):
    """Holds a step for SLOW_PROVIDER_SECONDS, so a test can kill the worker in the middle."""

    name = "offline"

    def start_run(self, ctx):
        time.sleep(float(os.environ.get("SLOW_PROVIDER_SECONDS", "3")))
        return super().start_run(ctx)


class ScriptedProvider(OfflineProvider):
    """Raises the queued errors, one per call, before behaving like the offline assistant."""

    name = "offline"
    errors: list = []
    calls: list = []

    def _maybe_fail(self, what):
        type(self).calls.append(what)
        if type(self).errors:
            error = type(self).errors.pop(0)
            if error is not None:
                raise error

    def start_run(self, ctx):
        self._maybe_fail("start")
        return super().start_run(ctx)

    def submit_tool_outputs(self, ctx, outputs):
        self._maybe_fail("submit")
        return super().submit_tool_outputs(ctx, outputs)
