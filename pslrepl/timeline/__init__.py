"""The session as a sequence diagram: who sent what to whom, from its events and calls."""
