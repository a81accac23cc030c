"""The todos app: to-do lists and items with attachments, their views, forms and admin."""
