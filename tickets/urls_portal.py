from django.urls import path

from tickets.views import portal

app_name = "portal"
urlpatterns = [
    path("", portal.ticket_list, name="tickets"),
    path("tickets/<int:pk>/", portal.ticket, name="ticket"),
]
