"""Providers for tests: the offline assistant made slow or made to fail on cue."""

import os
import time

from assistants.providers.base import StepResult
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


class PendingProvider(OfflineProvider):
    """A remote-style provider whose responses never finish: every start and poll is in progress."""

    name = "pending"
    remote = True

    def create_thread(self, thread, metadata):
        return f"conv_{thread.pk}"

    def start_run(self, ctx):
        return StepResult(status="in_progress", response_id=f"resp_{ctx.run.pk}")

    def poll_run(self, ctx):
        return StepResult(status="in_progress", response_id=ctx.run.remote_response_id)


class RecordingRemoteProvider(OfflineProvider):
    """A remote-style provider that keeps its 'remote' conversations and files in class-level
    dicts, so a test can assert what is left behind. `fail_deletes` makes deletions fail."""

    name = "recording"
    remote = True
    conversations: dict = {}
    files: dict = {}
    calls: list = []
    fail_deletes = False

    @classmethod
    def reset(cls):
        cls.conversations, cls.files, cls.calls, cls.fail_deletes = {}, {}, [], False

    def create_thread(self, thread, metadata):
        remote_id = f"conv_{len(type(self).conversations) + 1}_{thread.pk}"
        type(self).conversations[remote_id] = dict(metadata)
        type(self).calls.append(("create_thread", remote_id))
        return remote_id

    def update_thread(self, thread, metadata):
        type(self).calls.append(("update_thread", thread.remote_id))
        type(self).conversations[thread.remote_id] = dict(metadata)

    def upload_file(self, name: str) -> str:
        file_id = f"file_{len(type(self).files) + 1}"
        type(self).files[file_id] = name
        return file_id

    def _fail(self, what):
        from assistants.providers.base import TransientProviderError

        if type(self).fail_deletes:
            raise TransientProviderError("server_error", f"The provider answered 500 while deleting {what}.")

    def delete_thread(self, thread):
        type(self).calls.append(("delete_thread", thread.remote_id))
        self._fail(thread.remote_id)
        if type(self).conversations.pop(thread.remote_id, None) is None:
            from assistants.providers.base import PermanentProviderError

            raise PermanentProviderError("not_found", f"No conversation {thread.remote_id}.")

    def delete_file(self, file_id):
        type(self).calls.append(("delete_file", file_id))
        self._fail(file_id)
        type(self).files.pop(file_id, None)
