"""The packaging leg: build the sdist and the wheel, check them, then install the built wheel
into host projects generated with ``django-admin startproject`` and use it as a new user would.

    python tests/hostprojects/run.py --python-a PYTHON3.12+ --python-b PYTHON3.11 --pg HOST:PORT

Host a (``drf61/``): Django 6.1 + SQLite, a custom ``AbstractUser`` with an extra field, and a
DRF API of its own under ``/api/v1/`` with its own authentication, permission, exception
handler, namespace versioning, pagination, throttling, parsers and renderer settings;
importops at the root. Host b (``pg52/``): Django 5.2 LTS on Python 3.11 + PostgreSQL (a
database of its own), a user model whose ``USERNAME_FIELD`` is the email with no username;
importops under ``chat/``.

For each: record the host's own answers, install the wheel, append the README's settings and
URL blocks as they are, migrate, check, start gunicorn and ``importops_worker``, run an import
(login, import.new, addUsers with Rocket.Chat bcrypt hashes, import.run, done), check the users,
log in with an old password, render the admin pages, compare the host's answers with the
recorded ones, then uninstall by the README's steps and check the host is as it was.
Exits non-zero on the first failure, with the logs of the processes it started.
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import bcrypt

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
USERS = 300
ADMIN_PASSWORD = "host-admin-password-1"  # noqa: S105


class Failed(Exception):
    pass


def check(condition: Any, message: str) -> None:
    if not condition:
        raise Failed(message)


def step(message: str) -> None:
    print(f"-- {message}", flush=True)


def run(args: list[Any], *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise Failed(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def readme_block(name: str) -> str:
    """A code block of the README, marked ``<!-- hostproject:NAME -->``: hosts get it verbatim."""
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- hostproject:{re.escape(name)} -->\n```\w*\n(.*?)```", text, re.DOTALL)
    check(match, f"README has no block marked hostproject:{name}")
    assert match is not None
    return match.group(1)


def version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"', (ROOT / "importops" / "__init__.py").read_text(), re.MULTILINE)
    check(match, "importops/__init__.py has no __version__")
    assert match is not None
    return match.group(1)


# -- the distributions ------------------------------------------------------------------------

APP_FILES = [
    "importops/__init__.py",
    "importops/py.typed",
    "importops/urls.py",
    "importops/owned_urls.py",
    "importops/migrations/0001_initial.py",
    "importops/templates/admin/importops/importoperation/change_form.html",
    "importops/templates/importops/invitation_email.txt",
    "importops/static/importops/admin.css",
    "importops/static/importops/progress.js",
]
SDIST_TOP = {"importops", "django_importops.egg-info", "CHANGELOG.md", "LICENSE", "MANIFEST.in", "PKG-INFO"}
SDIST_TOP |= {"README.md", "pyproject.toml", "setup.cfg"}


def build_and_check(out: Path) -> Path:
    step("build the sdist and the wheel (the wheel is built from the sdist)")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT], timeout=300)
    wheel, sdist = out / f"django_importops-{version()}-py3-none-any.whl", out / f"django_importops-{version()}.tar.gz"
    check(wheel.exists() and sdist.exists(), f"expected {wheel.name} and {sdist.name} in {sorted(os.listdir(out))}")
    step("twine check --strict")
    run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist])

    step("contents: the app with its templates and static files, nothing of the demo, tests or benchmarks")
    wheel_names = set(zipfile.ZipFile(wheel).namelist())
    prefix = f"django_importops-{version()}/"
    members = tarfile.open(sdist).getmembers()
    sdist_names = {m.name.removeprefix(prefix) for m in members if m.isfile() and m.name.startswith(prefix)}
    for name in APP_FILES:
        check(name in wheel_names, f"{name} missing from the wheel")
        check(name in sdist_names, f"{name} missing from the sdist")
    check(f"django_importops-{version()}.dist-info/licenses/LICENSE" in wheel_names, "LICENSE missing from the wheel")
    wheel_top = {name.split("/")[0] for name in wheel_names}
    check(wheel_top == {"importops", f"django_importops-{version()}.dist-info"}, f"wheel holds {sorted(wheel_top)}")
    sdist_top = {name.split("/")[0] for name in sdist_names if name}
    check(sdist_top == SDIST_TOP, f"sdist holds {sorted(sdist_top ^ SDIST_TOP)} unexpectedly")
    app = {n for n in wheel_names if n.startswith("importops/")}
    sdist_app = {n for n in sdist_names if n.startswith("importops/")}
    check(app == sdist_app, f"the wheel and the sdist hold different apps: {sorted(app ^ sdist_app)}")
    check(not [n for n in app if "__pycache__" in n or n.endswith(".pyc")], "compiled files in the wheel")

    step("metadata: the version, the licence, a classifier for every supported Django and Python")
    from trove_classifiers import classifiers as known

    metadata = zipfile.ZipFile(wheel).read(f"django_importops-{version()}.dist-info/METADATA").decode()
    classifiers = re.findall(r"^Classifier: (.+)$", metadata, re.MULTILINE)
    check(not set(classifiers) - known, f"unknown classifiers: {set(classifiers) - known}")
    for expected in ["Framework :: Django :: 5.2", "Framework :: Django :: 6.0", "Framework :: Django :: 6.1"]:
        check(expected in classifiers, f"classifier {expected!r} missing")
    for minor in (11, 12, 13):
        check(f"Programming Language :: Python :: 3.{minor}" in classifiers, f"Python 3.{minor} classifier missing")
    check(re.search(r"^License-Expression: BSD-3-Clause$", metadata, re.MULTILINE), "no BSD-3-Clause licence")
    check(re.search(rf"^Version: {re.escape(version())}$", metadata, re.MULTILINE), "version differs")
    check(f"## {version()}" in (ROOT / "CHANGELOG.md").read_text(), f"CHANGELOG.md has no entry for {version()}")
    return wheel


# -- HTTP ---------------------------------------------------------------------------------------


class Http:
    """A small client: JSON or form bodies, cookies kept (for the admin)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(
        self, method: str, path: str, *, json_body: Any = None, form: dict[str, str] | None = None, **headers: str
    ) -> tuple[int, str, bytes]:
        data = None
        if json_body is not None:
            data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            data, headers["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()

    def json(self, method: str, path: str, body: Any = None, *, expect: int = 200, **headers: str) -> Any:
        status, content_type, content = self.request(method, path, json_body=body, **headers)
        check(status == expect, f"{method} {path}: {status}, expected {expect}: {content[:500]!r}")
        check(content_type == "application/json", f"{method} {path}: Content-Type {content_type}")
        return json.loads(content)

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.cookies if c.name == name), "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a host project -----------------------------------------------------------------------------


