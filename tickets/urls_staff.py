from django.urls import path

from tickets.views import live, staff

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
    path("runs/<id:pk>/retry/", staff.run_retry, name="run_retry"),
    path("runs/<id:pk>/stop/", staff.run_stop, name="run_stop"),
]
