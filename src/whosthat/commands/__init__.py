"""Thin command functions: parse the arguments, call the library, print. `whosthat.cli` mounts them;
nothing here imports the cli, and no library module imports these."""
