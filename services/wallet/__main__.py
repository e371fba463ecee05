"""`python -m services.wallet`: run the wallet service until SIGTERM/SIGINT."""

from services.wallet.app import create_app
from shared.messaging.serve import serve

if __name__ == "__main__":
    serve(create_app)
