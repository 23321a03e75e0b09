"""Factories and fakes shared by the tests (never imported by the system itself)."""
