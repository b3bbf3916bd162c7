"""What every wing stands on: the error tree, settings, the JSON schemas, the local clock, this installation's id."""
