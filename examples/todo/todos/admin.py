"""Admin site registrations for the todos app."""

from django.contrib import admin

from todos.models import Todo, TodoList


class TodoInline(admin.TabularInline):
    model = Todo
    fields = ["title", "done", "attachment"]
    extra = 0


@admin.register(TodoList)
class TodoListAdmin(admin.ModelAdmin):
    list_display = ["name", "created"]
    search_fields = ["name"]
    inlines = [TodoInline]


@admin.register(Todo)
class TodoAdmin(admin.ModelAdmin):
    list_display = ["title", "done", "list", "created"]
    list_filter = ["done", "list"]
    search_fields = ["title"]
    list_editable = ["done"]
    date_hierarchy = "created"
