"""importops' endpoints, each under ``api/v1/`` as Rocket.Chat clients expect (and the health
checks for load balancers under ``importops/health/``). Mount them at
the root (``path("", include("importops.urls"))``) or under any prefix
(``path("chat/", include("importops.urls"))``). Only these paths are importops': an unknown
path under ``api/v1/`` is left to the host's URLconf. ``importops.owned_urls`` adds a JSON
404 for every other ``api/v1/`` path, for a mount where importops owns all of ``api/v1/``."""

from __future__ import annotations

from django.urls import path

from importops.api.schema_views import DocsView, SchemaView
from importops.api.views import auth, files, health, imports

app_name = "importops"

urlpatterns = [
    path("api/v1/login", auth.LoginView.as_view(), name="login"),
    path("api/v1/logout", auth.LogoutView.as_view(), name="logout"),
    path("api/v1/me", auth.MeView.as_view(), name="me"),
    path("api/v1/import.new", imports.NewView.as_view(), name="import-new"),
    path("api/v1/import.status", imports.StatusView.as_view(), name="import-status"),
    path("api/v1/import.addUsers", imports.AddUsersView.as_view(), name="import-add-users"),
    path("api/v1/import.preview", imports.PreviewView.as_view(), name="import-preview"),
    path("api/v1/import.run", imports.RunView.as_view(), name="import-run"),
    path("api/v1/import.clear", imports.ClearView.as_view(), name="import-clear"),
    path("api/v1/import.undo", imports.UndoView.as_view(), name="import-undo"),
    path("api/v1/getCurrentImportOperation", imports.CurrentOperationView.as_view(), name="current-operation"),
    path("api/v1/getLatestImportOperations", imports.LatestOperationsView.as_view(), name="latest-operations"),
    path("api/v1/importers.list", imports.ImportersListView.as_view(), name="importers-list"),
    path("api/v1/uploadImportFile", files.UploadImportFileView.as_view(), name="upload-import-file"),
    path(
        "api/v1/downloadPublicImportFile",
        files.DownloadPublicImportFileView.as_view(),
        name="download-public-import-file",
    ),
    path("api/v1/getImportFileData", files.GetImportFileDataView.as_view(), name="import-file-data"),
    path("api/v1/startImport", files.StartImportView.as_view(), name="start-import"),
    path("api/v1/getImportProgress", files.GetImportProgressView.as_view(), name="import-progress"),
    path("importops/health/live", health.live, name="health-live"),
    path("importops/health/ready", health.ready, name="health-ready"),
    path("api/v1/schema", SchemaView.as_view(), name="schema"),
    path("api/v1/docs", DocsView.as_view(), name="docs"),
]
