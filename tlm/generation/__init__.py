"""tlm.generation."""
