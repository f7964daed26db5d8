"""Datasets as Delta Lake tables: a run writer with one atomic commit per run, catalog metadata, reads.

Imports only ``headwater.core`` (and pyarrow / deltalake).
"""

from headwater.lake.dataset import Column, Dataset, Lake
from headwater.lake.nesting import flatten_schema, nest_batch, nested_schema
from headwater.lake.writer import CommitResult, RunWriter

__all__ = [
    "Column",
    "CommitResult",
    "Dataset",
    "Lake",
    "RunWriter",
    "flatten_schema",
    "nest_batch",
    "nested_schema",
]
