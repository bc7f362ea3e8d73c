"""
C{python -m netlab.client}: the same as the C{netlab} console script.
"""

from netlab.client import main

main()
