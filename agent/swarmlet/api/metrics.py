"""GET /metrics: the agent's Prometheus metrics (docs/observability.md#metrics).

On the unix socket, and on a manager's cluster port for any certificate of the swarm (a
manager's, a worker's, an operator's client certificate): access "node". The same text is
served on a plain-HTTP `metrics_addr` when the config sets one (api/metrics_server.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from swarmlet.api.results import MetricsText
from swarmlet.api.router import Request, Router
from swarmlet.metrics import exposition


def add_metrics_routes(router: Router, registry: CollectorRegistry) -> None:
    @router.add("GET", "/metrics", "Prometheus metrics of this agent (text format 0.0.4): "
                "the cluster's state on a manager, latencies, the process's CPU and memory",
                access="node", answer={"type": "string"})
    def metrics(_: Request) -> MetricsText:
        return MetricsText(exposition(registry).decode())
