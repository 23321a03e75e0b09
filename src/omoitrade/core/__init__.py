"""The orchestration foundation: bus, clocks, state machines, ids and errors.

Nothing in this package knows about trading; the layers above give it meaning.
"""
