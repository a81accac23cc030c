from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("whoami", views.whoami),
    path("health", views.health),
]
