from django.urls import path

from tickets.views import staff

app_name = "staff"
urlpatterns = [
    path("", staff.inbox, name="inbox"),
    path("dashboard/", staff.dashboard, name="dashboard"),
    path("tickets/<int:pk>/", staff.ticket, name="ticket"),
    path("tickets/<int:pk>/run-status/", staff.run_status, name="run_status"),
    path("tickets/<int:pk>/messages/", staff.messages_older, name="messages_older"),
    path("tickets/<int:pk>/reply/", staff.reply, name="reply"),
    path("tickets/<int:pk>/ask-assistant/", staff.ask_assistant, name="ask_assistant"),
    path("tickets/<int:pk>/update/", staff.update, name="update"),
    path("tickets/<int:pk>/escalate/", staff.escalate, name="escalate"),
    path("tickets/<int:pk>/deescalate/", staff.deescalate, name="deescalate"),
    path("drafts/<int:pk>/approve/", staff.draft_approve, name="draft_approve"),
    path("drafts/<int:pk>/discard/", staff.draft_discard, name="draft_discard"),
    path("runs/<int:pk>/retry/", staff.run_retry, name="run_retry"),
    path("runs/<int:pk>/stop/", staff.run_stop, name="run_stop"),
]
