"""The demo URLs plus a second admin site, "ops", holding the importops admin."""

from django.contrib import admin
from django.urls import path

from importops.admin.operations import ImportOperationAdmin
from importops.admin.records import ImportRecordAdmin
from importops.models import ImportOperation, ImportRecord
from rcimport.urls import urlpatterns as demo_urlpatterns

ops_site = admin.AdminSite(name="ops")
ops_site.register(ImportOperation, ImportOperationAdmin)
ops_site.register(ImportRecord, ImportRecordAdmin)

urlpatterns = [path("ops/", ops_site.urls), *demo_urlpatterns]
