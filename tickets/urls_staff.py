from django.urls import path

from tickets.views import staff

app_name = "staff"
urlpatterns = [
    path("", staff.inbox, name="inbox"),
    path("tickets/<int:pk>/", staff.ticket, name="ticket"),
]
