"""HTTP serving plumbing shared by the agent's servers (the API on TLS and its unix socket,
the Docker network driver socket): errors with a status, body and connection limits, a
root-only unix socket server, server threads. It knows nothing of routes or of the swarm."""
