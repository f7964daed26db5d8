"""Run execution pieces (mapping engine now; executor later)."""
