"""Benchmarks, apart from the product: in the repository, not in the wheel.

`python -m benchmarks [options]` from a checkout (the same as `cronjobs-tui bench [options]` run
from the checkout's virtual environment): scale.py (what a refresh costs the server and the
app, in a throwaway cluster), app.py (the app's half of it), mask.py (`--mask`: the cost of
masking secrets, against the implementation before it). They print figures and ratios and
assert nothing; the README's *Scale* section holds the runs worth keeping.
"""
