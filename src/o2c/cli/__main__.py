"""``python -m o2c.cli``: the same as the ``o2c`` console script."""

from o2c.cli import main

main()
