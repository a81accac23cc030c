"""Models of the todos app: TodoList and Todo."""

from django.db import models
from django.urls import reverse


class TodoList(models.Model):
    """A named group of to-dos, e.g. "Groceries"."""

    name = models.CharField(max_length=100, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TodoQuerySet(models.QuerySet):
    """Query helpers: Todo.objects.open() and Todo.objects.finished()."""

    def open(self):
        return self.filter(done=False)

    def finished(self):
        return self.filter(done=True)


class Todo(models.Model):
    """One thing to do, optionally in a list and with an attached file."""

    title = models.CharField(max_length=200)
    done = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    # FileField, not ImageField: ImageField needs Pillow, which we keep out.
    attachment = models.FileField(upload_to="attachments/", blank=True)
    list = models.ForeignKey(
        TodoList,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="todos",
    )

    objects = TodoQuerySet.as_manager()

    class Meta:
        ordering = ["done", "-created", "-id"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("todos:edit", args=[self.pk])
