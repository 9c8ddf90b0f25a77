"""A created user's change keeps its values as ``{field: value}`` (it had none before), not
``{field: {"old": null, "new": value}}``: the same information in half the space, written
for every created user."""

from django.db import migrations

CHUNK = 2000


def _rewrite(apps, schema_editor, convert):
    ImportChange = apps.get_model("importops", "ImportChange")
    created = ImportChange.objects.using(schema_editor.connection.alias).filter(action="created")
    batch = []
    for change in created.only("id", "changes").iterator(chunk_size=CHUNK):
        change.changes = convert(change.changes)
        batch.append(change)
        if len(batch) == CHUNK:
            ImportChange.objects.using(schema_editor.connection.alias).bulk_update(batch, ["changes"])
            batch = []
    ImportChange.objects.using(schema_editor.connection.alias).bulk_update(batch, ["changes"])


def compact(apps, schema_editor):
    def convert(changes):
        return {name: value["new"] for name, value in changes.items()}

    _rewrite(apps, schema_editor, convert)


def expand(apps, schema_editor):
    def convert(changes):
        return {name: {"old": [] if name == "groups" else None, "new": value} for name, value in changes.items()}

    _rewrite(apps, schema_editor, convert)


class Migration(migrations.Migration):
    dependencies = [("importops", "0005_references_unchecked")]

    operations = [migrations.RunPython(compact, expand, elidable=True)]
