"""Root URLconf: each app brings its own URLconf through include().

/               todos (list, create, edit, toggle, lists, media)
/about/, /healthz   pages
/admin/         Django admin
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("todos.urls")),
    path("", include("pages.urls")),
    path("admin/", admin.site.urls),
]
