"""tlm.models."""
