from django.urls import path

from mail import views

app_name = "mail"
urlpatterns = [
    path("link/<str:token>/", views.sign_in, name="sign_in"),
    path("password/", views.password, name="password"),
    path("preferences/", views.preferences, name="preferences"),
    path("original/<int:message_pk>/", views.original, name="original"),
    path("original/<int:message_pk>/raw/", views.original_raw, name="original_raw"),
]
