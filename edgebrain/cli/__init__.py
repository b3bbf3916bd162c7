"""The ``edgebrain`` command: a thin main and one module per command group."""
