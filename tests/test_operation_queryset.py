"""State changes of an operation, on the model layer: one conditional UPDATE each."""

from datetime import timedelta

import pytest
from django.utils import timezone

from importops.errors import OperationNotFound
from importops.models import ImportOperation
from importops.states import Status
from tests.factories import operation_in

pytestmark = pytest.mark.django_db


def test_transition_changes_an_operation_in_the_source_status_and_stamps_it():
    operation = operation_in("ready")
    ImportOperation.objects.filter(pk=operation.pk).update(updated_at=timezone.now() - timedelta(days=1))
    assert ImportOperation.objects.transition(operation.pk, source=Status.USER_SELECTION, status=Status.DONE)
    changed = ImportOperation.objects.get(pk=operation.pk)
    assert changed.status == Status.DONE
    assert timezone.now() - changed.updated_at < timedelta(minutes=1)


def test_transition_leaves_an_operation_in_another_status_alone():
    operation = operation_in("new")
    assert not ImportOperation.objects.transition(operation.pk, source=[Status.USER_SELECTION], status=Status.DONE)
    assert not ImportOperation.objects.filter(valid=False).transition(operation.pk, status=Status.DONE)
    assert ImportOperation.objects.get(pk=operation.pk).status == Status.NEW


def test_of_two_identical_transitions_one_wins():
    operation = operation_in("ready")
    first = ImportOperation.objects.transition(
        operation.pk, source=Status.USER_SELECTION, status=Status.IMPORTING_STARTED
    )
    second = ImportOperation.objects.transition(
        operation.pk, source=Status.USER_SELECTION, status=Status.IMPORTING_STARTED
    )
    assert (first, second) == (True, False)


def test_latest_or_raise():
    with pytest.raises(OperationNotFound):
        ImportOperation.objects.latest_or_raise(OperationNotFound)
    operation_in("invalid")
    with pytest.raises(OperationNotFound):
        ImportOperation.objects.latest_or_raise(OperationNotFound)
    assert ImportOperation.objects.latest_or_raise(OperationNotFound, valid=False).valid is False
    ready = operation_in("ready")
    assert ImportOperation.objects.latest_or_raise(OperationNotFound).pk == ready.pk
    assert ImportOperation.objects.current().pk == ready.pk
