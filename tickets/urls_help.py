from django.urls import path

from tickets.views import helpcenter

app_name = "help"
urlpatterns = [
    path("", helpcenter.index, name="index"),
    path("search/", helpcenter.search, name="search"),
    path("suggest/", helpcenter.suggest, name="suggest"),
    path("deflect/", helpcenter.deflect, name="deflect"),
    path("<slug:slug>/", helpcenter.article, name="article"),
]
