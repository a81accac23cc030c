from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.urls import path


def users(request):
    return HttpResponse(f"users {User.objects.count()}")


urlpatterns = [path("admin/", admin.site.urls), path("users", users)]
