"""The run's stages and the one boundary every piece of work on dump bytes runs inside."""
