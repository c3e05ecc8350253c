"""Export/import targets (Qianniu quick phrases …)."""
