"""Split assignment (random, stratified, temporal, grouped), balancing and the cross-split
leakage check, over pass-1 key tables. See docs/quality.md."""

from forge.data.split.assign import SPLITS, allocate, as_id_array, assign_splits, targets
from forge.data.split.balance import balance
from forge.data.split.leakage import check_leakage
from forge.data.split.timestamps import parse_timestamp

__all__ = [
    "SPLITS",
    "allocate",
    "as_id_array",
    "assign_splits",
    "balance",
    "check_leakage",
    "parse_timestamp",
    "targets",
]
