"""Pure statistics on stored samples: summaries, comparisons, verdicts, decisions (no files, no clock)."""
