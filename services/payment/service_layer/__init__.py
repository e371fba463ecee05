"""The payment service's use cases, one module each: (command, PaymentContext) -> Decision or messages."""
