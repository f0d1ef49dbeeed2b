from django.urls import path

from api.docs import docs
from api.views import api

urlpatterns = [
    path("docs", docs, name="api_docs"),
    path("", api.urls),
]
