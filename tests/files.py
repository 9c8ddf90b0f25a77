"""Building import files for tests."""

from __future__ import annotations

import base64
import io
import json
import zipfile


def users_csv(rows: list[tuple[str, ...]]) -> bytes:
    return "".join(",".join(row) + "\n" for row in rows).encode()


def zipped(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def rocketchat_zip(count: int, *, prefix: str = "c") -> bytes:
    users = users_csv([(f"{prefix}{n}", f"{prefix}{n}@example.com", f"User {n}") for n in range(count)])
    channels = b"general,admin,false,c0;c1\nrandom,admin,true,c1\n"
    messages = b"c0,1500000000000,hello\nc1,1500000000001,hi\n"
    return zipped({"users.csv": users, "channels.csv": channels, "general/messages.csv": messages})


def jsonl(users: list[dict]) -> bytes:
    return "".join(json.dumps(user) + "\n" for user in users).encode()


def upload_body(content: bytes, *, importer: str, name: str, content_type: str = "application/octet-stream") -> dict:
    return {
        "binaryContent": base64.b64encode(content).decode(),
        "contentType": content_type,
        "fileName": name,
        "importerKey": importer,
    }


SLACK_HEADER = "username,email,status,billing-active,has-2fa,has-sso,userid,fullname,displayname,expiration-timestamp"


def slack_csv(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    """(username, email, status, userid, fullname) rows under Slack's header."""
    lines = [SLACK_HEADER] + [f"{u},{e},{s},1,0,0,{i},{f},{u}," for u, e, s, i, f in rows]
    return ("\n".join(lines) + "\n").encode()
