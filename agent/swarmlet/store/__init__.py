"""The cluster's replicated object store: objects, versions, watches, Raft (SwarmKit's
manager/state/store + raft in spirit)."""
