"""Signals importops sends."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent once per committed batch of a run, after the transaction commits.
#: ``sender`` is ``ImportOperation``; kwargs: ``operation`` (the ImportOperation) and
#: ``users`` (the list of user instances created by that batch). ``bulk_create`` sends no
#: ``post_save``, so this is how a host project reacts to imported users.
users_imported = Signal()
