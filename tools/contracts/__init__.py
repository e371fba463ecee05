"""The contract tooling: the catalogue of every message the platform reads or writes (catalogue.py) and the
generator of the committed JSON Schemas and AsyncAPI documents (generate.py). It alone imports every service's
events; no service imports it."""

from tools.contracts.generate import OUT, generate

__all__ = ["OUT", "generate"]
