"""Metrics of generated token rows that the core computes: n-gram Jensen-Shannon divergence and
BLEU / self-BLEU / distinct-n. Pure numpy; they import nothing else of the package."""
