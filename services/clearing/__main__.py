"""`python -m services.clearing`: run the clearing service until SIGTERM/SIGINT."""

from services.clearing.app import create_app
from shared.messaging.serve import serve

if __name__ == "__main__":
    serve(create_app)
