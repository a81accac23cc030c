"""URLconf of the pages app (included at the site root)."""

from django.urls import path

from pages import views

app_name = "pages"

urlpatterns = [
    path("about/", views.about, name="about"),
    path("healthz", views.healthz, name="healthz"),
]
