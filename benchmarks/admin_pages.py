#!/usr/bin/env python
"""Admin pages with 1,000,000 staged records (goal: each under one second).

    .venv/bin/python benchmarks/admin_pages.py [--records 1000000]

Stages the records into one operation (and a share of them failed, so the error
breakdown has content), then times, through Django's test client as a superuser, each
page a few times and prints the slowest: the staged-records list (plain, searched by
email, username and importId, filtered by "has errors" and data type, a later page) and
the operation's detail page, plus its progress JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"

from benchmarks.run import fresh_database, prepare_template, users  # noqa: E402

REPEAT = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    import subprocess

    subprocess.run([str(ROOT / "scripts/pg.sh"), "start"], check=True, capture_output=True)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from importops.models import ImportFailure, ImportOperation, ImportRecord
    from importops.services import operations, staging

    prepare_template()
    fresh_database()
    operation = operations.operation_create(user=None, importer_key="api", importer_name="api")
    started = time.perf_counter()
    staging.users_stage(operation_id=operation.pk, users=users(args.records))
    print(f"staged {args.records:,} records in {time.perf_counter() - started:.0f} s", flush=True)
    failed = list(ImportRecord.objects.filter(operation=operation).order_by("id").values_list("id", "email")[:20000])
    ImportRecord.objects.filter(id__in=[pk for pk, _ in failed]).update(
        failed=True, errors=[{"message": "importer-user-email-in-use", "field": "emails", "value": "x"}]
    )
    ImportFailure.objects.bulk_create(
        [
            ImportFailure(
                operation=operation, email=email, code="importer-user-email-in-use", field="emails", value=email
            )
            for _, email in failed
        ]
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    admin = User.objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(admin)
    records = reverse("admin:importops_importrecord_changelist") + f"?operation__id__exact={operation.pk}"
    pages = {
        "staged records": records,
        "  search by email": records + "&q=user777777@example.com",
        "  search by username": records + "&q=USER123456",
        "  search by importId": records + "&q=bench-999",
        "  has errors": records + "&failed=yes",
        "  no errors, users": records + "&failed=no&data_type__exact=user",
        "  page 150": records + "&p=150",
        "operation detail": reverse("admin:importops_importoperation_change", args=[operation.pk]),
        "  progress JSON": reverse("admin:importops_importoperation_progress", args=[operation.pk]),
        "operations list": reverse("admin:importops_importoperation_changelist"),
    }
    print(f"{args.records:,} staged records in one operation (goal: each page < 1 s); slowest of {REPEAT}:")
    for label, url in pages.items():
        timings = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        print(f"  {label:<24} {max(timings) * 1000:7.0f} ms", flush=True)
    assert ImportOperation.objects.count() == 1


if __name__ == "__main__":
    main()
