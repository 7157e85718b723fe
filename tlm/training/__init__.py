"""tlm.training."""
