"""The spec core: typed models of every body the agent's API accepts (Docker's field names),
their defaults, normalisation and Docker's messages — the only place such a rule lives.

    base.py, limits.py   the strict base model, shared types and the documented caps
    *_models.py          the models (service, swarm and nodes, networks, secrets and configs,
                         dispatcher and logbroker messages)
    service.py, swarm.py normalisation of a checked body into what is stored
    constraints.py       placement constraints: parsed here, matched by the scheduler
    syntax.py            standard library only: durations, sizes, task states, mounts —
                         shared with the CLI and copied into the Ansible collection
    validate.py          the door: checked(Model, body) -> body, or SpecError naming the field
"""
