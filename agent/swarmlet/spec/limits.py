"""The caps on what the API accepts, in one place (docs/api.md lists them).

They keep one request from creating unbounded work: a replica count of 2^64 - 1 once grew
the leader to 24 GB. Each is far above what a swarm of this size runs.
"""

from __future__ import annotations

MAX_BODY = 4 << 20          # bytes in a request body (SwarmKit's gRPC message limit)
MAX_REPLICAS = 10_000       # tasks of one replicated service or job (Replicas, MaxConcurrent,
#                             TotalCompletions)
MAX_RETENTION = 1_000       # Orchestration.TaskHistoryRetentionLimit
MAX_STRING = 64 << 10       # characters in any one string
MAX_NAME_FIELD = 1024       # characters in a name, label key or option key
MAX_LABEL_VALUE = 64 << 10  # characters in a label value
MAX_ID = 256                # characters in an object reference (ID, name or prefix)
MAX_LABELS = 1_000          # entries in a label or option map
MAX_LIST = 10_000           # items in a list (Env, Args, Constraints, ports, mounts...)
MAX_WAIT_SECONDS = 30       # a dispatcher long poll (the manager answers within 30 s)
MIN_HEARTBEAT = 100_000_000            # Dispatcher.HeartbeatPeriod: 100ms ...
MAX_HEARTBEAT = 24 * 3600 * 10**9      # ... to 24h
MIN_CERT_EXPIRY = 3600 * 10**9         # CAConfig.NodeCertExpiry: 1h, as Docker
