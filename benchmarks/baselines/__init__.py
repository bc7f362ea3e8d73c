"""Baseline servers that netlab is measured against; each runs as ``python FILE PORT``."""
