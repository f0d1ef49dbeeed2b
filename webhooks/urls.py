from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="endpoints"),
    path("new/", views.endpoint_create, name="create"),
    path("<id:pk>/toggle/", views.endpoint_toggle, name="toggle"),
]
