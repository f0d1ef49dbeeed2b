from django.urls import path

from api import workspace as api_tokens
from tickets.views import canned, live, people, staff

app_name = "staff"
urlpatterns = [
    path("", staff.inbox, name="inbox"),
    path("live/", live.inbox_live, name="inbox_live"),
    path("dashboard/", staff.dashboard, name="dashboard"),
    path("tickets/<id:pk>/", staff.ticket, name="ticket"),
    path("tickets/<id:pk>/run-status/", staff.run_status, name="run_status"),
    path("tickets/<id:pk>/live/", live.ticket_live, name="ticket_live"),
    path("tickets/<id:pk>/typing/", live.typing, name="typing"),
    path("tickets/<id:pk>/messages/", staff.messages_older, name="messages_older"),
    path("tickets/<id:pk>/reply/", staff.reply, name="reply"),
    path("tickets/<id:pk>/ask-assistant/", staff.ask_assistant, name="ask_assistant"),
    path("tickets/<id:pk>/update/", staff.update, name="update"),
    path("tickets/<id:pk>/escalate/", staff.escalate, name="escalate"),
    path("tickets/<id:pk>/deescalate/", staff.deescalate, name="deescalate"),
    path("drafts/<id:pk>/approve/", staff.draft_approve, name="draft_approve"),
    path("drafts/<id:pk>/discard/", staff.draft_discard, name="draft_discard"),
    path("messages/<id:pk>/remove/", staff.message_redact, name="message_redact"),
    path("messages/<id:pk>/remove-quoting/", staff.message_redact_quoting, name="message_redact_quoting"),
    path("attachments/<id:pk>/remove/", staff.attachment_redact, name="attachment_redact"),
    path("runs/<id:pk>/retry/", staff.run_retry, name="run_retry"),
    path("runs/<id:pk>/stop/", staff.run_stop, name="run_stop"),
    path("replies/", canned.reply_list, name="canned"),
    path("replies/new/", canned.reply_new, name="canned_new"),
    path("replies/<id:pk>/edit/", canned.reply_edit, name="canned_edit"),
    path("replies/<id:pk>/delete/", canned.reply_delete, name="canned_delete"),
    path("tickets/<id:pk>/replies/", canned.picker, name="canned_picker"),
    path("tickets/<id:pk>/replies/<id:reply_pk>/use/", canned.use, name="canned_use"),
    path("people/", people.people_list, name="people"),
    path("people/<id:pk>/role/", people.person_role, name="person_role"),
    path("people/<id:pk>/active/", people.person_active, name="person_active"),
    path("api-tokens/", api_tokens.token_list, name="api_tokens"),
    path("api-tokens/<id:pk>/revoke/", api_tokens.token_revoke, name="api_token_revoke"),
]
