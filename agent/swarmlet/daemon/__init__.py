"""swarmletd, the node agent."""
