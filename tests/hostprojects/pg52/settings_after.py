# ruff: noqa: F821  (appended to a settings module that defines these names)

# What this host adds after the README's block: no guardian anonymous row in an email user table.
ANONYMOUS_USER_NAME = None
