"""Views of the todos app: class-based list/create/update views, a function
view that toggles a to-do, and the view that serves uploaded media."""

import mimetypes
import posixpath

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST, require_safe
from django.views.generic import CreateView, ListView, UpdateView

from todos.forms import TodoEditForm, TodoForm, TodoListForm
from todos.models import Todo, TodoList

# Media types shown inline by the media view; everything else is sent as a
# download so an uploaded HTML or SVG file cannot run script on our origin.
INLINE_MEDIA_TYPES = {
    "text/plain",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
}


class TodoListView(ListView):
    """The home page: open to-dos (``Todo.objects.filter(done=False)``), the
    most recent finished ones, and the lists. ``?list=<id>`` narrows to a list."""

    model = Todo
    context_object_name = "open_todos"
    template_name = "todos/todo_list.html"

    def get_queryset(self):
        todos = Todo.objects.filter(done=False).select_related("list")
        self.current_list = None
        list_id = self.request.GET.get("list", "")
        if list_id.isdigit():
            self.current_list = get_object_or_404(TodoList, pk=int(list_id))
            todos = todos.filter(list=self.current_list)
        return todos

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        finished = Todo.objects.finished().select_related("list")
        if self.current_list is not None:
            finished = finished.filter(list=self.current_list)
        context["done_todos"] = finished[:20]
        context["done_count"] = finished.count()
        context["lists"] = TodoList.objects.all()
        context["current_list"] = self.current_list
        return context


class TodoCreateView(CreateView):
    """``/todos/new/``: the create form (GET) and its multipart POST."""

    model = Todo
    form_class = TodoForm
    success_url = reverse_lazy("todos:list")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Added “{self.object.title}”.")
        return response


class TodoUpdateView(UpdateView):
    """``/todos/<pk>/edit/``: edit title, done, list and attachment."""

    model = Todo
    form_class = TodoEditForm
    success_url = reverse_lazy("todos:list")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Saved “{self.object.title}”.")
        return response


class TodoListCreateView(CreateView):
    """``/lists/new/``: create a TodoList."""

    model = TodoList
    form_class = TodoListForm
    success_url = reverse_lazy("todos:list")


@require_POST
def toggle(request, pk):
    """Flip a to-do between open and done, then go back to the list."""
    todo = get_object_or_404(Todo, pk=pk)
    todo.done = not todo.done
    todo.save(update_fields=["done"])
    return redirect("todos:list")


@require_safe
def media(request, path):
    """Serve an uploaded file from the default storage.

    Works with DEBUG off and under gunicorn (django.conf.urls.static only
    serves media in DEBUG). Unknown names are 404; names escaping MEDIA_ROOT
    are refused by the storage (SuspiciousFileOperation, a 400). Responses
    carry ``Content-Security-Policy: sandbox``, and only INLINE_MEDIA_TYPES
    are shown inline.
    """
    name = posixpath.normpath(path).lstrip("/")
    if name in ("", ".") or name.startswith(".."):
        raise Http404("no such file")
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise Http404("no such file") from None
    content_type, encoding = mimetypes.guess_type(name)
    content_type = content_type or "application/octet-stream"
    if encoding:
        # e.g. notes.txt.gz: never let the browser transparently decode it.
        content_type = "application/octet-stream"
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=content_type not in INLINE_MEDIA_TYPES,
        filename=posixpath.basename(name),
    )
    response["Content-Security-Policy"] = "sandbox"
    return response
