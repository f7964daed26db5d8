"""Datasets as Delta Lake tables: staged run writes, one atomic commit per run."""

from headwater.lake.nesting import nest_dotted
from headwater.lake.store import CommitResult, Dataset, Lake, RunWriter

__all__ = ["CommitResult", "Dataset", "Lake", "RunWriter", "nest_dotted"]
