"""`python -m whosthat` is the `whosthat` command."""

from whosthat.cli import main

main()
