from django.contrib import admin
from django.urls import path
from hostpages import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/ping", views.ping),
    path("api/v1/status", views.status),
]
