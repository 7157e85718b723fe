"""tlm.layers."""
