"""The relationship service."""
