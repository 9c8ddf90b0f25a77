"""The importops admin: operations (live progress, abort), staged records, identities, tokens."""

from importops.admin import identities, operations, records, tokens  # noqa: F401
