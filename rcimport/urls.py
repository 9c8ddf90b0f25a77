from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from rcimport import views

handler400 = views.bad_request

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="index"),
    path("readme/", views.readme, name="readme"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    # Password reset pages: the links of importops' invitations land here.
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("importops.owned_urls")),  # the demo owns all of /api/v1/
]
