"""The relationship service's use cases, one a module, each `(command, RelationshipContext)`."""
