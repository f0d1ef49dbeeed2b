"""Read one RFC 5322 message on stdin and store it (an MTA can pipe to this, e.g. in /etc/aliases:
`support: "|/srv/helpdesk/.venv/bin/python /srv/helpdesk/manage.py ingest_email"`).

The mail is stored and committed before this exits 0; it is parsed by a worker (or here, with
--now). Exit status 75 (EX_TEMPFAIL) tells the MTA to try again later if the database is down.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from mail.inbound import inbound_process, inbound_store

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Store one email read from stdin and queue it to be parsed."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="parse it in this process instead of a worker")

    def handle(self, *args, **options):
        stream = options.get("stdin") or sys.stdin
        raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if not raw.strip():
            raise CommandError("No mail on stdin.")
        try:
            mail, created = inbound_store(raw=raw, enqueue=not options["now"])
            state = inbound_process(inbound_id=mail.pk) if options["now"] and created else mail.state
        except DatabaseError as exc:
            self.stderr.write(f"could not store the mail: {exc}")
            sys.exit(EX_TEMPFAIL)
        self.stdout.write(f"{'stored' if created else 'already stored'} mail {mail.pk} ({state})")
