"""System checks: importops.E001 (no worker), W001 (bcrypt hasher missing); E002 is in test_download."""

from importops.checks import check_bcrypt_hasher, check_task_backend


def test_inline_task_backends_are_refused_outside_tests(settings):
    # tests/settings.py silences E001 for the suite; the check itself still speaks.
    errors = check_task_backend()
    assert [e.id for e in errors] == ["importops.E001"]
    assert "ImmediateBackend" in errors[0].msg
    settings.IMPORTOPS = {**settings.IMPORTOPS, "TASK_BACKEND": "worker"}
    assert check_task_backend() == []


def test_bcrypt_hasher_missing(settings):
    assert check_bcrypt_hasher() == []
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert [w.id for w in check_bcrypt_hasher()] == ["importops.W001"]
