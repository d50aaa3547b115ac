"""What `service ls`, `service inspect --pretty` and the progress of `service create`
show of jobs, from fake API objects (no cluster)."""

from __future__ import annotations

import io

import pytest
from test_cli_service_format import N1, N2, FakeClock, FakeSource

from swarmlet.cli import service as service_cli
from swarmlet.cli import service_format as fmt
from swarmlet.cli.job_progress import JobWaiter, job_bar, wait_on_service
from swarmlet.cli.main import build_parser
from swarmlet.cli.progress import ConvergeError
from swarmlet.errors import SwarmletError


def job(mode: dict, status: dict | None = None, iteration: int = 0) -> dict:
    spec = {"Name": "batch", "Mode": mode,
            "TaskTemplate": {"ContainerSpec": {"Image": "swarmlet/demo:latest"}}}
    return {"ID": "j1", "Version": {"Index": 3}, "Spec": spec,
            "JobStatus": {"JobIteration": {"Index": iteration}},
            **({"ServiceStatus": status} if status else {})}


def task(tid: str, slot: int, state: str, node: str = N1, iteration: int = 0,
         err: str = "") -> dict:
    status = {"State": state, **({"Err": err} if err else {})}
    return {"ID": tid, "ServiceID": "j1", "Slot": slot, "NodeID": node,
            "DesiredState": "complete", "Status": status, "JobIteration": {"Index": iteration}}


def test_service_ls_shows_a_jobs_mode_and_completions_as_docker_does() -> None:
    replicated = job({"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 5}},
                     {"RunningTasks": 1, "DesiredTasks": 2, "CompletedTasks": 3})
    row = fmt.service_row(replicated)
    assert (row["Mode"], row["Replicas"]) == ("replicated job", "1/2 (3/5 completed)")
    # A global job's total: the tasks still to complete and those that did.
    global_ = job({"GlobalJob": {}}, {"RunningTasks": 1, "DesiredTasks": 1,
                                      "CompletedTasks": 2})
    row = fmt.service_row(global_)
    assert (row["Mode"], row["Replicas"]) == ("global job", "1/1 (2/3 completed)")


def test_inspect_pretty_names_no_mode_for_a_job_as_dockers_template() -> None:
    text = fmt.pretty_service(job({"GlobalJob": {}}))
    assert "Service Mode:\n" in text + "\n" and "Replicated" not in text


def wait(service: dict, frames: list[list[dict]]) -> list[str]:
    clock, out = FakeClock(), io.StringIO()
    JobWaiter(FakeSource(service, frames), out=out, tty=False, clock=clock,
              sleep=clock.sleep).run()
    return out.getvalue().splitlines()


def test_replicated_job_progress_counts_completions_and_ends_with_job_complete() -> None:
    service = job({"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 3}}, iteration=1)
    old = task("old", 1, "complete", iteration=0)  # an earlier run: not this one's
    frames = [[old, task("a", 1, "running", iteration=1), task("b", 2, "running", iteration=1)],
              [old, task("a", 1, "complete", iteration=1), task("b", 2, "running", iteration=1),
               task("c", 3, "running", iteration=1)],
              [task("a", 1, "complete", iteration=1), task("b", 2, "complete", iteration=1),
               task("c", 3, "complete", iteration=1)]]
    lines = wait(service, frames)
    assert lines[:5] == [f"1/3: running   {job_bar('running')}",
                         f"2/3: running   {job_bar('running')}",
                         "job progress: 0 out of 3 complete", "active tasks: 2 out of 2 tasks",
                         f"1/3: complete  {job_bar('complete')}"]
    assert lines[-3:] == ["job progress: 3 out of 3 complete", "active tasks: 0 out of 0 tasks",
                          "job complete"]
    assert job_bar("complete") == "[" + "=" * 50 + ">]"


def test_global_job_progress_waits_for_the_nodes_of_its_first_tasks() -> None:
    service = job({"GlobalJob": {}})
    frames = [[], [task("a", 0, "running", N1), task("b", 0, "running", N2)],
              [task("a", 0, "complete", N1), task("b", 0, "complete", N2)]]
    lines = wait(service, frames)
    assert lines[0] == "job progress: waiting for tasks"
    assert "job progress: 0 out of 2 complete" in lines
    assert lines[-2:] == ["job progress: 2 out of 2 complete", "job complete"]


def test_job_progress_gives_up_with_the_errors_of_tasks_that_keep_failing() -> None:
    service = job({"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}})
    frames = [[task(f"t{i}", 1, "failed", err="task: non-zero exit (3)")] for i in range(3)]
    with pytest.raises(ConvergeError) as exc:
        wait(service, frames)
    assert str(exc.value) == "1/1: task: non-zero exit (3)"


class Client:
    """GET answers with the job; POSTs are recorded."""

    job: dict = {}
    posted: list = []

    def __init__(self, host=None) -> None:
        pass

    def get(self, path, **query):
        return Client.job

    def post(self, path, body=None, **query):
        Client.posted.append(body)
        return {}


def run(monkeypatch, job_service: dict, *argv: str) -> None:
    Client.job, Client.posted = job_service, []
    monkeypatch.setattr(service_cli, "Client", Client)
    args = build_parser().parse_args(["service", *argv])
    args.run(args)


def test_scale_sets_a_replicated_jobs_completions_and_refuses_a_global_job(monkeypatch,
                                                                          capsys) -> None:
    replicated = job({"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 3}})
    run(monkeypatch, replicated, "scale", "-d", "batch=5")
    assert Client.posted[0]["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 2,
                                                          "TotalCompletions": 5}}
    with pytest.raises(SwarmletError, match="batch: scale can only be used with replicated or "
                                            "replicated-job mode"):
        run(monkeypatch, job({"GlobalJob": {}}), "scale", "-d", "batch=5")


def test_update_replicas_of_a_job_is_refused_as_dockers(monkeypatch) -> None:
    replicated = job({"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 3}})
    with pytest.raises(SwarmletError, match="replicas can only be used with replicated mode"):
        run(monkeypatch, replicated, "update", "-d", "--replicas", "4", "batch")
    run(monkeypatch, replicated, "update", "-d", "--force", "batch")
    assert Client.posted[0]["TaskTemplate"]["ForceUpdate"] == 1
    assert "UpdateConfig" not in Client.posted[0]  # a job is sent without a policy


def test_the_wait_of_create_and_update_is_the_job_progress_for_a_job() -> None:
    class Api:
        def get(self, path, **query):
            if path == "/tasks":
                return [task("a", 1, "complete")]
            return job({"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}})

    out = io.StringIO()
    wait_on_service(Api(), "batch", out=out)
    assert out.getvalue().splitlines()[-2:] == ["active tasks: 0 out of 0 tasks", "job complete"]
