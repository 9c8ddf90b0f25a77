"""The importops admin: operations (live progress, abort), staged records, identities, tokens."""

from importops.admin import changes, identities, operations, records, tokens  # noqa: F401
