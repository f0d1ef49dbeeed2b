"""The support lead's admin: tickets and their flags, the ticket-aware thread admin, the audit.

Every change goes through tickets.services (so a FlagChange is recorded and the metadata mirror
is marked dirty), every action writes a LogEntry per object, and remote work is queued.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.urls import reverse
from django.utils.html import format_html

from assistants import lifecycle
from assistants.admin import (
    AttachmentAdmin,
    CustomMetadataField,
    LifecycleActionsMixin,
    ProviderFilter,
    ReadOnlyInline,
    RemoteDeletedFilter,
    RemoteErrorFilter,
    ThreadAdmin,
    ThreadForm,
    admin_link,
    metadata_table,
)
from assistants.models import Attachment, Run, Thread
from config import parsing
from tickets import accounts, admin_people, services  # noqa: F401 (admin_people registers the user admin)
from tickets.forms.canned import CannedReplyAdminForm
from tickets.models import CannedReply, CustomerProfile, FlagChange, Ticket

User = get_user_model()
REFERENCE = re.compile(r"^\s*[Tt]-?(\d{1,12})\s*$")


# --- filters -------------------------------------------------------------------------------


class LabelledValuesFilter(admin.AllValuesFieldListFilter):
    """Every value of a text field, with the blank one named: a link with no text is unusable
    with a screen reader (axe-core: link-name)."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] == "":
                choice = {**choice, "display": "(blank)"}
            yield choice


class FeedbackRatingFilter(admin.SimpleListFilter):
    title = "feedback rating"
    parameter_name = "rating"
    field = "feedback_rating"

    def lookups(self, request, model_admin):
        return [("low", "2 or less"), ("mid", "2.5 to 3.5"), ("high", "4 or more"), ("none", "Not rated")]

    def queryset(self, request, queryset):
        f, value = self.field, self.value()
        if value == "low":
            return queryset.filter(**{f"{f}__lte": Decimal("2")})
        if value == "mid":
            return queryset.filter(**{f"{f}__gte": Decimal("2.5"), f"{f}__lte": Decimal("3.5")})
        if value == "high":
            return queryset.filter(**{f"{f}__gte": Decimal("4")})
        if value == "none":
            return queryset.filter(**{f"{f}__isnull": True})
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    """Staff only (the default related filter would list every customer)."""

    title = "assignee"
    parameter_name = "assignee"
    field = "assignee"

    def lookups(self, request, model_admin):
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("email")[:100]
        return [("none", "Unassigned"), *[(str(u.pk), u.get_full_name() or u.email or u.username) for u in staff]]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(**{f"{self.field}__isnull": True})
        if value:
            pk = parsing.object_id(value)
            if pk is None:
                raise IncorrectLookupParameters(f"assignee={value!r} is not a person.")
            return queryset.filter(**{f"{self.field}_id": pk})
        return queryset


class TicketProviderFilter(ProviderFilter):
    field = "thread__provider"


class TicketRemoteErrorFilter(RemoteErrorFilter):
    prefix = "thread__"


class TicketRemoteDeletedFilter(RemoteDeletedFilter):
    prefix = "thread__"


class ThreadFeedbackRatingFilter(FeedbackRatingFilter):
    field = "ticket__feedback_rating"


class ThreadAssigneeFilter(AssigneeFilter):
    field = "ticket__assignee"


# --- forms and inlines ---------------------------------------------------------------------


