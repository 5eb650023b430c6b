"""Data files shipped with the gateway (the demo subscribers)."""
