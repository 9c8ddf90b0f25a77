"""What a run does (docs/api.md, "What a run does"): every per-user outcome, passwords, roles, counters,
staging after the run, the error report, signals and failures. Runs with the inline task
backend on both databases; the suite also runs with a custom email-as-username user model."""

import gc

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from importops.models import ImportedIdentity, ImportFailure, ImportOperation, ImportRecord
from importops.services import running, staging
from importops.signals import users_imported
from tests.conftest import HAS_USERNAME, create_user, user_payload, users_payload

pytestmark = pytest.mark.django_db
User = get_user_model()


def bcrypt_of(password: str) -> str:
    """A Rocket.Chat password hash: bcrypt over the SHA-256 hex digest of the password."""
    import hashlib

    import bcrypt

    return bcrypt.hashpw(hashlib.sha256(password.encode()).hexdigest().encode(), bcrypt.gensalt(4)).decode()


def import_users(api, run_to_end, users):
    api.post("import.new")
    response = api.post("import.addUsers", {"users": users})
    assert response.status_code == 200, response.content
    run_to_end(api)
    return api.get("import.status").json()


def codes_by_import_id():
    return {r.data["importIds"][0]: r.errors[0]["message"] for r in ImportRecord.objects.filter(failed=True)}


def email_of(user):
    return getattr(user, User.get_email_field_name())


def test_users_are_created_with_groups_and_active_flags(api, run_to_end):
    status = import_users(
        api,
        run_to_end,
        [
            user_payload(1, name="Ada Lovelace", roles=["admin"]),
            user_payload(2, deleted=True),
            user_payload(3, type="bot"),
        ],
    )
    assert status["state"] == "done"
    assert status["operation"]["count"]["completed"] == 3
    ada = User._default_manager.get(**{User.get_email_field_name(): "u1@example.com"})
    assert set(ada.groups.values_list("name", flat=True)) == {"admin", "user"}
    assert ada.is_active and not ada.is_staff and not ada.is_superuser
    assert ada.get_full_name() == "Ada Lovelace"
    if HAS_USERNAME:
        assert ada.get_username() == "u1"
    deleted = User._default_manager.get(**{User.get_email_field_name(): "u2@example.com"})
    assert not deleted.is_active
    assert ImportRecord.objects.count() == 0  # created users leave staging


def test_identities_keep_the_extra_fields(api, run_to_end):
    import_users(
        api,
        run_to_end,
        [user_payload(1, bio="hi", utcOffset=2, customFields={"team": "a"}, importIds=["slack-U1", "legacy-9"])],
    )
    identities = ImportedIdentity.objects.order_by("import_id")
    assert [i.import_id for i in identities] == ["legacy-9", "slack-U1"]
    assert identities[0].user_id == identities[1].user_id
    assert identities[0].data["customFields"] == {"team": "a"} and identities[0].data["utcOffset"] == 2
    assert identities[0].importer_key == "api"


def test_passwords(api, run_to_end):
    import_users(
        api,
        run_to_end,
        [
            user_payload(1, password="plain secret"),
            user_payload(2, services={"password": {"bcrypt": bcrypt_of("old rocket password")}}),
            user_payload(3),
        ],
    )
    plain, migrated, none = (
        User._default_manager.get(**{User.get_email_field_name(): f"u{n}@example.com"}) for n in (1, 2, 3)
    )
    assert plain.check_password("plain secret") and not plain.password.startswith("plain")
    assert migrated.password.startswith("bcrypt_sha256$$2b$")
    assert migrated.check_password("old rocket password") and not migrated.check_password("wrong")
    assert not none.has_usable_password()


def test_migrated_user_logs_in_with_the_old_password(api, run_to_end):
    from django.test import Client

    import_users(api, run_to_end, [user_payload(7, services={"password": {"bcrypt": bcrypt_of("rocket pw")}})])
    response = Client().post("/api/v1/login", {"user": "u7@example.com", "password": "rocket pw"})
    assert response.status_code == 200


def test_secrets_are_scrubbed_after_processing(api, run_to_end):
    import_users(
        api,
        run_to_end,
        [user_payload(1, password="pw one"), {**user_payload(2, password="pw two"), "emails": ["not an email"]}],
    )
    failed = ImportRecord.objects.get()
    assert failed.failed and failed.secret is None
    assert "pw two" not in str(failed.data) + str(failed.errors)
    assert "pw two" not in str(list(ImportFailure.objects.values()))


