"""Leads run the email channel here: mailboxes (with a test-connection action), the ingest log
with failed and held mails (retry, discard, add a held mail to its ticket), outbound mail (retry)
and the addresses that bounce."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from mail import crypto, imap, inbound, outbound
from mail.models import AddressStatus, EmailPreference, InboundMail, Mailbox, OutboundMail


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the current one (or use a password variable).",
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "address",
            "host",
            "port",
            "use_tls",
            "username",
            "password",
            "password_env",
            "folder",
            "processed_folder",
            "active",
        ]

    def save(self, commit=True):
        mailbox = super().save(commit=False)
        if self.cleaned_data.get("password"):
            mailbox.password_encrypted = crypto.encrypt(self.cleaned_data["password"])
        if commit:
            mailbox.save()
        return mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["name", "address", "host", "username", "folder", "active", "last_polled_at", "last_error"]
    readonly_fields = ["from_env", "uidvalidity", "last_polled_at", "last_error"]
    actions = ["test_connection", "poll_now"]

    @admin.action(description="Test the connection")
    def test_connection(self, request, queryset):
        for mailbox in queryset:
            try:
                self.message_user(request, f"{mailbox.name}: {imap.mailbox_test(mailbox=mailbox)}", messages.SUCCESS)
            except Exception as exc:  # noqa: BLE001 - whatever the server says, the lead reads it
                self.message_user(request, f"{mailbox.name}: {type(exc).__name__}: {exc}", messages.ERROR)

    @admin.action(description="Poll now")
    def poll_now(self, request, queryset):
        from mail import jobs

        for mailbox in queryset:
            jobs.enqueue("poll_mailbox", mailbox.pk)
        self.message_user(request, f"Polling {queryset.count()} mailbox(es) in the background.")


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ["received_at", "from_address", "subject", "state", "kind", "ticket_link", "reason", "mailbox"]
    list_filter = ["state", "kind", "mailbox"]
    search_fields = ["from_address", "subject", "message_key"]
    date_hierarchy = "received_at"
    list_select_related = ["ticket", "mailbox"]
    exclude = ["raw"]
    readonly_fields = [f.name for f in InboundMail._meta.fields if f.name != "raw"] + ["source"]
    actions = ["retry", "discard", "accept_held"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Ticket")
    def ticket_link(self, obj):
        if obj.ticket_id is None:
            return "—"
        return format_html('<a href="{}">T-{}</a>', reverse("staff:ticket", args=[obj.ticket_id]), obj.ticket_id)

    @admin.display(description="Source (first 20 kB)")
    def source(self, obj):
        text = bytes(obj.raw[:20000]).decode("utf-8", "replace")
        return format_html('<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>', text)

    @admin.action(description="Parse again (failed or held mail)")
    def retry(self, request, queryset):
        n = sum(inbound.inbound_retry(mail=mail) for mail in queryset)
        self.message_user(request, f"{n} mail(s) queued to be parsed again.")

    @admin.action(description="Discard")
    def discard(self, request, queryset):
        n = sum(inbound.inbound_discard(mail=mail) for mail in queryset)
        self.message_user(request, f"{n} mail(s) discarded.")

    @admin.action(description="Add held mail to its ticket")
    def accept_held(self, request, queryset):
        for mail in queryset:
            try:
                inbound.inbound_accept_held(mail=mail)
            except ValidationError as exc:
                self.message_user(request, f"{mail}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{mail}: added to T-{mail.ticket_id}.")


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to_address", "subject", "status", "attempts", "automatic", "last_error"]
    list_filter = ["status", "automatic"]
    search_fields = ["to_address", "subject", "email_message_id"]
    readonly_fields = [f.name for f in OutboundMail._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send again (failed mail)")
    def retry(self, request, queryset):
        n = sum(outbound.outbound_retry(outbound=mail) for mail in queryset)
        self.message_user(request, f"{n} mail(s) queued again.")


@admin.register(AddressStatus)
class AddressStatusAdmin(admin.ModelAdmin):
    list_display = ["address", "failing", "bounces", "last_status", "last_bounce_at"]
    list_filter = ["failing"]
    search_fields = ["address"]


admin.site.register(EmailPreference)
