from django.urls import path

from assistants import webhooks

app_name = "assistants"
urlpatterns = [
    path("openai/", webhooks.openai_webhook, name="openai_webhook"),
]
