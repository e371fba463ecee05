"""`python -m services.payment`: run the payment service until SIGTERM/SIGINT."""

from services.payment.app import create_app
from shared.messaging.serve import serve

if __name__ == "__main__":
    serve(create_app)
