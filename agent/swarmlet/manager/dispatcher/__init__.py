"""The dispatcher (SwarmKit's manager/dispatcher): node heartbeats and liveness, the
assignments each node gets (tasks, networks, services, secrets, host ports), and network
attachments of plain containers."""