class TestOutcomes:
    """Each code of docs/api.md ("Per-user error codes"), with its field and value."""

    def test_invalid_email(self, api, run_to_end):
        import_users(api, run_to_end, [{**user_payload(1), "emails": ["not an email"]}])
        record = ImportRecord.objects.get()
        assert record.errors == [{"message": "importer-user-invalid-email", "field": "emails", "value": "not an email"}]

    def test_email_in_use_case_insensitively(self, api, run_to_end):
        create_user("taken")  # taken@example.com
        import_users(api, run_to_end, [{**user_payload(1), "emails": ["TAKEN@Example.com"]}])
        assert ImportRecord.objects.get().errors == [
            {"message": "importer-user-email-in-use", "field": "emails", "value": "TAKEN@Example.com"}
        ]

    def test_already_imported(self, api, run_to_end):
        import_users(api, run_to_end, [user_payload(1)])
        import_users(api, run_to_end, [{**user_payload(2), "importIds": ["U-1"]}])
        assert ImportRecord.objects.get().errors == [
            {"message": "importer-user-already-imported", "field": "importIds", "value": "U-1"}
        ]

    def test_duplicates_within_a_batch_first_staged_wins(self, api, run_to_end):
        users = [
            user_payload(1),
            {**user_payload(2), "emails": ["U1@example.com"]},
            {**user_payload(3), "importIds": ["u-1"]},
        ]
        import_users(api, run_to_end, users)
        assert codes_by_import_id() == {"u-2": "importer-user-duplicate", "u-1": "importer-user-duplicate"}
        created = User._default_manager.get(**{User.get_email_field_name(): "u1@example.com"})
        assert ImportedIdentity.objects.get(import_id="u-1").user == created

    def test_duplicates_across_batches(self, api, run_to_end, settings):
        settings.IMPORTOPS = {**settings.IMPORTOPS, "BATCH_SIZE": 2}
        users = [user_payload(n) for n in range(5)] + [
            {**user_payload(9), "emails": ["U0@example.com"]},
            {**user_payload(8), "importIds": ["U-3"]},
        ]
        status = import_users(api, run_to_end, users)
        assert codes_by_import_id() == {"u-9": "importer-user-duplicate", "U-3": "importer-user-duplicate"}
        assert status["operation"]["count"]["completed"] == 5

    def test_invalid_password_hash(self, api, run_to_end):
        import_users(api, run_to_end, [user_payload(1, services={"password": {"bcrypt": "md5:abc"}})])
        assert ImportRecord.objects.get().errors == [
            {
                "message": "importer-user-invalid-password-hash",
                "field": "services.password.bcrypt",
                "value": "[redacted]",
            }
        ]

    def test_missing_email_and_username(self, api, run_to_end):
        # The API refuses users without an email; files may stage them (same staging function).
        operation = ImportOperation.objects.get(pk=api.post("import.new").json()["operation"]["_id"])
        staging.users_stage(operation_id=operation.pk, users=[{"emails": [], "importIds": ["x"]}])
        ImportOperation.objects.filter(pk=operation.pk).update(status="importer_user_selection")
        run_to_end(api)
        assert ImportRecord.objects.get().errors == [
            {"message": "importer-user-missing-email-and-username", "field": None, "value": None}
        ]

    def test_counters_add_up(self, api, run_to_end):
        create_user("taken")
        users = [user_payload(n) for n in range(10)] + [
            {**user_payload(10), "emails": ["taken@example.com"]},
            {**user_payload(11), "emails": ["bad"]},
        ]
        count = import_users(api, run_to_end, users)["operation"]["count"]
        assert (count["total"], count["completed"], count["error"]) == (12, 10, 2)
        assert count["completed"] + count["error"] == count["total"]


@pytest.mark.username_model
class TestUsernames:
    def test_username_in_use_case_insensitively(self, api, run_to_end):
        create_user("Taken")
        import_users(api, run_to_end, [{**user_payload(1), "username": "tAKEN"}])
        assert ImportRecord.objects.get().errors == [
            {"message": "importer-user-username-in-use", "field": "username", "value": "tAKEN"}
        ]

    def test_invalid_username(self, api, run_to_end):
        import_users(api, run_to_end, [{**user_payload(1), "username": "no spaces allowed"}])
        assert ImportRecord.objects.get().errors[0]["message"] == "importer-user-invalid-username"

    def test_username_derived_from_the_email(self, api, run_to_end):
        users = [
            {"emails": ["grace@example.com"], "importIds": ["g1"]},
            {"emails": ["grace@other.example"], "importIds": ["g2"]},
            {"emails": ["o'brien+x@example.com"], "importIds": ["g3"]},
        ]
        import_users(api, run_to_end, users)
        names = sorted(User._default_manager.values_list("username", flat=True))
        assert "grace" in names and "o_brien+x" in names
        second = [n for n in names if n.startswith("grace.")]
        assert len(second) == 1  # the second grace got a suffix rather than a failure

    def test_duplicate_username_within_the_operation(self, api, run_to_end):
        import_users(api, run_to_end, [user_payload(1), {**user_payload(2), "username": "U1"}])
        assert codes_by_import_id() == {"u-2": "importer-user-duplicate"}


