"""`python -m runbridge_cli`: the same as the `runbridge` console script."""

from runbridge_cli.main import main

main()
