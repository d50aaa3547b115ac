"""The manager: the Raft store's control loops and the cluster API (SwarmKit's manager/)."""
