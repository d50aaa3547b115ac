"""This node's membership in a swarm: its identity on disk, init/join/leave, and the
description it reports (hostname, platform, resources, engine)."""