class Host:
    def __init__(self, name: str, python: str, root: Path, *, extra_env: dict[str, str] | None = None) -> None:
        self.name, self.python, self.dir = name, python, root / name
        self.template = HERE / name
        self.venv = root / f"{name}-venv"
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "IMPORTOPS_", "DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV"))
        }
        self.env.update(extra_env or {}, PYTHONUNBUFFERED="1", DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD)
        self.env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.settings = self.dir / "host" / "settings.py"
        self.urls = self.dir / "host" / "urls.py"

    # processes

    def pip(self, *args: Any) -> None:
        pip = [self.venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        run([*pip, "-c", ROOT / "requirements.txt", *args], env=self.env)

    def manage(self, *args: Any, timeout: int = 300) -> str:
        return run([self.venv / "bin" / "python", "manage.py", *args], cwd=self.dir, env=self.env, timeout=timeout)

    def shell(self, code: str) -> Any:
        """Run ``code`` in ``manage.py shell``; it prints one JSON value, returned decoded."""
        out = self.manage("shell", "--no-imports", "-c", code).strip()
        return json.loads(out.splitlines()[-1])

    def start(self, what: str, args: list[Any]) -> None:
        log = self.dir.parent / f"{self.name}-{what}-{len(self.processes)}.log"
        handle = log.open("wb")
        process = subprocess.Popen([str(a) for a in args], cwd=self.dir, env=self.env, stdout=handle, stderr=handle)
        self.processes.append((process, log))

    def serve(self) -> Http:
        """gunicorn, as production would run it, until its first answer."""
        port = free_port()
        self.start("gunicorn", [self.venv / "bin" / "gunicorn", "host.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
                                "--threads", "4", "--timeout", "120", "--no-control-socket"])  # fmt: skip
        client = Http(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{client.base}/admin/login/", timeout=2)  # noqa: S310
                return client
            except urllib.error.HTTPError:
                return client
            except OSError:
                time.sleep(0.2)
        raise Failed("gunicorn did not answer within 60 s")

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for _, log in self.processes)

    # generation

    def generate(self) -> None:
        step(f"{self.name}: venv ({run([self.python, '--version']).strip()}), the host's packages, startproject")
        run([self.python, "-m", "venv", self.venv])
        packages = ["Django", "gunicorn"] + (["djangorestframework"] if self.name == "drf61" else ["psycopg[binary]"])
        self.pip(*packages)
        self.dir.mkdir()
        run([self.venv / "bin" / "django-admin", "startproject", "host", self.dir], env=self.env)
        for source in self.template.rglob("*"):
            relative = source.relative_to(self.template)
            if source.is_file() and relative.parts[0] not in {"settings_host.py", "settings_after.py", "urls.py"}:
                (self.dir / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, self.dir / relative)
        self.append(self.settings, (self.template / "settings_host.py").read_text())
        shutil.copy(self.template / "urls.py", self.urls)
        self.manage("makemigrations", "accounts")
        self.manage("migrate")

    @staticmethod
    def append(path: Path, text: str) -> None:
        with path.open("a") as handle:
            handle.write("\n" + text)

    def snapshot(self) -> dict[str, Any]:
        """What installing and uninstalling must leave as it was: tables, content types, migrations."""
        return self.shell(
            "import json; from django.db import connection; "
            "from django.contrib.contenttypes.models import ContentType; "
            "from django.db.migrations.recorder import MigrationRecorder; "
            "print(json.dumps({'tables': sorted(connection.introspection.table_names()), "
            "'content_types': sorted(f'{c.app_label}.{c.model}' for c in ContentType.objects.all()), "
            "'migrated_apps': sorted(set(MigrationRecorder.Migration.objects.values_list('app', flat=True)))}))"
        )


def probe(client: Http, probes: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[int, str, str]]:
    answers = []
    for method, path, options in probes:
        status, content_type, content = client.request(method, path, **options)
        # Absolute links name the server's port, which changes from one start to the next.
        answers.append((status, content_type, content.decode(errors="replace").replace(client.base, "http://host")))
    return answers


def compare(host: Host, before: Any, after: Any, what: str) -> None:
    if before != after:
        diff = [(b, a) for b, a in zip(before, after, strict=False) if b != a] if isinstance(before, list) else ""
        raise Failed(f"{host.name}: {what} changed:\nbefore: {before}\nafter:  {after}\n{diff}")


# -- the import flow ------------------------------------------------------------------------------


def rocketchat_hash(password: str) -> str:
    """What Rocket.Chat stores: bcrypt over the hex SHA-256 of the password."""
    return bcrypt.hashpw(hashlib.sha256(password.encode()).hexdigest().encode(), bcrypt.gensalt(4)).decode()


def staged_users() -> list[dict[str, Any]]:
    return [
        {
            "emails": [f"rc{n}@example.org"],
            "importIds": [f"rc-id-{n}"],
            "username": f"rc.user{n}",
            "name": f"Rocket User {n}",
            "roles": ["user"],
            "customFields": {"nickname": f"nick{n}"},
            "services": {"password": {"bcrypt": rocketchat_hash(f"old password {n}")}},
        }
        for n in range(USERS)
    ]


def import_flow(client: Http, api: str, admin_identifier: str) -> str:
    """login, import.new, addUsers, run, done; returns the operation id."""
    login = client.json("POST", f"{api}/login", {"user": admin_identifier, "password": ADMIN_PASSWORD})
    headers = {"X-User-Id": login["data"]["userId"], "X-Auth-Token": login["data"]["authToken"]}
    check(login["data"]["me"]["_id"] == login["data"]["userId"], "login: me and userId differ")
    operation = client.json("POST", f"{api}/import.new", **headers)["operation"]
    client.json("POST", f"{api}/import.addUsers", {"users": staged_users()}, **headers)
    client.json("POST", f"{api}/import.run", **headers)
    deadline = time.monotonic() + 180
    while True:
        status = client.json("GET", f"{api}/import.status", **headers)
        if status["state"] in ("done", "failed", "aborted") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    check(status["state"] == "done", f"the import ended {status}")
    count = status["operation"]["count"]
    check((count["completed"], count["error"]) == (USERS, 0), f"counts {count}")
    check(status["operation"]["_id"] == operation["_id"], "import.status names another operation")
    check(client.json("GET", f"{api}/me", **headers)["_id"] == login["data"]["userId"], "me is not the admin")
    return str(operation["_id"])


def old_password_logins(client: Http, api: str) -> None:
    for n, identifier in ((7, "rc.user7"), (8, "rc8@example.org"), (9, {"username": "rc.user9"})):
        body = {"user": identifier, "password": f"old password {n}"}
        login = client.json("POST", f"{api}/login", body)
        check(login["data"]["me"]["emails"][0]["address"] == f"rc{n}@example.org", f"{body} logged in someone else")
    client.json("POST", f"{api}/login", {"user": "rc.user7", "password": "wrong"}, expect=401)


def admin_pages(client: Http, operation_id: str, user_admin: str) -> None:
    status, _, _ = client.request("GET", "/admin/login/")
    check(status == 200, f"/admin/login/: {status}")
    status, _, content = client.request(
        "POST",
        "/admin/login/?next=/admin/",
        form={"username": ADMIN_IDENTIFIER[user_admin], "password": ADMIN_PASSWORD,
              "csrfmiddlewaretoken": client.cookie("csrftoken"), "next": "/admin/"},
        Referer=f"{client.base}/admin/login/",
    )  # fmt: skip
    check(status == 200 and b"Import operations" in content, f"admin login failed: {status} {content[:300]!r}")
    pages = [
        "/admin/",
        "/admin/importops/importoperation/",
        f"/admin/importops/importoperation/{operation_id}/change/",
        f"/admin/importops/importoperation/{operation_id}/progress/",
        f"/admin/importops/importoperation/{operation_id}/permissions/",
        "/admin/importops/importoperation/start/",
        f"/admin/importops/importrecord/?operation__id__exact={operation_id}",
        "/admin/importops/importedidentity/",
        "/admin/importops/importedidentity/?q=rc-id-7",
        "/admin/importops/authtoken/",
        "/admin/importops/authtoken/mint/",
        f"/admin/accounts/user/?q={urllib.parse.quote('rc7@example.org')}",
    ]
    for page in pages:
        status, content_type, content = client.request("GET", page)
        check(status == 200, f"{page}: {status} {content[:300]!r}")
        if content_type.startswith("text/html"):
            check(b"<title>" in content and b"Server Error" not in content, f"{page} did not render")
    status, _, content = client.request("GET", "/admin/importops/importedidentity/?q=rc-id-7")
    check(b"rc-id-7" in content, "the identity search does not find rc-id-7")


ADMIN_IDENTIFIER = {"drf61": "admin", "pg52": "admin@host.example"}


# -- the two hosts ----------------------------------------------------------------------------------

DRF_KEY = {"X-Api-Key": "host-api-key"}
#: (method, path, options of Http.request): requests to the host's own endpoints.
DRF_PROBES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/users", DRF_KEY),
    ("GET", "/api/v1/users?limit=2&offset=2", DRF_KEY),
    ("GET", "/api/v1/users", {"X-Api-Key": "wrong"}),
    ("GET", "/api/v1/users", {}),
    ("POST", "/api/v1/echo", {**DRF_KEY, "form": {"a": "1"}}),
    ("POST", "/api/v1/echo", {**DRF_KEY, "json_body": {"a": 1}}),
    ("OPTIONS", "/api/v1/users", DRF_KEY),
    ("GET", "/api/v1/version", {}),
    ("GET", "/api/v1/version", {}),
    ("GET", "/api/v1/version", {}),
    ("GET", "/api/v1/version", {}),  # the fourth anonymous request: throttled
    ("GET", "/api/v1/no.such.endpoint", {}),
    ("GET", "/api/v2/users", DRF_KEY),
]
PG_PROBES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/ping", {}),
    ("POST", "/api/v1/ping", {"form": {"a": "1"}}),
    ("GET", "/api/v1/status", {}),
    ("GET", "/api/v1/login", {}),
    ("GET", "/api/v1/no.such.endpoint", {}),
    ("GET", "/chat/", {}),
]


