"""Declarative job-config reconciler for the ByteNite jobs API."""

__version__ = "0.1.0"
