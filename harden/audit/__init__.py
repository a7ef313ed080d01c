"""The audit: rule packs (data in ``audit/``), one CEL engine that judges them, findings."""
