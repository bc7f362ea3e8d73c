"""
One module per scenario of issue 7; each exposes C{run(ctx)}, returning a
L{benchmarks.results.ScenarioResult}.
"""
