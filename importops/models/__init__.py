from importops.models.change import ImportChange
from importops.models.identity import ImportedIdentity
from importops.models.operation import ImportOperation
from importops.models.progress import ImportFailure, ImportLane
from importops.models.record import ImportRecord
from importops.models.token import AuthToken

__all__ = [
    "AuthToken",
    "ImportChange",
    "ImportFailure",
    "ImportLane",
    "ImportOperation",
    "ImportRecord",
    "ImportedIdentity",
]