class TicketForm(forms.ModelForm):
    custom_metadata = CustomMetadataField(reserved_keys=services.RESERVED_METADATA_KEYS, label="Custom metadata")

    class Meta:
        model = Ticket
        fields = [
            "subject",
            "status",
            "priority",
            "assignee",
            "ai_mode",
            "escalated",
            "escalation_reason",
            "language_preference",
            "conversation_topic",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["custom_metadata"] = self.instance.thread.custom_metadata
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = User.objects.filter(is_staff=True)


class FlagChangeInline(ReadOnlyInline):
    model = FlagChange
    fields = ["created_at", "field", "old_value", "new_value", "changed_by", "run", "reason"]
    readonly_fields = fields
    verbose_name_plural = "Flag changes (audit, latest 50)"

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("changed_by", "run")
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if object_id is not None:
            latest = FlagChange.objects.filter(ticket_id=object_id).order_by("-created_at").values("pk")[:50]
            qs = qs.filter(pk__in=Subquery(latest))
        return qs


# --- tickets -------------------------------------------------------------------------------


class TicketActionsMixin(LifecycleActionsMixin):
    """Ticket actions, for the ticket admin (objects are tickets) and the thread admin."""

    def _tickets(self, queryset):
        return queryset

    def _threads(self, queryset):
        return [(t, t.thread) for t in self._tickets(queryset).select_related("thread")]

    def _each_ticket(self, request, queryset, func, log_message):
        done = 0
        for ticket in self._tickets(queryset):
            func(ticket)
            self.log_change(request, self._logged(ticket), log_message)
            done += 1
        return done

    def _logged(self, ticket):
        return ticket

    @admin.action(description="Escalate to a person", permissions=["change"])
    def escalate(self, request, queryset):
        reason = f"Escalated by {request.user.get_username()} in the admin."
        n = self._each_ticket(
            request,
            queryset.filter(escalated=False) if queryset.model is Ticket else queryset.filter(ticket__escalated=False),
            lambda t: services.ticket_escalate(ticket=t, reason=reason, by=request.user),
            "Escalated.",
        )
        self.message_user(request, f"Escalated {n} ticket(s); metadata sync queued.", messages.SUCCESS)

    @admin.action(description="Clear escalation", permissions=["change"])
    def deescalate(self, request, queryset):
        n = self._each_ticket(
            request,
            queryset.filter(escalated=True) if queryset.model is Ticket else queryset.filter(ticket__escalated=True),
            lambda t: services.ticket_deescalate(ticket=t, by=request.user),
            "Cleared the escalation.",
        )
        self.message_user(request, f"Cleared the escalation of {n} ticket(s).", messages.SUCCESS)

    def _set_ai_mode(self, request, queryset, mode):
        label = Ticket.AIMode(mode).label
        n = self._each_ticket(
            request,
            queryset,
            lambda t: services.ticket_update(ticket=t, by=request.user, ai_mode=mode),
            f"Set AI mode to {mode}.",
        )
        self.message_user(request, f"AI mode of {n} ticket(s) set to {label}.", messages.SUCCESS)

    @admin.action(description="Set AI mode: auto", permissions=["change"])
    def ai_mode_auto(self, request, queryset):
        self._set_ai_mode(request, queryset, Ticket.AIMode.AUTO)

    @admin.action(description="Set AI mode: draft", permissions=["change"])
    def ai_mode_draft(self, request, queryset):
        self._set_ai_mode(request, queryset, Ticket.AIMode.DRAFT)

    @admin.action(description="Set AI mode: off", permissions=["change"])
    def ai_mode_off(self, request, queryset):
        self._set_ai_mode(request, queryset, Ticket.AIMode.OFF)

    @admin.action(description="Stop the assistant's run", permissions=["change"])
    def stop_assistant(self, request, queryset):
        stopped = 0
        for ticket in self._tickets(queryset).select_related("thread"):
            for run in ticket.thread.runs.filter(status__in=Run.ACTIVE):
                if services.run_stop(run=run, staff=request.user):
                    stopped += 1
                    self.log_change(request, self._logged(ticket), f"Stopped the assistant's run {run.pk}.")
        self.message_user(request, f"Stopped {stopped} run(s).", messages.SUCCESS if stopped else messages.WARNING)

    @admin.action(description="Re-run the assistant", permissions=["change"])
    def rerun_assistant(self, request, queryset):
        queued, busy = 0, 0
        for ticket in self._tickets(queryset).select_related("thread"):
            last = ticket.thread.runs.order_by("-created_at").first()
            if last is not None and last.is_active:
                busy += 1
                continue
            if last is not None and last.status != last.Status.COMPLETED:
                run = services.run_retry(run=last, staff=request.user)
            else:
                run = services.ask_assistant(ticket=ticket, staff=request.user)
            if run is not None:
                queued += 1
                self.log_change(request, self._logged(ticket), f"Asked the assistant (run {run.pk}).")
        text = f"Queued {queued} assistant run(s)."
        if busy:
            text += f" {busy} ticket(s) already had a run going."
        self.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)