@pytest.mark.django_db(transaction=True)  # batches must really commit, one by one
def test_progress_is_recorded_batch_by_batch(api, run_to_end, settings):
    """Counters change with each committed batch: a recorded history, not timing."""
    settings.IMPORTOPS = {**settings.IMPORTOPS, "BATCH_SIZE": 3, "PARALLELISM": 1}
    history = []

    def record(sender, operation, users, **kwargs):
        history.append(operation.progress())

    users_imported.connect(record)
    try:
        import_users(api, run_to_end, [user_payload(n) for n in range(10)] + [{**user_payload(99), "emails": ["x"]}])
    finally:
        users_imported.disconnect(record)
    completed = [c for c, _ in history]
    assert completed == sorted(completed) and len(history) >= 4
    assert completed[-1] == 10 and completed[0] < 10


def test_time_budget_cuts_batches_when_hashing(api, run_to_end, settings):
    """With no time to spare, each batch carries one hashed user: counters move every user."""
    settings.IMPORTOPS = {**settings.IMPORTOPS, "BATCH_TIME_BUDGET": 0.0, "PARALLELISM": 1}
    sizes = []

    def record(sender, operation, users, **kwargs):
        sizes.append(len(users))

    users_imported.connect(record)
    try:
        status = import_users(api, run_to_end, [user_payload(n, password=f"pw{n}") for n in range(6)])
    finally:
        users_imported.disconnect(record)
    assert sizes == [1] * 6
    assert status["operation"]["count"]["completed"] == 6


def test_users_imported_signal_carries_the_created_users(api, run_to_end):
    received = []

    def record(sender, operation, users, **kwargs):
        received.append((sender, operation.pk, [email_of(u) for u in users]))

    users_imported.connect(record)
    try:
        import_users(api, run_to_end, [user_payload(1), user_payload(2)])
    finally:
        users_imported.disconnect(record)
    assert received and received[0][0] is ImportOperation
    assert sorted(e for _, _, emails in received for e in emails) == ["u1@example.com", "u2@example.com"]


def test_error_report_outlives_staging(api, run_to_end):
    import_users(api, run_to_end, [user_payload(1), {**user_payload(2), "emails": ["bad"]}])
    first = ImportOperation.objects.get(valid=True)
    api.post("import.new")
    assert ImportRecord.objects.count() == 0
    report = list(ImportFailure.objects.filter(operation=first).values("import_id", "code", "field", "value"))
    assert report == [{"import_id": "u-2", "code": "importer-user-invalid-email", "field": "emails", "value": "bad"}]


class ExplodingAdapter:
    """A user adapter (the documented extension point) whose save fails unexpectedly."""

    def __new__(cls):
        from importops.users import UserAdapter

        class Exploding(UserAdapter):
            def create(self, users):
                raise RuntimeError("disk full")

        return Exploding()


def test_unexpected_exception_fails_the_run_with_reason_and_traceback(api, run_to_end, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "USER_ADAPTER": "tests.test_engine.ExplodingAdapter"}
    status = import_users(api, run_to_end, users_payload(3)["users"])
    assert status["state"] == "error"
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_import_failed"
    assert operation.failure_reason == "RuntimeError: disk full"
    assert "Traceback" in operation.failure_traceback and "disk full" in operation.failure_traceback
    assert status["operation"]["failureReason"] == "RuntimeError: disk full"
    assert User._default_manager.filter(**{f"{User.get_email_field_name()}__startswith": "u"}).count() == 0


@pytest.mark.django_db(transaction=True)
def test_abort_between_batches_stops_the_run(api, run_to_end, settings, admin):
    from importops.services import operations

    settings.IMPORTOPS = {**settings.IMPORTOPS, "BATCH_SIZE": 2, "PARALLELISM": 1}

    def abort(sender, operation, users, **kwargs):
        operations.operation_abort(operation=operation, user=admin)

    users_imported.connect(abort)
    try:
        status = import_users(api, run_to_end, [user_payload(n) for n in range(10)])
    finally:
        users_imported.disconnect(abort)
    assert status["state"] == "canceled" and status["operation"]["valid"] is True
    created = User._default_manager.filter(**{f"{User.get_email_field_name()}__endswith": "@example.com"}).exclude(
        pk=admin.pk
    )
    assert created.count() == status["operation"]["count"]["completed"] < 10


