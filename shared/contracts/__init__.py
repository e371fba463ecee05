"""The platform's contracts: the province interface v1 (binding) and the platform's own event streams."""
