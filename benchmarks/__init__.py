"""netlab's benchmark harness: netlab measured side by side with its baselines.

Run ``python -m benchmarks`` (full run, results committed under ``benchmarks/results/``)
or ``python -m benchmarks --quick`` (smoke run of every scenario, output under
``benchmarks/results/quick/``). See ``benchmarks/README.md``.
"""
