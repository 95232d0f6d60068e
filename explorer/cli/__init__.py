"""The command lines (`python -m explorer.train`, `... explorer.data`, `... explorer.evaluate`)."""
