from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from webhooks import endpoints
from webhooks.models import Delivery, Endpoint, Event, EventType


class EndpointAddForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "include_internal_notes"]

    def clean(self):
        data = super().clean()
        from webhooks.network import check_url

        try:
            if data.get("url"):
                check_url(data["url"])
        except ValidationError as exc:
            self.add_error("url", exc.message_dict["url"])
        return data


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["event", "status", "attempts", "last_status_code", "last_error", "created_at", "delivered_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    show_change_link = True


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "is_active",
        "include_internal_notes",
        "consecutive_failures",
        "disabled_reason",
        "created_at",
    ]
    list_filter = ["is_active", "include_internal_notes"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_by", "created_at"]
    exclude = ["secret_encrypted"]
    inlines = [DeliveryInline]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = EndpointAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if change:
            if "events" in form.changed_data:
                obj.events = endpoints.clean_events(obj.events)
            return super().save_model(request, obj, form, change)
        created, secret = endpoints.endpoint_create(
            url=obj.url,
            events=form.cleaned_data["events"],
            description=obj.description,
            include_internal_notes=obj.include_internal_notes,
            by=request.user,
        )
        obj.pk, obj.secret_encrypted = created.pk, created.secret_encrypted
        obj._state.adding = False
        messages.warning(request, f"Signing secret for {created.url} (shown once, store it now): {secret}")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code", "last_error", "created_at"]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "endpoint"]
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(ReadOnly):
    list_display = ["event_id", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["=event_id"]
    show_full_result_count = False