def test_preview_reports_without_writing(api):
    create_user("taken")
    api.post("import.new")
    api.post(
        "import.addUsers",
        {
            "users": [
                user_payload(1),
                {**user_payload(2), "emails": ["taken@example.com"]},
                {**user_payload(3), "emails": ["bad"]},
                {**user_payload(4), "importIds": ["U-1"]},
            ]
        },
    )
    before = (User._default_manager.count(), ImportRecord.objects.count(), list(ImportRecord.objects.values("errors")))
    response = api.post("import.preview")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "wouldCreate": 1,
        "wouldUpdate": 0,
        "wouldSkip": 0,
        "unchanged": 0,
        "updates": [],
        "wouldFail": {"importer-user-email-in-use": 1, "importer-user-invalid-email": 1, "importer-user-duplicate": 1},
        "samples": [
            {"importId": "u-2", "email": "taken@example.com", "code": "importer-user-email-in-use"},
            {"importId": "u-3", "email": "bad", "code": "importer-user-invalid-email"},
            {"importId": "U-1", "email": "u4@example.com", "code": "importer-user-duplicate"},
        ],
    }
    assert (
        User._default_manager.count(),
        ImportRecord.objects.count(),
        list(ImportRecord.objects.values("errors")),
    ) == before


def test_preview_without_an_operation(api):
    assert api.post("import.preview").json() == {"success": False, "error": "Import operation not initialized."}


def test_default_groups_are_created_when_missing(api, run_to_end):
    Group.objects.filter(name="user").delete()
    import_users(api, run_to_end, [user_payload(1)])
    assert Group.objects.get(name="user").user_set.count() == 1 if hasattr(Group, "user_set") else True


def simulate_sizes(cost, batches=12):
    """The batch sizes a lane picks when a batch of n users takes ``cost(n)`` seconds."""
    size, before, sizes = running.FIRST_BATCH_SIZE, None, []
    for _ in range(batches):
        seconds = cost(size)
        size, before = running._next_size(size, size, seconds, before), (size, seconds)
        sizes.append(size)
    return sizes


def test_batches_grow_past_a_cost_paid_per_batch(settings):
    """A lookup that scans a large user table costs as much for 16 users as for 5,000:
    batches grow to BATCH_SIZE, spreading it, rather than shrink to one user per scan."""
    settings.IMPORTOPS = {**settings.IMPORTOPS, "BATCH_SIZE": 5000, "BATCH_TIME_BUDGET": 2.0}
    sizes = simulate_sizes(lambda n: 2.5 + 0.0001 * n)
    assert sizes[-1] == 5000, sizes


def test_batches_fit_the_time_budget_when_the_cost_is_per_user(settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "BATCH_SIZE": 5000, "BATCH_TIME_BUDGET": 2.0}
    sizes = simulate_sizes(lambda n: 0.001 + 0.01 * n)
    assert 190 <= sizes[-1] <= 200, sizes


def test_batches_run_with_the_cyclic_collector_paused(api, run_to_end, monkeypatch):
    """Every batch runs with gc off; the collector is on again once the run ends."""
    seen = []
    real = running.batches.batch_step

    def step(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(running.batches, "batch_step", step)
    assert gc.isenabled()
    import_users(api, run_to_end, [user_payload(n) for n in range(3)])
    assert seen and not any(seen)
    assert gc.isenabled()


def test_the_collector_comes_back_only_when_no_batch_runs_and_only_if_it_was_on():
    assert gc.isenabled()
    with running.collector_paused():
        with running.collector_paused():  # another thread's batch
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with running.collector_paused():
            pass
        assert not gc.isenabled()  # the host turned it off: left off
    finally:
        gc.enable()


def test_a_batch_that_hashes_nothing_reads_its_staged_users_once(api, django_capture_on_commit_callbacks):
    """The claim reads the staged users themselves: the batch imports them without reading
    them again by id."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from importops.models import ImportLane

    api.post("import.new")
    api.post("import.addUsers", users_payload(5))
    with django_capture_on_commit_callbacks(execute=False):  # the batch runs below, in this process
        api.post("import.run")
    lane = ImportLane.objects.filter(operation__valid=True).order_by("number").first()
    ImportLane.objects.filter(pk=lane.pk).update(holder="me")
    users_before = User._default_manager.count()
    with CaptureQueriesContext(connection) as queries:
        assert running.batches.batch_step(lane, "me", 16, running.adapter()) == 5
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "importops_importrecord" in q["sql"]]
    staged_reads = [sql for sql in reads if '"importops_importrecord"."data"' in sql]
    assert len(staged_reads) == 1, reads
    assert "LIMIT" in staged_reads[0], staged_reads  # the claim, not a read of its ids
    assert User._default_manager.count() == users_before + 5


def test_the_log_names_the_process_and_machine_that_took_a_lane(api, run_to_end, caplog):
    """So an operator can tell which lanes a worker that died held."""
    import os
    import socket

    with caplog.at_level("INFO", logger="importops"):
        import_users(api, run_to_end, [user_payload(1)])
    taken = [r.getMessage() for r in caplog.records if r.getMessage().startswith("took lane")]
    assert taken and all(f"(process {os.getpid()} on {socket.gethostname()})" in line for line in taken), taken
