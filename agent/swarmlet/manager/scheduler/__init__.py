"""The scheduler: a pure placement step from a store snapshot to a Plan (SwarmKit's
manager/scheduler, in Nomad's shape). The shell that reads the store and writes the plan
back lives with the manager's loops."""

from swarmlet.manager.scheduler.scheduler import Plan, schedule
from swarmlet.spec.constraints import Constraint, parse_constraints

__all__ = ["Constraint", "Plan", "parse_constraints", "schedule"]
