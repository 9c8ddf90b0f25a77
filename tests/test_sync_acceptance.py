"""The issue's acceptance scenario, as a new user would try it: import 1,000 users; edit 50
names, deactivate 10, add 100; re-import with update (the preview says so first); the same
with skip; the superuser is protected; undo the second import."""

import pytest
from django.utils import timezone

from importops.models import ImportChange, ImportedIdentity, ImportFailure
from tests.conftest import HAS_USERNAME
from tests.sync import EMAIL, User, by_email, counts, full_name, import_users, preview, run, stage

pytestmark = pytest.mark.django_db


def source(count=1000, *, renamed=range(0), deactivated=range(0), extra=0):
    users = []
    for n in range(count + extra):
        user = {"emails": [f"m{n}@example.com"], "importIds": [f"m-{n}"], "name": f"Member {n}"}
        if HAS_USERNAME:
            user["username"] = f"m{n}"
        if n in renamed:
            user["name"] = f"Renamed {n}"
        if n in deactivated:
            user["deleted"] = True
        users.append(user)
    return users


EDITED = {"renamed": range(0, 50), "deactivated": range(50, 60), "extra": 100}


def test_acceptance(api, admin, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first = import_users(api, capture, source())
    assert counts(first)["created"] == 1000

    # Update: the preview says exactly what the run then does.
    stage(api, source(**EDITED))
    said = preview(api, existingUsers="update")
    assert (said["wouldCreate"], said["wouldUpdate"], said["unchanged"], said["wouldFail"]) == (100, 60, 940, {})
    assert said["updates"][0]["changes"] in (
        {"first_name": {"old": "Member", "new": "Renamed"}},
        {"full_name": {"old": "Member 0", "new": "Renamed 0"}},
    )
    second = run(api, capture, existingUsers="update")
    assert counts(second) == {"created": 100, "error": 0, "updated": 60, "skipped": 0, "unchanged": 940}
    changes = {
        c.import_id: c.changes for c in ImportChange.objects.filter(operation_id=second["_id"], action="updated")
    }
    assert len(changes) == 60
    assert changes["m-55"] == {"is_active": {"old": True, "new": False}}
    assert "Renamed 7" in full_name(by_email("m7@example.com")) or full_name(by_email("m7@example.com")) == "Renamed 7"
    assert not by_email("m55@example.com").is_active

    # Skip: 100 new ones are created, the 900 known ones skipped, their importIds linked.
    stage(
        api,
        [{**u, "importIds": [*u["importIds"], f"other-{n}"], "name": "Ignored"} for n, u in enumerate(source(900))]
        + [{"emails": [f"s{n}@example.com"], "importIds": [f"s-{n}"]} for n in range(100)],
    )
    said = preview(api, existingUsers="skip")
    assert (said["wouldCreate"], said["wouldSkip"], said["wouldUpdate"]) == (100, 900, 0)
    third = run(api, capture, existingUsers="skip")
    assert counts(third) == {"created": 100, "error": 0, "updated": 0, "skipped": 900, "unchanged": 0}
    assert full_name(by_email("m80@example.com")) == "Member 80"
    assert ImportedIdentity.objects.get(import_id="other-80").user == by_email("m80@example.com")

    # The superuser, named by email or by username, is protected.
    targets = [{"emails": ["root@example.com"], "importIds": ["root-1"], "name": "Mallory"}]
    if HAS_USERNAME:
        targets.append({"emails": ["mallory@example.com"], "importIds": ["root-2"], "username": "root"})
    for target in targets:
        stage(api, [target])
        fourth = run(api, capture, existingUsers="update")
        assert ImportFailure.objects.get(operation_id=fourth["_id"]).code == "importer-user-protected"
    admin.refresh_from_db()
    assert admin.is_superuser and full_name(admin) == "" and getattr(admin, EMAIL) == "root@example.com"

    # Undo the second import: its 100 users go (but one who logged in meanwhile), its 60
    # updates are reverted, the first import's users are untouched.
    User._default_manager.filter(**{EMAIL: "m1050@example.com"}).update(last_login=timezone.now())
    with capture(execute=True):
        assert api.post("import.undo", {"operationId": second["_id"]}).status_code == 200
    remaining = set(User._default_manager.filter(**{f"{EMAIL}__startswith": "m"}).values_list(EMAIL, flat=True))
    assert remaining == {f"m{n}@example.com" for n in range(1000)} | {"m1050@example.com"}
    assert full_name(by_email("m7@example.com")) == "Member 7" and by_email("m55@example.com").is_active
    assert ImportChange.objects.get(operation_id=second["_id"], import_id="m-1050").undo == "kept-logged-in"
    undo = api.get("getLatestImportOperations").json()
    undone = next(op for op in undo if op["_id"] == second["_id"])
    assert undone["status"] == "importer_undone"
    assert {k: undone["undo"][k] for k in ("deleted", "reverted", "kept")} == {"deleted": 99, "reverted": 60, "kept": 1}
    assert ImportedIdentity.objects.filter(operation_id=first["_id"]).count() == 1000