def try_host(host: Host, wheel: Path, *, api: str, extra: str, probes: list[Any], checks: str) -> None:
    started = time.monotonic()
    host.generate()
    if host.name == "drf61":
        host.shell(
            "import json; from accounts.models import User; "
            f"User.objects.create_superuser('admin', 'admin@host.example', password='{ADMIN_PASSWORD}'); "
            "[User.objects.create_user(n, f'{n}@host.example', nickname=n.title()) for n in ('grace', 'linus')]; "
            "print(1)"
        )
    else:
        host.manage("createsuperuser", "--noinput", "--email", ADMIN_IDENTIFIER["pg52"])
    before = host.snapshot()
    server = host.serve()
    answers_before = probe(server, probes)
    host.stop_all()

    step(f"{host.name}: install the built wheel; append the README's blocks")
    host.pip(f"{wheel}[postgres]" if host.name == "pg52" else wheel)
    if host.name == "drf61":
        (host.dir / "accounts" / "importing.py").write_text(readme_block("adapter"))
    host.append(host.settings, readme_block("settings") + extra)
    host.append(host.urls, readme_block("urls-root" if host.name == "drf61" else "urls-prefix"))
    host.manage("migrate")
    host.manage("check", "--fail-level", "WARNING")
    settings = host.shell(
        "import json; from django.conf import settings as s; print(json.dumps({'apps': s.INSTALLED_APPS, "
        "'backends': s.AUTHENTICATION_BACKENDS, 'hashers': s.PASSWORD_HASHERS}))"
    )
    check(settings["apps"].count("rest_framework") == 1, f"rest_framework listed twice: {settings['apps']}")
    check(settings["backends"][-1] == "guardian.backends.ObjectPermissionBackend", settings["backends"])
    check("django.contrib.auth.hashers.BCryptSHA256PasswordHasher" in settings["hashers"], settings["hashers"])
    if host.name == "drf61":
        check(settings["backends"][:2] == ["django.contrib.auth.backends.ModelBackend", "hostapi.auth.NobodyBackend"],
              f"the host's backends were replaced: {settings['backends']}")  # fmt: skip
        check(settings["hashers"][0].endswith("ScryptPasswordHasher"), settings["hashers"])

    step(f"{host.name}: gunicorn and importops_worker; the import flow")
    server = host.serve()
    host.start("worker", [host.venv / "bin" / "python", "manage.py", "importops_worker", "--interval", "0.2"])
    operation_id = import_flow(server, api, ADMIN_IDENTIFIER[host.name])
    found = host.shell(checks)
    check(found["imported"] == USERS, f"{found['imported']} users imported, expected {USERS}")
    check(found["in_group"] == USERS, f"{found['in_group']} imported users in the group 'user'")
    check(found["sample"] == found["expected"], f"user rc7: {found['sample']}, expected {found['expected']}")
    old_password_logins(server, api)
    admin_pages(Http(server.base), operation_id, host.name)
    if host.name == "pg52":
        status, _, content = server.request("GET", "/chat/api/v1/no.such.endpoint")
        check(status == 404 and json.loads(content)["success"] is False, "owned_urls: no JSON 404 under chat/")
    step(f"{host.name}: the host's own endpoints answer exactly as before")
    compare(host, answers_before, probe(server, probes), "the host's answers")
    host.stop_all()

    step(f"{host.name}: uninstall by the README's steps")
    host.manage("migrate", "importops", "zero")
    host.shell(
        "from django_tasks_db.models import DBTaskResult; "
        "DBTaskResult.objects.filter(task_path__startswith='importops.').delete(); "
        "print(DBTaskResult.objects.filter(task_path__startswith='importops.').count())"
    )
    host.append(host.settings, REMOVE_IMPORTOPS)
    shutil.copy(host.template / "urls.py", host.urls)
    host.manage("remove_stale_contenttypes", "--include-stale-apps", "--noinput")
    host.manage("clean_orphan_obj_perms")
    if host.name == "drf61":
        host.shell("from guardian.utils import get_anonymous_user; get_anonymous_user().delete(); print(1)")
    host.manage("migrate", "guardian", "zero")
    host.manage("shell", "-c", DROP_TASK_TABLE)
    host.manage("migrate", "django_tasks_database", "zero", "--fake")  # its migrations are irreversible
    settings_text = host.settings.read_text()
    host.settings.write_text(settings_text[: settings_text.index(readme_block("settings"))])
    host.manage("remove_stale_contenttypes", "--include-stale-apps", "--noinput")
    run([host.venv / "bin" / "python", "-m", "pip", "uninstall", "-y", "-q", "django-importops"], env=host.env)
    host.manage("check", "--fail-level", "WARNING")
    compare(host, before, host.snapshot(), "tables, content types or migrated apps")
    server = host.serve()
    compare(host, answers_before, probe(server, probes), "the host's answers after uninstalling")
    host.stop_all()
    step(f"{host.name}: passed in {time.monotonic() - started:.0f} s")


