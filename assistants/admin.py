"""Admin for threads, runs, messages and articles: what support leads read and the lifecycle actions.

Remote work (metadata sync, deleting a conversation) never happens in the request: actions queue
Celery tasks (assistants.lifecycle) and say what they queued; failures land on Thread.remote_error,
which is a column, a filter and a retry action here.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, Subquery, Sum
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from assistants import knowledge, lifecycle
from assistants.metadata import MAX_KEYS, MetadataError, validate_custom_metadata
from assistants.models import Attachment, KnowledgeArticle, Message, Redaction, Run, Thread
from assistants.providers import PROVIDERS
from config import parsing

LIFECYCLE_PERMISSION = "assistants.manage_thread_lifecycle"
INLINE_LIMIT = 20


def metadata_table(metadata: dict | None):
    """A small escaped key/value table (keys and values come from users and models)."""
    if not metadata:
        return "—"
    rows = format_html_join(
        "", "<tr><th>{}</th><td>{}</td></tr>", sorted((str(k), str(v)) for k, v in metadata.items())
    )
    return format_html('<table class="metadata-table">{}</table>', rows)


def admin_link(obj, label=None):
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


# --- filters -------------------------------------------------------------------------------


class ProviderFilter(admin.SimpleListFilter):
    """Providers come from the registry, so the filter costs no query."""

    title = "provider"
    parameter_name = "provider"
    field = "provider"

    def lookups(self, request, model_admin):
        return [(name, name) for name in PROVIDERS]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field: self.value()})
        return queryset


class RemoteErrorFilter(admin.SimpleListFilter):
    title = "remote error"
    parameter_name = "remote_error"
    prefix = ""

    def lookups(self, request, model_admin):
        return [
            ("delete", "Remote deletion failed"),
            ("sync", "Metadata sync failed"),
            ("any", "Any remote error"),
            ("none", "No remote error"),
        ]

    def queryset(self, request, queryset):
        f = f"{self.prefix}remote_error"
        value = self.value()
        if value == "delete":
            return queryset.filter(**{f"{f}__startswith": lifecycle.DELETE_FAILED})
        if value == "sync":
            return queryset.filter(**{f"{f}__startswith": lifecycle.SYNC_FAILED})
        if value == "any":
            return queryset.exclude(**{f: ""})
        if value == "none":
            return queryset.filter(**{f: ""})
        return queryset


class RemoteDeletedFilter(admin.SimpleListFilter):
    title = "remote conversation"
    parameter_name = "remote"
    prefix = ""

    def lookups(self, request, model_admin):
        return [("exists", "Exists at the provider"), ("deleted", "Deleted at the provider"), ("local", "Local only")]

    def queryset(self, request, queryset):
        p = self.prefix
        if self.value() == "exists":
            return queryset.exclude(**{f"{p}remote_id": ""})
        if self.value() == "deleted":
            return queryset.filter(**{f"{p}remote_deleted_at__isnull": False})
        if self.value() == "local":
            return queryset.filter(**{f"{p}remote_id": "", f"{p}remote_deleted_at__isnull": True})
        return queryset


# --- the custom metadata form --------------------------------------------------------------


class CustomMetadataField(forms.CharField):
    """Custom metadata keys as JSON ({"key": "value"}), checked against the provider's limits
    together with the reserved keys the owning app always sends."""

    widget = forms.Textarea(attrs={"rows": 5, "cols": 60, "class": "vLargeTextField"})

    def __init__(self, *, reserved_keys=(), **kwargs):
        self.reserved_keys = tuple(reserved_keys)
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            f'A JSON object of strings, e.g. {{"order": "5521"}}. At most {MAX_KEYS - len(self.reserved_keys)} '
            f"custom keys ({MAX_KEYS} with the reserved ones), keys up to 64 characters, values up to 512."
            + (f" Reserved: {', '.join(self.reserved_keys)}." if self.reserved_keys else ""),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if not value.strip():
            return {}
        try:
            data = parsing.json_loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
        except ValueError as exc:  # nested too deeply
            raise forms.ValidationError(f"Not valid here: {exc}") from exc
        if not isinstance(data, dict):
            raise forms.ValidationError('Enter a JSON object, e.g. {"order": "5521"}.')
        return data

    def validate(self, value):
        super().validate(value)
        try:
            validate_custom_metadata(value, reserved_keys=self.reserved_keys)
        except MetadataError as exc:
            raise forms.ValidationError(str(exc)) from exc


class ThreadForm(forms.ModelForm):
    reserved_keys: tuple[str, ...] = ()

    class Meta:
        model = Thread
        fields = ["custom_metadata"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "custom_metadata" in self.fields:
            self.fields["custom_metadata"] = CustomMetadataField(
                reserved_keys=self.reserved_keys, label="Custom metadata"
            )


# --- inlines: the latest N rows, with a link to all of them --------------------------------


class ReadOnlyInline(admin.TabularInline):
    """An inline nobody adds to, changes or deletes from: history, not a form."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LatestInline(ReadOnlyInline):
    """Read-only, and only the latest INLINE_LIMIT rows of the thread being edited."""

    show_change_link = True
    order_field = "-created_at"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if object_id is None:
            return qs
        latest = qs.model.objects.filter(thread_id=object_id).order_by(self.order_field).values("pk")[:INLINE_LIMIT]
        return qs.filter(pk__in=Subquery(latest)).order_by(self.order_field)


