from django.urls import path

from tickets.views import accounts, attachments, portal

app_name = "portal"
urlpatterns = [
    path("", portal.ticket_list, name="tickets"),
    path("new/", portal.ticket_new, name="new"),
    path("tickets/<int:pk>/", portal.ticket, name="ticket"),
    path("tickets/<int:pk>/updates/", portal.updates, name="updates"),
    path("tickets/<int:pk>/reply/", portal.reply, name="reply"),
    path("tickets/<int:pk>/human/", portal.human, name="human"),
    path("tickets/<int:pk>/rate/", portal.rate, name="rate"),
    path("attachments/<int:pk>/", attachments.download, name="attachment"),
    path("signup/", accounts.signup, name="signup"),
]
