"""
netlab's benchmark harness: netlab measured side by side with its baselines.

Run C{python -m benchmarks} (full run, results committed under C{benchmarks/results/})
or C{python -m benchmarks --quick} (smoke run of every scenario, output under
C{benchmarks/results/quick/}). See C{benchmarks/README.md}.
"""
