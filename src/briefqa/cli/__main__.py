"""``python -m briefqa.cli``, as the console script."""

from . import main

main()
