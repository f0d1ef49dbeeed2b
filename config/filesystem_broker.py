"""Celery's filesystem broker (the zero-configuration default), with messages written atomically.

kombu's filesystem transport opens a message's final name and then writes to it; a consumer that
lists the folder in between takes an empty file and dies on it ("Expecting value: line 1 column 1",
kombu issue #1551; seen here when 300 tickets were opened at once). This channel writes to a
temporary name that no consumer takes and renames it into place, which is atomic on one
filesystem: a message is either absent or whole.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "atomicfs"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"  # consumers take "<queue>.msg" names only
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> str:
    """Make `atomicfs://` mean this transport; returns the broker URL to use."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES.setdefault(ALIAS, "config.filesystem_broker:Transport")
    return f"{ALIAS}://"
