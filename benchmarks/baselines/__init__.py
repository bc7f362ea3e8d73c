"""
Baseline servers that netlab is measured against; each runs as C{python FILE PORT}.
"""
