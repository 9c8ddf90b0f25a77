from django.urls import path

from hostapi import views

app_name = "hostapi"

urlpatterns = [
    path("users", views.Users.as_view()),
    path("version", views.Version.as_view()),
    path("echo", views.Echo.as_view()),
]
