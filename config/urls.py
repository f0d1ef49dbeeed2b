from django.contrib import admin
from django.urls import include, path, register_converter

from config import parsing
from config.health import healthz
from tickets.views import accounts, home

register_converter(parsing.IdConverter, "id")  # before the includes below read their patterns

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/webhooks/", include("webhooks.urls")),
    path("staff/", include("tickets.urls_staff")),
    path("portal/", include("tickets.urls_portal")),
    path("help/", include("tickets.urls_help")),
    path("accounts/password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("webhooks/", include("assistants.urls")),
    path("mail/", include("mail.urls")),
    path("api/v1/", include("api.urls")),
]