REMOVE_IMPORTOPS = 'INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "importops"]\ndel IMPORTOPS\n'

DROP_TASK_TABLE = """
from django.db import connection
from django_tasks_db.models import DBTaskResult
with connection.schema_editor() as editor:
    editor.delete_model(DBTaskResult)"""

DRF_CHECKS = """import json
from accounts.models import User
imported = User.objects.filter(email__endswith="@example.org")
u = User.objects.get(email="rc7@example.org")
print(json.dumps({
    "imported": imported.count(),
    "in_group": imported.filter(groups__name="user").count(),
    "sample": [u.username, u.first_name, u.last_name, u.nickname, u.is_active, u.is_staff, u.password[:14]],
    "expected": ["rc.user7", "Rocket", "User 7", "nick7", True, False, "bcrypt_sha256$"],
}))"""

PG_CHECKS = """import json
from accounts.models import User
from importops.models import ImportedIdentity
imported = User.objects.filter(email__endswith="@example.org")
u = User.objects.get(email="rc7@example.org")
identity = ImportedIdentity.objects.get(user=u)
print(json.dumps({
    "imported": imported.count(),
    "in_group": imported.filter(groups__name="user").count(),
    "sample": [u.full_name, u.is_active, u.is_staff, identity.import_id, identity.username, identity.data],
    "expected": ["Rocket User 7", True, False, "rc-id-7", "rc.user7", {"customFields": {"nickname": "nick7"}}],
}))"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python-a", required=True, help="Python >= 3.12 for the Django 6.1 host")
    parser.add_argument("--python-b", required=True, help="Python 3.11 for the Django 5.2 host")
    parser.add_argument("--pg", required=True, help="HOST:PORT of a PostgreSQL server (user postgres, trust)")
    args = parser.parse_args()
    pg_host, pg_port = args.pg.rsplit(":", 1)
    database = "importops_hostproject"
    with tempfile.TemporaryDirectory(prefix="importops-hostprojects-") as tmp:
        root = Path(tmp)
        try:
            wheel = build_and_check(root / "dist")
        except Failed as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        drf = Host("drf61", args.python_a, root)
        pg = Host(
            "pg52",
            args.python_b,
            root,
            extra_env={"HOST_DB_NAME": database, "HOST_DB_HOST": pg_host, "HOST_DB_PORT": pg_port,
                       "HOST_DB_USER": "postgres"},
        )  # fmt: skip
        import psycopg

        with psycopg.connect(host=pg_host, port=pg_port, user="postgres", dbname="postgres", autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {database}")
            db.execute(f"CREATE DATABASE {database}")
        try:
            for host, api, extra, probes, checks in (
                (drf, "/api/v1", readme_block("sqlite") + "\n" + readme_block("adapter-setting"), DRF_PROBES,
                 DRF_CHECKS),
                (pg, "/chat/api/v1", (HERE / "pg52" / "settings_after.py").read_text(), PG_PROBES, PG_CHECKS),
            ):  # fmt: skip
                try:
                    try_host(host, wheel, api=api, extra=extra, probes=probes, checks=checks)
                except BaseException:
                    print(host.logs(), file=sys.stderr)
                    raise
                finally:
                    host.stop_all()
        except Failed as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        finally:
            with psycopg.connect(host=pg_host, port=pg_port, user="postgres", dbname="postgres", autocommit=True) as db:
                db.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    print("host projects: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
