"""The `swarmlet` command: Docker's commands for a Swarmlet cluster, and local machines."""
