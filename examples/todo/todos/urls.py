"""URLconf of the todos app (included at the site root)."""

from django.conf import settings
from django.urls import path

from todos import views

app_name = "todos"

urlpatterns = [
    path("", views.TodoListView.as_view(), name="list"),
    path("todos/new/", views.TodoCreateView.as_view(), name="create"),
    path("todos/<int:pk>/edit/", views.TodoUpdateView.as_view(), name="edit"),
    path("todos/<int:pk>/toggle/", views.toggle, name="toggle"),
    path("lists/new/", views.TodoListCreateView.as_view(), name="list-create"),
    # Uploaded files, also when DEBUG is off (see views.media).
    path(settings.MEDIA_URL.lstrip("/") + "<path:path>", views.media, name="media"),
]
