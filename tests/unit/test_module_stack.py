"""swarm_stack and swarm_stack_info without a cluster: the plan decides `changed`, check mode
and the diff (module_utils/_stack.py), a deploy without changes writes nothing, and removal
retries until the agent finds nothing of the stack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils import (  # noqa: E402
    _stack as S,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import (  # noqa: E402
    SwarmletAPIError,
)
from ansible_collections.swarmlet.swarm.plugins.modules import swarm_stack  # noqa: E402

NS = S.NAMESPACE_LABEL
PLAN = [
    {"Kind": "network", "Name": "vote_back", "Action": "create", "ID": ""},
    {"Kind": "service", "Name": "vote_db", "Action": "unchanged", "ID": "db1"},
    {"Kind": "service", "Name": "vote_vote", "Action": "update", "ID": "v1",
     "Diff": [{"Path": "Mode.Replicated.Replicas", "Old": 2, "New": 4}]},
    {"Kind": "service", "Name": "vote_old", "Action": "remove", "ID": "o1"},
]
UNCHANGED = [{"Kind": "network", "Name": "vote_back", "Action": "unchanged", "ID": "n1"},
             {"Kind": "service", "Name": "vote_db", "Action": "unchanged", "ID": "db1"}]


def test_changes_lines_and_diff_of_a_plan() -> None:
    assert S.has_changes(PLAN) and not S.has_changes(UNCHANGED)
    assert S.deploy_lines(PLAN) == ["Creating network vote_back",
                                    "Updating service vote_db (id: db1)",
                                    "Updating service vote_vote (id: v1)",
                                    "Removing service vote_old"]
    assert S.plan_diff(PLAN) == {
        "before": {"networks": {"vote_back": "absent"},
                   "services": {"vote_vote": {"Mode.Replicated.Replicas": 2},
                                "vote_old": "present"}},
        "after": {"networks": {"vote_back": "present"},
                  "services": {"vote_vote": {"Mode.Replicated.Replicas": 4},
                               "vote_old": "absent"}}}
    assert S.plan_diff(UNCHANGED) == {"before": {}, "after": {}}
    assert S.spec_changes(PLAN) == {"vote_vote": PLAN[2]["Diff"]}
    assert S.services_to_wait_for(PLAN) == [("v1", "vote_vote")]


def labelled(oid: str, name: str, stack: str | None) -> dict:
    return {"ID": oid, "Spec": {"Name": name, "Labels": {NS: stack} if stack else {}}}


def test_stack_objects_in_the_order_stack_rm_removes_them() -> None:
    listings = {"network": [labelled("n", "vote_back", "vote")],
                "service": [labelled("b", "vote_b", "vote"), labelled("a", "vote_a", "vote"),
                            labelled("x", "other", None)],
                "secret": [labelled("s", "vote_key", "vote")], "config": []}
    assert [(s["Kind"], s["Name"]) for s in S.stack_objects(listings, "vote")] == [
        ("service", "vote_a"), ("service", "vote_b"), ("secret", "vote_key"),
        ("network", "vote_back")]


def test_info_shapes() -> None:
    services = [labelled("a", "vote_a", "vote"), labelled("b", "vote_b", "vote"),
                labelled("c", "shop_c", "shop"), labelled("x", "other", None)]
    assert S.stack_summaries(services) == [{"Name": "shop", "Services": "1"},
                                           {"Name": "vote", "Services": "2"}]
    task = {"ID": "t1", "ServiceID": "a", "Slot": 2, "NodeID": "n1", "DesiredState": "running",
            "Spec": {"ContainerSpec": {"Image": "vote:1"}},
            "Status": {"State": "running", "PortStatus": {"Ports": [
                {"PublishedPort": 8080, "TargetPort": 80, "Protocol": "tcp"}]}}}
    assert S.stack_task(task, {"a": "vote_a"}, {"n1": "m1"}) == {
        "ID": "t1", "Name": "vote_a.2", "Image": "vote:1", "Node": "m1",
        "DesiredState": "Running", "CurrentState": "Running", "Error": "",
        "Ports": "*:8080->80/tcp"}


# --- the module's run, with a fake module and agent ---------------------------------------------

class Exit(Exception):
    def __init__(self, failed: bool, result: dict) -> None:
        super().__init__(result.get("msg"))
        self.failed, self.result = failed, result


class FakeModule:
    def __init__(self, check_mode: bool = False, diff: bool = True, **params) -> None:
        self.params = {"name": "vote", "state": "present", "compose": [], "prune": False,
                       "resolve_image": None, "with_registry_auth": False,
                       "absent_retries": 0, "absent_retries_interval": 0, "wait": False,
                       "wait_timeout": 5, **params}
        self.check_mode, self._diff = check_mode, diff
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def exit_json(self, **result) -> None:
        raise Exit(False, result)

    def fail_json(self, **result) -> None:
        raise Exit(True, result)


class FakeAgent:
    def __init__(self, plans: list, stacks: list | None = None) -> None:
        self.plans, self.stacks = list(plans), stacks or []
        self.requests: list = []

    def post(self, path, body=None, **query):
        self.requests.append(("POST", path, query))
        answer = self.plans.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get(self, path, **query):
        kind = path.strip("/").rstrip("s")
        return [labelled(f"{kind}-{i}", name, "vote")
                for i, (k, name) in enumerate(self.stacks) if k == kind]

    def delete(self, path, **query):
        self.requests.append(("DELETE", path))
        if not self.stacks:
            raise SwarmletAPIError("nothing found in stack: vote", 404)
        removed = [{"Kind": k, "Name": n, "ID": f"{k}-{i}"}
                   for i, (k, n) in enumerate(self.stacks) if k != "network"]
        self.stacks = [s for s in self.stacks if s[0] == "network"]  # a network in use stays
        return {"Removed": removed}


def run(module: FakeModule, agent: FakeAgent) -> Exit:
    manager = swarm_stack.StackManager(module, agent)
    with pytest.raises(Exit) as done:
        manager.present() if module.params["state"] == "present" else manager.absent()
    return done.value


def compose_file(tmp_path: Path) -> str:
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n  vote:\n    image: vote:${TAG:-1}\n    build: .\n")
    return str(path)


def test_check_mode_reports_the_plan_and_deploys_nothing(tmp_path) -> None:
    agent = FakeAgent([{"Plan": PLAN, "Warnings": ["Ignoring unsupported options: build"]}])
    done = run(FakeModule(check_mode=True, compose=[compose_file(tmp_path)]), agent)
    assert not done.failed and done.result["changed"] is True
    assert agent.requests == [("POST", "/stacks/deploy", {"dry_run": 1})]
    assert done.result["diff"]["after"]["services"]["vote_old"] == "absent"
    assert done.result["warnings_from_agent"] == ["Ignoring unsupported options: build"]


def test_a_plan_without_changes_writes_nothing(tmp_path) -> None:
    agent = FakeAgent([{"Plan": UNCHANGED}])
    done = run(FakeModule(compose=[compose_file(tmp_path)]), agent)
    assert done.result["changed"] is False
    assert len(agent.requests) == 1


def test_a_deploy_applies_and_reports_dockers_lines(tmp_path) -> None:
    agent = FakeAgent([{"Plan": PLAN}, {"Plan": PLAN}])
    module = FakeModule(compose=[compose_file(tmp_path), {"services": {"vote": {
        "deploy": {"replicas": 4}}}}], with_registry_auth=True)
    done = run(module, agent)
    assert [r[2] for r in agent.requests] == [{"dry_run": 1}, {}]
    assert done.result["changed"] is True
    assert done.result["stdout"].splitlines()[0] == "Creating network vote_back"
    assert done.result["stack_spec_diff"] == {"vote_vote": PLAN[2]["Diff"]}
    assert any("with_registry_auth is ignored" in w for w in module.warnings)


def test_errors_name_the_file_before_any_request(tmp_path) -> None:
    agent = FakeAgent([])
    path = tmp_path / "c.yml"
    path.write_text("services:\n  vote:\n    image: vote:${TAG:?set the tag}\n")
    done = run(FakeModule(compose=[str(path)]), agent)
    assert done.failed and agent.requests == []
    assert done.result["msg"] == (f"{path}: error while interpolating services.vote.image: "
                                  "required variable TAG is missing a value: set the tag")
    done = run(FakeModule(compose=[]), agent)
    assert done.result["msg"] == "compose parameter must be a list containing at least one element"
    refused = FakeAgent([SwarmletAPIError("c.yml: services.vote.deploy.replicas: must be a "
                                          "number", 400)])
    done = run(FakeModule(compose=[compose_file(tmp_path)]), refused)
    assert done.failed and done.result["msg"].startswith("c.yml: services.vote.deploy")


def test_absent_removes_and_retries_while_objects_are_left() -> None:
    stacks = [("service", "vote_a"), ("network", "vote_back")]
    done = run(FakeModule(state="absent", absent_retries=0), FakeAgent([], list(stacks)))
    assert done.failed
    assert done.result["msg"] == "Stack vote is not completely removed: network vote_back"
    assert done.result["changed"] is True

    agent = FakeAgent([], list(stacks))
    original_delete = agent.delete

    def delete_all(path, **query):  # the second try finds the network free
        answer = original_delete(path)
        if len(agent.requests) == 2:
            answer["Removed"].append({"Kind": "network", "Name": "vote_back", "ID": "n"})
            agent.stacks = []
        return answer

    agent.delete = delete_all
    done = run(FakeModule(state="absent", absent_retries=3), agent)
    assert not done.failed and done.result["changed"] is True
    assert done.result["stdout"].splitlines() == ["Removing service vote_a",
                                                  "Removing network vote_back"]


def test_absent_without_a_stack_and_in_check_mode() -> None:
    agent = FakeAgent([], [])
    assert run(FakeModule(state="absent"), agent).result["changed"] is False
    agent = FakeAgent([], [("service", "vote_a")])
    done = run(FakeModule(state="absent", check_mode=True), agent)
    assert done.result["changed"] is True and agent.requests == []
    assert done.result["diff"] == {"before": {"services": {"vote_a": "present"}},
                                   "after": {"services": {"vote_a": "absent"}}}
