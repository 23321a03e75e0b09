"""Venues: the VenueAdapter implementations (the simulated exchange first)."""
