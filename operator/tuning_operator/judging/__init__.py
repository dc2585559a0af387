"""Judging a tuned model: pure functions of answers and references (no cloud, no files).

`scoring` turns answers into metrics (exact match, BLEU, ROUGE-L) and applies the reviewed
gate. It sits beside `planning`, low in the layers: the executors fetch, this package judges.
"""
