"""`python -m services.relationship`: run the relationship service until SIGTERM/SIGINT."""

from services.relationship.app import create_app
from shared.messaging.serve import serve

if __name__ == "__main__":
    serve(create_app)
