"""Plumbing shared by every Lumiere service: settings, storage, gRPC factories, logging.

No domain logic lives here.
"""
