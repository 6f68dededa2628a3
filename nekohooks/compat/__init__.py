"""Compatibility layers: foreign plugins turned into ordinary nekohooks plugins (public API only)."""
