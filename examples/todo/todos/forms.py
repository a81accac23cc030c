"""ModelForms of the todos app."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from todos.models import Todo, TodoList


class TodoForm(forms.ModelForm):
    """Create a to-do: fields ``title``, ``list`` (optional) and ``attachment``
    (optional file, sent as multipart/form-data)."""

    class Meta:
        model = Todo
        fields = ["title", "list", "attachment"]
        widgets = {"title": forms.TextInput(attrs={"autofocus": True})}

    def clean_attachment(self):
        """Refuse attachments above settings.TODO_MAX_ATTACHMENT_BYTES."""
        attachment = self.cleaned_data.get("attachment")
        limit = settings.TODO_MAX_ATTACHMENT_BYTES
        # Only a new upload has a size worth checking; an unchanged file on
        # edit is the stored FieldFile.
        if attachment and hasattr(attachment, "content_type") and attachment.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(attachment.size)}; "
                f"the limit is {filesizeformat(limit)}."
            )
        return attachment


class TodoEditForm(TodoForm):
    """Edit a to-do: the create fields plus ``done``."""

    class Meta(TodoForm.Meta):
        fields = ["title", "done", "list", "attachment"]


class TodoListForm(forms.ModelForm):
    """Create a list: field ``name``."""

    class Meta:
        model = TodoList
        fields = ["name"]
