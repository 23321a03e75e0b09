"""Strategies and the building blocks they read: indicators first."""