class MessageInline(LatestInline):
    model = Message
    order_field = "-seq"
    fields = ["seq", "role", "visibility", "draft_state", "channel", "short_body", "author", "run", "created_at"]
    readonly_fields = fields
    verbose_name_plural = f"Messages (latest {INLINE_LIMIT}; all of them under 'Messages' in the header)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    @admin.display(description="channel")
    def channel(self, obj):
        """How the message came, as the owning app recorded it (metadata["channel"], e.g. "email")."""
        return (obj.metadata or {}).get("channel", "")

    @admin.display(description="body")
    def short_body(self, obj):
        return obj.body[:200]


class RunInline(LatestInline):
    model = Run
    fields = [
        "status",
        "trigger",
        "error_code",
        "attempts",
        "input_tokens",
        "cached_tokens",
        "output_tokens",
        "cost",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields
    verbose_name_plural = f"Runs (latest {INLINE_LIMIT})"


# --- threads -------------------------------------------------------------------------------


class LifecycleActionsMixin:
    """Actions shared by the thread admin and the ticket admin. `_threads(queryset)` maps the
    selected objects to (object, thread) pairs."""

    def has_lifecycle_permission(self, request):
        return request.user.has_perm(LIFECYCLE_PERMISSION)

    def _threads(self, queryset):
        return [(t, t) for t in queryset]

    def _log_each(self, request, pairs, message):
        for obj, _thread in pairs:
            self.log_change(request, obj, message)

    @admin.action(description="Re-sync metadata to the provider", permissions=["change"])
    def resync_metadata(self, request, queryset):
        pairs = self._threads(queryset)
        n = lifecycle.request_metadata_resync(thread_ids=[t.pk for _, t in pairs])
        self._log_each(request, pairs, "Queued a metadata re-sync to the provider.")
        self.message_user(request, f"Queued a metadata re-sync for {n} thread(s).", messages.SUCCESS)

    @admin.action(description="Archive the thread", permissions=["lifecycle"])
    def archive_threads(self, request, queryset):
        pairs = self._threads(queryset)
        n = lifecycle.threads_archive(thread_ids=[t.pk for _, t in pairs])
        self._log_each(request, pairs, "Archived the thread.")
        self.message_user(request, f"Archived {n} thread(s); {len(pairs) - n} were not active.", messages.SUCCESS)

    @admin.action(description="Delete the remote conversation (keep the local history)", permissions=["lifecycle"])
    def delete_remote(self, request, queryset):
        pairs = self._threads(queryset)
        n = lifecycle.request_remote_deletion(thread_ids=[t.pk for _, t in pairs])
        self._log_each(request, pairs, "Requested deletion of the remote conversation.")
        self.message_user(
            request,
            f"Queued deletion of {n} remote conversation(s); {len(pairs) - n} had none left. "
            "Failures show under the 'remote error' filter.",
            messages.SUCCESS,
        )

    @admin.action(description="Retry failed remote deletions", permissions=["lifecycle"])
    def retry_remote_deletion(self, request, queryset):
        pairs = [(o, t) for o, t in self._threads(queryset) if t.remote_error.startswith(lifecycle.DELETE_FAILED)]
        n = lifecycle.request_remote_deletion(thread_ids=[t.pk for _, t in pairs])
        self._log_each(request, pairs, "Retried the deletion of the remote conversation.")
        self.message_user(request, f"Queued {n} retr{'y' if n == 1 else 'ies'} of a failed remote deletion.")


@admin.register(Thread)
class ThreadAdmin(LifecycleActionsMixin, admin.ModelAdmin):
    form = ThreadForm
    list_display = [
        "id",
        "provider",
        "state",
        "ai_state",
        "remote_id",
        "remote_deleted_at",
        "remote_error_short",
        "message_count",
        "run_count",
        "cost",
        "updated_at",
    ]
    list_filter = [ProviderFilter, "state", "ai_state", RemoteErrorFilter, RemoteDeletedFilter]
    search_fields = ["=remote_id"]
    show_full_result_count = False
    actions = ["resync_metadata", "archive_threads", "delete_remote", "retry_remote_deletion"]
    inlines = [MessageInline, RunInline]
    readonly_fields = [
        "provider",
        "state",
        "ai_state",
        "attention",
        "remote_id",
        "remote_history",
        "remote_deleted_at",
        "remote_error",
        "metadata_table",
        "metadata_synced_at",
        "metadata_dirty",
        "all_messages",
        "message_count",
        "run_count",
        "input_tokens",
        "cached_tokens",
        "output_tokens",
        "cost",
        "created_at",
        "updated_at",
        "archived_at",
    ]
    fieldsets = [
        (None, {"fields": ["provider", "state", "ai_state", "attention", "all_messages"]}),
        ("Metadata", {"fields": ["metadata_table", "custom_metadata", "metadata_synced_at", "metadata_dirty"]}),
        ("Remote conversation", {"fields": ["remote_id", "remote_history", "remote_deleted_at", "remote_error"]}),
        (
            "Usage",
            {"fields": ["message_count", "run_count", "input_tokens", "cached_tokens", "output_tokens", "cost"]},
        ),
        ("Dates", {"fields": ["created_at", "updated_at", "archived_at"]}),
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description="metadata sent to the provider")
    def metadata_table(self, obj):
        return metadata_table(obj.metadata)

    @admin.display(description="remote error")
    def remote_error_short(self, obj):
        return obj.remote_error[:80]

    @admin.display(description="messages")
    def all_messages(self, obj):
        url = reverse("admin:assistants_message_changelist") + f"?thread={obj.pk}"
        runs = reverse("admin:assistants_run_changelist") + f"?thread={obj.pk}"
        return format_html(
            '<a href="{}">All {} messages</a> · <a href="{}">all {} runs</a>',
            url,
            obj.message_count,
            runs,
            obj.run_count,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "custom_metadata" in form.changed_data:
            lifecycle.request_metadata_resync(thread_ids=[obj.pk])
            self.message_user(request, "Custom metadata saved; a sync to the provider is queued.")


# --- runs ----------------------------------------------------------------------------------


class DateHierarchyChangeList(ChangeList):
    """Django's changelist turns a date-hierarchy value that is no date into its "?e=1" error,
    except a year past what datetime holds, which raises OverflowError: refused the same way."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ErrorCodeFilter(admin.SimpleListFilter):
    """Error codes of failed runs (distinct values over the non-empty codes only)."""

    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        codes = Run.objects.exclude(error_code="").values_list("error_code", flat=True).distinct().order_by()
        return [("-", "No error"), *[(c, c) for c in sorted(codes)[:50]]]

    def queryset(self, request, queryset):
        if self.value() == "-":
            return queryset.filter(error_code="")
        if self.value():
            return queryset.filter(error_code=self.value())
        return queryset


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "thread_link",
        "status",
        "trigger",
        "provider",
        "model",
        "error_code",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
        "duration_display",
        "input_tokens",
        "cached_tokens",
        "output_tokens",
        "cost",
    ]
    list_filter = ["status", ErrorCodeFilter, ProviderFilter, "trigger", "needs_staff", "created_at"]
    list_select_related = ["thread"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ["duration_display"]

    def get_changelist(self, request, **kwargs):
        return DateHierarchyChangeList

    exclude = ["lease_token", "lease_until"]

    @admin.display(description="thread", ordering="thread")
    def thread_link(self, obj):
        return admin_link(obj.thread, f"Thread {obj.thread_id}")

    @admin.display(description="duration")
    def duration_display(self, obj):
        d = obj.duration
        return f"{d.total_seconds():.1f} s" if d is not None else "—"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if cl is not None:
            response.context_data["totals"] = cl.queryset.order_by().aggregate(
                runs=Count("pk"),
                input_tokens=Sum("input_tokens", default=0),
                cached_tokens=Sum("cached_tokens", default=0),
                output_tokens=Sum("output_tokens", default=0),
                cost=Sum("cost", default=0),
            )
        return response


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "thread_id", "seq", "role", "visibility", "draft_state", "short_body", "author", "created_at"]
    list_filter = ["role", "visibility", "draft_state"]
    list_select_related = ["author"]
    show_full_result_count = False
    exclude = []

    @admin.display(description="body")
    def short_body(self, obj):
        return obj.body[:120]


@admin.register(Redaction)
class RedactionAdmin(ReadOnlyAdmin):
    """The audit log of removed messages and attachments: read-only, kept for everyone's sake."""

    list_display = ["created_at", "what", "thread_id", "by_label", "reason", "remote_state", "remote_items_deleted"]
    list_filter = ["remote_state"]
    search_fields = ["by_label", "reason", "=thread__id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ["remote_fingerprints"]

    def get_changelist(self, request, **kwargs):
        return DateHierarchyChangeList


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    """Uploads are private (MEDIA_URL is None): the page links to the owning app's access-checked
    download view (`download_url`) instead of showing the file field, which would ask for a URL."""

    list_display = ["filename", "content_type", "size", "remote_file_id", "created_at"]
    search_fields = ["filename", "=remote_file_id"]
    exclude = ["file"]
    readonly_fields = ["download"]

    def download_url(self, obj) -> str | None:
        return None

    @admin.display(description="file")
    def download(self, obj):
        url = self.download_url(obj) if obj.pk else None
        if url is None:
            return "Stored privately; no download view is registered."
        return format_html('<a href="{}">Download {}</a> ({} bytes)', url, obj.filename, obj.size)


class KnowledgeArticleForm(forms.ModelForm):
    class Meta:
        model = KnowledgeArticle
        fields = ["title", "slug", "language", "translation_group", "category", "tags", "published", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 24, "cols": 100, "class": "vLargeTextField"})}


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    """Leads edit articles (Markdown) here. Saving queues a task that stores the passages and their
    embeddings and refreshes the provider's vector store; the state columns say where that is."""

    form = KnowledgeArticleForm
    list_display = ["title", "language", "translation_group", "category", "published", "index_state_display",
                    "vector_store_display", "updated_at"]  # fmt: skip
    list_filter = ["published", "language", "category", "index_state"]
    search_fields = ["title", "tags", "body", "=translation_group"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["reindex"]
    readonly_fields = ["index_state_display", "index_error", "indexed_at", "embedding_model", "passage_count",
                       "vector_store_display", "remote_file_id", "remote_synced_at", "help_center_link"]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["title", "slug", "language", "translation_group", "category", "tags", "published"]}),
        ("Text (Markdown)", {"fields": ["body", "help_center_link"]}),
        (
            "Retrieval",
            {
                "fields": [
                    "index_state_display",
                    "index_error",
                    "indexed_at",
                    "embedding_model",
                    "passage_count",
                    "vector_store_display",
                    "remote_file_id",
                    "remote_synced_at",
                ]  # fmt: skip
            },
        ),
    ]

    @admin.display(description="passages and embeddings", ordering="index_state")
    def index_state_display(self, obj):
        if obj.pk is None:
            return "—"
        if obj.indexed_at is None or obj.indexed_at < obj.updated_at:
            return "Waiting for the indexing task (searched by keywords until then)"
        return obj.get_index_state_display()

    @admin.display(description="OpenAI vector store")
    def vector_store_display(self, obj):
        from assistants.providers import get_provider

        if not hasattr(get_provider(), "sync_knowledge_base"):
            return "Not used (offline assistant)"
        if not obj.published:
            return "Removed (unpublished)" if not obj.remote_file_id else "Waiting for removal"
        if obj.remote_synced_at and obj.remote_synced_at >= obj.updated_at:
            return "In sync"
        return "Waiting for the sync task"

    @admin.display(description="passages")
    def passage_count(self, obj):
        return obj.passages.count() if obj.pk else 0

    @admin.display(description="in the help center")
    def help_center_link(self, obj):
        if obj.pk is None or not obj.published:
            return "—"
        url = reverse("help:article", args=[obj.slug])
        return format_html('<a href="{}" target="_blank">{}</a>', url, url)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        knowledge.request_index(article_ids=[obj.pk])
        self.message_user(request, "Saved; the passages, embeddings and vector store are refreshed by a task.")

    @admin.action(description="Index again (passages, embeddings, vector store)", permissions=["change"])
    def reindex(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        knowledge.request_index(article_ids=ids)
        self.message_user(request, f"Queued indexing of {len(ids)} article(s).", messages.SUCCESS)
