from django.urls import path

from api import workspace as api_tokens
from tickets.views import accounts, attachments, portal

app_name = "portal"
urlpatterns = [
    path("", portal.ticket_list, name="tickets"),
    path("new/", portal.ticket_new, name="new"),
    path("tickets/<id:pk>/", portal.ticket, name="ticket"),
    path("tickets/<id:pk>/updates/", portal.updates, name="updates"),
    path("tickets/<id:pk>/reply/", portal.reply, name="reply"),
    path("tickets/<id:pk>/human/", portal.human, name="human"),
    path("tickets/<id:pk>/rate/", portal.rate, name="rate"),
    path("attachments/<id:pk>/", attachments.download, name="attachment"),
    path("api-tokens/", api_tokens.portal_token_list, name="api_tokens"),
    path("api-tokens/<id:pk>/revoke/", api_tokens.portal_token_revoke, name="api_token_revoke"),
    path("signup/", accounts.signup, name="signup"),
    path("signup/<str:uidb64>/<str:token>/", accounts.signup_confirm, name="signup_confirm"),
]
