"""The clearing service's use cases, one module each: (command, ClearingContext) -> Decision or messages."""