@admin.register(Ticket)
class TicketAdmin(TicketActionsMixin, admin.ModelAdmin):
    form = TicketForm
    list_display = [
        "reference_link",
        "subject",
        "customer_email",
        "status",
        "priority",
        "ai_mode",
        "escalated",
        "feedback_rating",
        "language_preference",
        "user_is_premium",
        "conversation_topic",
        "assignee",
        "provider",
        "remote_state",
        "updated_at",
    ]
    list_display_links = None
    list_select_related = ["customer", "assignee", "thread"]
    list_filter = [
        "escalated",
        FeedbackRatingFilter,
        ("language_preference", LabelledValuesFilter),
        "user_is_premium",
        ("conversation_topic", LabelledValuesFilter),
        "status",
        "priority",
        "ai_mode",
        AssigneeFilter,
        TicketProviderFilter,
        TicketRemoteErrorFilter,
        TicketRemoteDeletedFilter,
    ]
    search_fields = ["subject", "customer__email"]
    search_help_text = "A reference (T-123), words of the subject, or the customer's email."
    show_full_result_count = False
    list_per_page = 50
    actions = [
        "escalate",
        "deescalate",
        "ai_mode_auto",
        "ai_mode_draft",
        "ai_mode_off",
        "rerun_assistant",
        "stop_assistant",
        "resync_metadata",
        "archive_threads",
        "delete_remote",
        "retry_remote_deletion",
    ]
    inlines = [FlagChangeInline]
    readonly_fields = [
        "reference",
        "customer",
        "thread_link",
        "feedback_rating",
        "feedback_comment",
        "user_is_premium",
        "escalated_at",
        "metadata_table",
        "remote_state",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "subject", "customer", "thread_link", "status", "priority", "assignee"]}),
        ("Assistant", {"fields": ["ai_mode", "escalated", "escalation_reason", "escalated_at"]}),
        (
            "Flags and metadata",
            {
                "fields": [
                    "language_preference",
                    "conversation_topic",
                    "user_is_premium",
                    "feedback_rating",
                    "feedback_comment",
                    "metadata_table",
                    "custom_metadata",
                    "remote_state",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at", "first_response_at", "resolved_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "assignee", "thread")

    def has_add_permission(self, request):
        return False  # tickets are opened by customers, with their first message

    def get_search_results(self, request, queryset, search_term):
        match = REFERENCE.match(search_term or "")
        if match:
            return queryset.filter(pk=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="ticket", ordering="pk")
    def reference_link(self, obj):
        return admin_link(obj, obj.reference)

    @admin.display(description="customer", ordering="customer__email")
    def customer_email(self, obj):
        return obj.customer.email

    @admin.display(description="provider", ordering="thread__provider")
    def provider(self, obj):
        return obj.thread.provider

    @admin.display(description="remote")
    def remote_state(self, obj):
        thread = obj.thread
        if thread.remote_error:
            return format_html('<span class="remote-error">{}</span>', thread.remote_error[:120])
        if thread.remote_deleted_at:
            return f"deleted {thread.remote_deleted_at:%Y-%m-%d}"
        return thread.remote_id or "local only"

    @admin.display(description="thread")
    def thread_link(self, obj):
        return admin_link(obj.thread, f"Thread {obj.thread_id} ({obj.thread.get_state_display().lower()})")

    @admin.display(description="metadata sent to the provider")
    def metadata_table(self, obj):
        try:
            return metadata_table(services.ticket_metadata(obj))
        except ValueError as exc:
            return f"Does not fit the provider's limits: {exc}"

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        """Route each change through the services, so the audit and the metadata mirror follow."""
        changed = set(form.changed_data)
        if "escalated" in changed:
            if form.cleaned_data["escalated"]:
                reason = form.cleaned_data.get("escalation_reason") or f"Escalated by {request.user.get_username()}."
                services.ticket_escalate(ticket=obj, reason=reason, by=request.user)
            else:
                services.ticket_deescalate(ticket=obj, by=request.user)
        updates = {f: form.cleaned_data[f] for f in changed & services.EDITABLE_FIELDS}
        if updates:
            try:
                services.ticket_update(ticket=obj, by=request.user, **updates)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
        if "subject" in changed:
            Ticket.objects.filter(pk=obj.pk).update(subject=parsing.one_line(form.cleaned_data["subject"])[:200])
        if "custom_metadata" in changed:
            Thread.objects.filter(pk=obj.thread_id).update(custom_metadata=form.cleaned_data["custom_metadata"])
            lifecycle.request_metadata_resync(thread_ids=[obj.thread_id])
            self.message_user(request, "Custom metadata saved; a sync to the provider is queued.")
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        accounts.tickets_delete(ticket_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        accounts.tickets_delete(ticket_ids=list(queryset.values_list("pk", flat=True)))


# --- the ticket-aware thread admin ---------------------------------------------------------


class HelpdeskThreadForm(ThreadForm):
    reserved_keys = services.RESERVED_METADATA_KEYS


class HelpdeskThreadAdmin(TicketActionsMixin, ThreadAdmin):
    """The thread admin of assistants, with its ticket's flags as columns, filters and actions."""

    form = HelpdeskThreadForm
    list_display = [
        "id",
        "ticket_link",
        "escalated",
        "feedback_rating",
        "language_preference",
        "user_is_premium",
        "conversation_topic",
        "ticket_status",
        "assignee",
        *ThreadAdmin.list_display[1:],
    ]
    list_select_related = ["ticket", "ticket__assignee"]
    list_filter = [
        "ticket__escalated",
        ThreadFeedbackRatingFilter,
        ("ticket__language_preference", LabelledValuesFilter),
        "ticket__user_is_premium",
        ("ticket__conversation_topic", LabelledValuesFilter),
        "ticket__status",
        "ticket__priority",
        "ticket__ai_mode",
        ThreadAssigneeFilter,
        *ThreadAdmin.list_filter,
    ]
    search_fields = ["=remote_id", "ticket__subject", "ticket__customer__email"]
    actions = [
        "escalate",
        "deescalate",
        "ai_mode_auto",
        "ai_mode_draft",
        "ai_mode_off",
        "rerun_assistant",
        "stop_assistant",
        *ThreadAdmin.actions,
    ]

    def get_search_results(self, request, queryset, search_term):
        match = REFERENCE.match(search_term or "")
        if match:
            return queryset.filter(ticket__pk=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)

    def _tickets(self, queryset):
        return Ticket.objects.filter(thread__in=queryset)

    def _threads(self, queryset):
        return [(t, t) for t in queryset]

    def _logged(self, ticket):
        return ticket.thread

    def _ticket(self, obj):
        try:
            return obj.ticket
        except Ticket.DoesNotExist:
            return None

    def _flag(self, obj, name):
        ticket = self._ticket(obj)
        return getattr(ticket, name) if ticket is not None else None

    @admin.display(description="ticket", ordering="ticket")
    def ticket_link(self, obj):
        ticket = self._ticket(obj)
        return admin_link(ticket, ticket.reference) if ticket else "—"

    @admin.display(description="escalated", boolean=True, ordering="ticket__escalated")
    def escalated(self, obj):
        return self._flag(obj, "escalated")

    @admin.display(description="rating", ordering="ticket__feedback_rating")
    def feedback_rating(self, obj):
        return self._flag(obj, "feedback_rating")

    @admin.display(description="language", ordering="ticket__language_preference")
    def language_preference(self, obj):
        return self._flag(obj, "language_preference")

    @admin.display(description="premium", boolean=True, ordering="ticket__user_is_premium")
    def user_is_premium(self, obj):
        return self._flag(obj, "user_is_premium")

    @admin.display(description="topic", ordering="ticket__conversation_topic")
    def conversation_topic(self, obj):
        return self._flag(obj, "conversation_topic")

    @admin.display(description="status", ordering="ticket__status")
    def ticket_status(self, obj):
        ticket = self._ticket(obj)
        return ticket.get_status_display() if ticket else "—"

    @admin.display(description="assignee")
    def assignee(self, obj):
        return self._flag(obj, "assignee")


admin.site.unregister(Thread)
admin.site.register(Thread, HelpdeskThreadAdmin)


class HelpdeskAttachmentAdmin(AttachmentAdmin):
    def download_url(self, obj) -> str:
        return reverse("portal:attachment", args=[obj.pk])  # staff may download every attachment there


admin.site.unregister(Attachment)
admin.site.register(Attachment, HelpdeskAttachmentAdmin)


# --- audit and profiles --------------------------------------------------------------------


@admin.register(FlagChange)
class FlagChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "field", "old_value", "new_value", "changed_by", "run", "reason"]
    list_filter = ["field", ("run", admin.EmptyFieldListFilter), "created_at"]
    list_select_related = ["ticket", "changed_by", "run"]
    search_fields = ["ticket__subject", "changed_by__email"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "is_premium", "language", "company"]
    list_filter = ["is_premium", "language"]
    list_select_related = ["user"]
    search_fields = ["user__email", "company"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Saved replies: shared (no owner) or personal. The placeholders are checked when saved."""

    form = CannedReplyAdminForm
    list_display = ["title", "owner", "usage_count", "last_used_at", "updated_at"]
    list_filter = [("owner", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body"]
    readonly_fields = ["usage_count", "last_used_at", "created_by", "created_at", "updated_at"]
    raw_id_fields = ["owner"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
