"""The control API (SwarmKit's manager/controlapi): Docker's cluster, node, service, task,
network, secret and config operations over the store, with their rules and messages, and
plans (dry runs) of them."""
