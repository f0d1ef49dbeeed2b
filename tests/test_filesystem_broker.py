"""The zero-configuration broker never shows a consumer a message that is still being written."""

import os
import threading

from kombu import Connection

from config import filesystem_broker


def test_a_consumer_listing_the_folder_while_a_burst_is_written_never_reads_a_partial_message(tmp_path):
    folder = str(tmp_path)
    options = {"data_folder_in": folder, "data_folder_out": folder, "polling_interval": 0}
    url = filesystem_broker.register()
    seen, errors, done = [], [], threading.Event()
    big = "x" * 200_000  # large enough that a write is not one syscall's worth

    def consume():
        with Connection(url, transport_options=options) as conn:
            queue = conn.SimpleQueue("burst")
            while not done.is_set() or len(seen) < 200:
                try:
                    seen.append(queue.get(timeout=0.05).payload)
                except queue.Empty:
                    continue
                except Exception as exc:  # noqa: BLE001 - what kombu's own writer causes (issue #1551)
                    errors.append(exc)
                    return

    reader = threading.Thread(target=consume)
    reader.start()
    with Connection(url, transport_options=options) as conn:
        queue = conn.SimpleQueue("burst")
        for n in range(200):
            queue.put({"n": n, "pad": big})
    done.set()
    reader.join(30)
    assert errors == []
    assert sorted(p["n"] for p in seen) == list(range(200))
    assert not [f for f in os.listdir(folder) if f.endswith(".part")]
