from django.contrib import admin
from django.urls import include, path

from config.health import healthz
from tickets.views import home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("tickets.urls_staff")),
    path("portal/", include("tickets.urls_portal")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("webhooks/", include("assistants.urls")),
    path("mail/", include("mail.urls")),
]
