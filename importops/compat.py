"""The one place that knows where Django's tasks framework lives.

Django >= 6.0 ships ``django.tasks``; on Django 5.2 the ``django_tasks`` backport provides
the same API.
"""

from __future__ import annotations

try:
    from django.tasks import task, task_backends
    from django.tasks.backends.dummy import DummyBackend
    from django.tasks.backends.immediate import ImmediateBackend
except ImportError:  # Django 5.2
    from django_tasks import task, task_backends  # type: ignore[no-redef,assignment,unused-ignore]
    from django_tasks.backends.dummy import DummyBackend  # type: ignore[no-redef,assignment,unused-ignore]
    from django_tasks.backends.immediate import ImmediateBackend  # type: ignore[no-redef,assignment,unused-ignore]

__all__ = ["DummyBackend", "ImmediateBackend", "task", "task_backends"]
