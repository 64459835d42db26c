"""syncsvc: a networking plan run inside the tools you already use."""

__version__ = "0.1.0"
