"""`service ls/ps/inspect --pretty` rendering, task filters and the converge progress display,
from fake API objects (no cluster)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from swarmlet.cli import service_format as fmt
from swarmlet.cli.progress import ConvergeError, Waiter, bar, pick_current
from swarmlet.errors import SwarmletError

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SVC_ID = "s1b2c3d4e5f6g7h8i9j0k1l2m"
NODES = {"n1aaaaaaaaaaaaaaaaaaaaaaa": "node-1", "n2bbbbbbbbbbbbbbbbbbbbbbb": "node-2"}
N1, N2 = list(NODES)
NAMES = {SVC_ID: "web", "g0000000000000000000000000": "agent"}


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def service(mode: dict | None = None, **extra) -> dict:
    spec = {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1.25@sha256:abc"}},
            "Mode": mode or {"Replicated": {"Replicas": 3}}}
    return {"ID": SVC_ID, "Version": {"Index": 7}, "Spec": spec, **extra}


def task(task_id: str, slot: int, state: str = "running", desired: str = "running",
         node: str = N1, age: float = 9, err: str = "", created: float = 60,
         service_id: str = SVC_ID) -> dict:
    status = {"State": state, "Timestamp": ago(age), "Message": state}
    if err:
        status["Err"] = err
    return {"ID": task_id, "ServiceID": service_id, "Slot": slot, "NodeID": node,
            "DesiredState": desired, "CreatedAt": ago(created), "Status": status,
            "Spec": {"ContainerSpec": {"Image": "nginx:1.25@sha256:abc"}}}


# --- service ls -------------------------------------------------------------------------


def test_ls_row_replicated():
    svc = service(ServiceStatus={"RunningTasks": 2, "DesiredTasks": 3},
                  Endpoint={"Ports": [{"Protocol": "tcp", "TargetPort": 80,
                                       "PublishedPort": 8080, "PublishMode": "ingress"}]})
    assert fmt.service_row(svc) == {"ID": SVC_ID[:12], "Name": "web", "Mode": "replicated",
                                    "Replicas": "2/3", "Image": "nginx:1.25",
                                    "Ports": "*:8080->80/tcp"}
    assert list(fmt.service_row(svc)) == fmt.LS_KEYS


def test_ls_global_desired_is_the_task_count_without_service_status():
    svc = service({"Global": {}})
    tasks = [task("t1", 0, node=N1), task("t2", 0, node=N2, state="preparing"),
             task("t3", 0, node=N2, state="failed", desired="shutdown")]
    row = fmt.service_row(svc, tasks)
    assert (row["Mode"], row["Replicas"]) == ("global", "1/2")


def test_ls_max_per_node_and_sorting():
    a = service(ServiceStatus={"RunningTasks": 1, "DesiredTasks": 1})
    a["Spec"]["Name"] = "web10"
    a["Spec"]["TaskTemplate"]["Placement"] = {"MaxReplicas": 2}
    b = service(ServiceStatus={"RunningTasks": 0, "DesiredTasks": 1})
    b["Spec"]["Name"] = "web9"
    rows = fmt.service_rows([a, b])
    assert [r["Name"] for r in rows] == ["web9", "web10"]
    assert rows[1]["Replicas"] == "1/1 (max 2 per node)"


def test_ports_grouping_and_host_mode_left_out():
    ports = [{"Protocol": "tcp", "PublishedPort": p, "TargetPort": p, "PublishMode": "ingress"}
             for p in (81, 80, 82)]
    ports += [{"Protocol": "udp", "PublishedPort": 53, "TargetPort": 53},
              {"Protocol": "tcp", "PublishedPort": 9000, "TargetPort": 9000,
               "PublishMode": "host"}]
    assert fmt.ports_text(ports) == "*:80-82->80-82/tcp, *:53->53/udp"


def test_display_image():
    assert fmt.display_image("nginx:1.25@sha256:abc") == "nginx:1.25"
    assert fmt.display_image("docker.io/library/redis:7") == "redis:7"
    assert fmt.display_image("registry:5000/team/app:v2") == "registry:5000/team/app:v2"
    assert fmt.display_image("nginx@sha256:abc") == "nginx@sha256:abc"
    assert fmt.display_image("alpine") == "alpine"


# --- service ps -------------------------------------------------------------------------


def ps_tasks() -> list[dict]:
    return [
        task("t1new000000000000000000000", 1, age=9, created=30),
        task("t1old000000000000000000000", 1, state="failed", desired="shutdown",
             err="task: non-zero exit (1): the container crashed badly", age=40, created=60),
        task("t1older00000000000000000000", 1, state="shutdown", desired="shutdown",
             age=100, created=200),
        task("t10x000000000000000000000", 10, node=N2, age=70),
        task("t2000000000000000000000000", 2, state="pending", node="", age=0.2,
             err="no suitable node (scheduling constraints not satisfied on 3 nodes)"),
    ]


def test_ps_rows_history_order_and_columns():
    rows = fmt.task_rows(ps_tasks(), NAMES, NODES, NOW)
    assert [r["Name"] for r in rows] == ["web.1", " \\_ web.1", " \\_ web.1", "web.2", "web.10"]
    assert [r["ID"] for r in rows][:2] == ["t1new0000000", "t1old0000000"]
    first, failed, _, pending, tenth = rows
    assert first == {"ID": "t1new0000000", "Name": "web.1", "Image": "nginx:1.25",
                     "Node": "node-1", "DesiredState": "Running",
                     "CurrentState": "Running 9 seconds ago", "Error": "", "Ports": ""}
    assert list(first) == fmt.PS_KEYS
    assert failed["DesiredState"] == "Shutdown"
    assert failed["CurrentState"] == "Failed 40 seconds ago"
    assert failed["Error"] == '"task: non-zero exit (1): the …"'
    assert len(failed["Error"]) == 32
    assert pending["Node"] == ""
    assert pending["CurrentState"] == "Pending less than a second ago"
    assert tenth["CurrentState"] == "Running about a minute ago"
    assert tenth["Node"] == "node-2"


def test_ps_no_trunc_and_json_names_are_not_indented():
    rows = fmt.task_rows(ps_tasks(), NAMES, NODES, NOW, trunc=False, indent=False)
    assert rows[0]["ID"] == "t1new000000000000000000000"
    assert rows[0]["Image"] == "nginx:1.25@sha256:abc"
    assert rows[1]["Name"] == "web.1"
    assert rows[1]["Error"] == '"task: non-zero exit (1): the container crashed badly"'


def test_ps_global_tasks_are_named_by_node():
    tasks = [task("g1", 0, node=N2, service_id=SVC_ID), task("g2", 0, node=N1),
             task("g0", 0, node=N1, state="shutdown", desired="shutdown", created=120)]
    rows = fmt.task_rows(tasks, NAMES, NODES, NOW)
    assert [r["Name"] for r in rows] == [f"web.{N1}", f" \\_ web.{N1}", f"web.{N2}"]


def test_ps_task_ports():
    t = task("t1", 1)
    t["Status"]["PortStatus"] = {"Ports": [{"Protocol": "tcp", "TargetPort": 80,
                                            "PublishedPort": 30080, "PublishMode": "host"}]}
    assert fmt.task_rows([t], NAMES, NODES, NOW)[0]["Ports"] == "*:30080->80/tcp"


@pytest.mark.parametrize(("filters", "expected"), [
    (["desired-state=running"], {"t1new", "t10x", "t2"}),
    (["desired-state=shutdown"], {"t1old", "t1older"}),
    (["desired-state=accepted"], set()),
    (["node=node-2"], {"t10x"}),
    (["node=" + N1], {"t1new", "t1old", "t1older"}),
    (["node=n2bb"], {"t10x"}),
    (["name=web.1"], {"t1new", "t1old", "t1older", "t10x"}),
    (["name=web.1."], {"t1new", "t1old", "t1older"}),
    (["desired-state=running", "node=node-1"], {"t1new"}),
    (["desired-state=running", "desired-state=shutdown", "node=node-2"], {"t10x"}),
    (["id=t1o"], {"t1old", "t1older"}),
])
def test_ps_filters(filters, expected):
    kept = fmt.filter_tasks(ps_tasks(), fmt.parse_filters(filters), NAMES, NODES)
    assert {t["ID"].rstrip("0") for t in kept} == expected


@pytest.mark.parametrize(("value", "message"), [
    ("desired-state", "bad format of filter (expected name=value)"),
    ("color=red", "invalid filter 'color'"),
    ("desired-state=sleeping", "Invalid desired-state filter: 'sleeping'"),
])
def test_ps_filter_errors(value, message):
    with pytest.raises(SwarmletError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fmt.parse_filters([value])


# --- service inspect --pretty -----------------------------------------------------------


def test_pretty_inspect():
    svc = service(Endpoint={"Ports": [{"Protocol": "tcp", "TargetPort": 80,
                                       "PublishedPort": 8080, "PublishMode": "ingress"}]})
    spec = svc["Spec"]
    spec["Labels"] = {"tier": "front"}
    spec["EndpointSpec"] = {"Mode": "vip"}
    spec["TaskTemplate"].update({
        "Placement": {"Constraints": ["node.role==worker"],
                      "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]},
        "RestartPolicy": {"Condition": "on-failure", "Delay": 5 * 10**9, "MaxAttempts": 3},
        "Resources": {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 128 * 2**20}},
    })
    spec["TaskTemplate"]["ContainerSpec"].update({
        "Args": ["nginx", "-g", "daemon off;"], "Env": ["A=1", "B=2"], "Dir": "/srv",
        "Mounts": [{"Type": "bind", "Source": "/etc", "Target": "/e", "ReadOnly": True}],
        "Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 30 * 10**9,
                        "Retries": 3}})
    text = fmt.pretty_service(svc)
    assert text.splitlines() == [
        "", f"ID:\t\t{SVC_ID}", "Name:\t\tweb", "Labels:", " tier=front",
        "Service Mode:\tReplicated", " Replicas:\t3", "Placement:",
        " Constraints:\t[node.role==worker]", " Preferences:   [spread=node.labels.zone]",
        "RestartPolicy:", " Condition:\ton-failure", " Delay:\t\t5s", " Max Attempts:\t3",
        "ContainerSpec:", " Image:\t\tnginx:1.25@sha256:abc", " Args:\t\tnginx -g daemon off;",
        " Env:\t\tA=1 B=2", " Dir:\t\t/srv", "Mounts:", " Target:\t/e", "  Source:\t/etc",
        "  ReadOnly:\ttrue", "  Type:\t\tbind", "Resources:", " Limits:", "  CPU:\t\t0.5",
        "  Memory:\t128MiB", "Endpoint Mode:\tvip", "Ports:", " PublishedPort = 8080",
        "  Protocol = tcp", "  TargetPort = 80", "  PublishMode = ingress", " Healthcheck:",
        "  Interval = 30s", "  Retries = 3", "  StartPeriod =\t0s", "  Timeout =\t0s",
        "  Tests:", "\t Test = CMD-SHELL", "\t Test = curl -f localhost"]


def test_pretty_inspect_global_minimal():
    lines = fmt.pretty_service(service({"Global": {}})).splitlines()
    assert "Service Mode:\tGlobal" in lines
    assert "Resources:" not in lines and " Replicas:\t3" not in lines


def test_pretty_inspect_update_status_and_policies():
    svc = service(UpdateStatus={"State": "rollback_started", "StartedAt": ago(90),
                                "Message": "manually requested rollback"})
    svc["Spec"]["UpdateConfig"] = {"Parallelism": 2, "Delay": 10 * 10**9,
                                   "FailureAction": "rollback", "Monitor": 5 * 10**9,
                                   "MaxFailureRatio": 0.25, "Order": "start-first"}
    svc["Spec"]["RollbackConfig"] = {"Parallelism": 0, "Delay": 0, "FailureAction": "pause",
                                     "Monitor": 0, "MaxFailureRatio": 0, "Order": "stop-first"}
    lines = fmt.pretty_service(svc, now=NOW).splitlines()
    start = lines.index("UpdateStatus:")
    assert lines[start - 1] == " Replicas:\t3"
    assert lines[start:start + 4] == [
        "UpdateStatus:", " State:\t\trollback_started", " Started:\tAbout a minute ago",
        " Message:\tmanually requested rollback"]
    start = lines.index("UpdateConfig:")
    assert lines[start - 1] == "Placement:"
    assert lines[start:start + 15] == [
        "UpdateConfig:", " Parallelism:\t2", " Delay:\t\t10s", " On failure:\trollback",
        " Monitoring Period: 5s", " Max failure ratio: 0.25", " Update order:      start-first",
        "RollbackConfig:", " Parallelism:\t0", " On failure:\tpause",
        " Max failure ratio: 0", " Rollback order:    stop-first",
        "ContainerSpec:", " Image:\t\tnginx:1.25@sha256:abc", "Endpoint Mode:\tvip"]


def test_pretty_inspect_completed_update_shows_when():
    svc = service(UpdateStatus={"State": "completed", "StartedAt": ago(300),
                                "CompletedAt": ago(5), "Message": "update completed"})
    lines = fmt.pretty_service(svc, now=NOW).splitlines()
    start = lines.index("UpdateStatus:")
    assert lines[start:start + 5] == [
        "UpdateStatus:", " State:\t\tcompleted", " Started:\t5 minutes ago",
        " Completed:\t5 seconds ago", " Message:\tupdate completed"]
    assert "UpdateConfig:" not in lines


def test_ps_tasks_shut_down_by_an_update_are_history_under_the_new_task():
    old = task("old1", 1, state="shutdown", desired="shutdown", created=120)
    new = task("new1", 1, created=30)
    new["Spec"] = {"ContainerSpec": {"Image": "nginx:1.26"}}
    rows = fmt.task_rows([old, task("b", 2), new], NAMES, NODES, NOW)
    assert [(r["ID"], r["Name"], r["Image"]) for r in rows] == [
        ("new1", "web.1", "nginx:1.26"), ("old1", " \\_ web.1", "nginx:1.25"),
        ("b", "web.2", "nginx:1.25")]


# --- converge progress ------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeSource:
    """Serves the next scripted task list on each poll (the last one forever)."""

    def __init__(self, svc: dict, frames: list[list[dict]]) -> None:
        self.svc, self.frames, self.polls = svc, frames, 0

    def service(self) -> dict:
        return self.svc

    def tasks(self, service_id: str) -> list[dict]:
        self.polls += 1
        return self.frames[min(self.polls, len(self.frames)) - 1]

    def active_nodes(self) -> set[str]:
        return set(NODES)


def run_waiter(svc: dict, frames: list[list[dict]], tty: bool = False, **kw) -> tuple[str, float]:
    clock, out = FakeClock(), io.StringIO()
    Waiter(FakeSource(svc, frames), out=out, tty=tty, clock=clock, sleep=clock.sleep, **kw).run()
    return out.getvalue(), clock.now


def test_bar_widths():
    assert bar("running") == "[" + "=" * 50 + ">]"
    assert bar("new") == "[" + "=" * 5 + ">" + " " * 45 + "]"
    assert bar("preparing") == "[" + "=" * 33 + ">" + " " * 17 + "]"


def test_progress_converges_with_plain_lines_when_not_a_tty():
    svc = service({"Replicated": {"Replicas": 2}})
    frames = [[],
              [task("a", 1, state="pending"), task("b", 2, state="new")],
              [task("a", 1, state="preparing"), task("b", 2, state="running")],
              [task("a", 1, state="running"), task("b", 2, state="running")]]
    out, elapsed = run_waiter(svc, frames)
    running = "running   [" + "=" * 50 + ">]"
    assert out.splitlines() == [
        "overall progress: 0 out of 2 tasks",
        "1/2: pending   [" + "=" * 16 + ">" + " " * 34 + "]",
        "2/2: new       [" + "=" * 5 + ">" + " " * 45 + "]",
        "1/2: preparing [" + "=" * 33 + ">" + " " * 17 + "]",
        f"2/2: {running}",
        "overall progress: 1 out of 2 tasks",
        f"1/2: {running}",
        "overall progress: 2 out of 2 tasks",
        "verify: Waiting 5 seconds to verify that tasks are stable...",
        "verify: Waiting 4 seconds to verify that tasks are stable...",
        "verify: Waiting 3 seconds to verify that tasks are stable...",
        "verify: Waiting 2 seconds to verify that tasks are stable...",
        "verify: Waiting 1 seconds to verify that tasks are stable...",
        "verify: Service converged",
    ]
    assert 6.5 <= elapsed <= 7.5


def test_progress_on_a_tty_redraws_in_place():
    svc = service({"Replicated": {"Replicas": 1}})
    out, _ = run_waiter(svc, [[task("a", 1)]], tty=True)
    assert "\x1b[3A" in out  # back over overall, 1/1 and verify
    assert out.rstrip().endswith("verify: Service converged")


def test_progress_monitor_period_comes_from_update_config():
    svc = service({"Replicated": {"Replicas": 1}})
    svc["Spec"]["UpdateConfig"] = {"Monitor": 1_000_000_000}
    out, elapsed = run_waiter(svc, [[task("a", 1)]])
    assert "verify: Waiting 1 seconds to verify that tasks are stable..." in out
    assert elapsed <= 2


def test_progress_gives_up_on_a_task_that_cannot_be_scheduled():
    svc = service({"Replicated": {"Replicas": 1}})
    err = "no suitable node (scheduling constraints not satisfied on 3 nodes)"
    with pytest.raises(ConvergeError) as exc:
        run_waiter(svc, [[task("a", 1, state="pending", node="", err=err)]], stall_timeout=10)
    assert str(exc.value) == f"1/1: {err}"


def test_progress_gives_up_when_tasks_keep_failing():
    svc = service({"Replicated": {"Replicas": 1}})
    crash = "task: non-zero exit (1)"
    history: list[dict] = []
    frames = []
    for i in range(4):
        history = [task(f"f{i}", 1, state="failed", desired="shutdown", err=crash,
                        age=10 - i), *history]
        frames.append([task(f"r{i}", 1, state="starting", desired="running"), *history])
    with pytest.raises(ConvergeError) as exc:
        run_waiter(svc, [[], *frames])
    assert str(exc.value) == f"1/1: {crash}"


def test_progress_detects_failure_after_converging_and_recovers():
    svc = service({"Replicated": {"Replicas": 1}})
    frames = [[task("a", 1)], [task("a", 1)],
              [task("a", 1, state="failed", desired="shutdown", err="boom"),
               task("b", 1, state="starting")],
              [task("a", 1, state="failed", desired="shutdown", err="boom"), task("b", 1)]]
    out, _ = run_waiter(svc, frames)
    lines = out.splitlines()
    assert "verify: Detected task failure" in lines
    assert lines[-1] == "verify: Service converged"


def test_progress_global_service_lines_by_node():
    svc = service({"Global": {}})
    frames = [[], [task("a", 0, node=N1, state="assigned"), task("b", 0, node=N2)],
              [task("a", 0, node=N1), task("b", 0, node=N2)]]
    out, _ = run_waiter(svc, frames)
    lines = out.splitlines()
    assert lines[0] == "overall progress: waiting for new tasks"
    assert f"{N1[:12]}: assigned  [" + "=" * 22 + ">" + " " * 28 + "]" in lines
    assert "overall progress: 2 out of 2 tasks" in lines
    assert lines[-1] == "verify: Service converged"


def test_progress_quiet_prints_nothing_but_still_waits():
    svc = service({"Replicated": {"Replicas": 1}})
    out, elapsed = run_waiter(svc, [[task("a", 1, state="pending")], [task("a", 1)]], quiet=True)
    assert out == ""
    assert elapsed >= 5


# --- progress of an update / rollback ---------------------------------------------------


NEW_TEMPLATE = {"ContainerSpec": {"Image": "nginx:1.26"}, "ForceUpdate": 1}


def new_task(task_id: str, slot: int, **kw) -> dict:
    t = task(task_id, slot, **kw)
    t["Spec"] = NEW_TEMPLATE
    return t


def updated_service(status: dict | None = None, replicas: int = 2) -> dict:
    svc = service({"Replicated": {"Replicas": replicas}})
    svc["Spec"]["TaskTemplate"] = NEW_TEMPLATE
    if status is not None:
        svc["UpdateStatus"] = status
    return svc


class StatusSource(FakeSource):
    """Scripted (UpdateStatus, tasks) per poll."""

    def __init__(self, svc: dict, frames: list[tuple[dict | None, list[dict]]]) -> None:
        super().__init__(svc, [tasks for _, tasks in frames])
        self.statuses = [status for status, _ in frames]

    def service(self) -> dict:
        status = self.statuses[min(self.polls, len(self.statuses) - 1)]
        svc = dict(self.svc)
        svc.pop("UpdateStatus", None)
        if status is not None:
            svc["UpdateStatus"] = status
        return svc


def run_status(svc: dict, frames: list, **kw) -> str:
    clock, out = FakeClock(), io.StringIO()
    Waiter(StatusSource(svc, frames), out=out, tty=False, clock=clock, sleep=clock.sleep,
           **kw).run()
    return out.getvalue()


UPDATING = {"State": "updating", "StartedAt": "t1", "Message": "update in progress"}


def test_update_progress_counts_only_tasks_of_the_new_spec():
    old = [task("o1", 1), task("o2", 2)]  # running, but the old template
    frames = [(UPDATING, old),
              (UPDATING, [task("o1", 1, state="shutdown", desired="shutdown"), old[1],
                          new_task("n1", 1, state="starting")]),
              (UPDATING, [task("o1", 1, state="shutdown", desired="shutdown"), old[1],
                          new_task("n1", 1)]),
              (UPDATING, [new_task("n1", 1), new_task("n2", 2)])]
    lines = run_status(updated_service(), frames).splitlines()
    assert lines[0] == "overall progress: 0 out of 2 tasks"
    assert "overall progress: 1 out of 2 tasks" in lines
    assert lines.index("overall progress: 1 out of 2 tasks") < lines.index(
        "overall progress: 2 out of 2 tasks")
    assert lines[-1] == "verify: Service converged"


def test_progress_picks_the_newest_task_of_a_slot():
    failed = new_task("f1", 1, state="failed", desired="shutdown", err="boom", created=50)
    older = new_task("a1", 1, state="running", created=40)
    newer = new_task("a2", 1, state="running", created=10)
    chosen = pick_current([failed, newer, older], lambda t: t["Slot"])
    assert chosen[1]["ID"] == "a2"
    assert pick_current([failed, older, newer], lambda t: t["Slot"])[1]["ID"] == "a2"


def test_manual_rollback_progress_line_and_totals():
    started = {"State": "rollback_started", "StartedAt": "t2",
               "Message": "manually requested rollback"}
    frames = [(started, [new_task("n1", 1, state="starting")]),
              (started, [new_task("n1", 1)])]
    lines = run_status(updated_service(replicas=1), frames).splitlines()
    assert lines[0] == "rollback: manually requested rollback"
    assert "overall progress: rolling back update: 0 out of 1 tasks" in lines
    assert "overall progress: rolling back update: 1 out of 1 tasks" in lines
    assert lines.count("rollback: manually requested rollback") == 1
    assert lines[-1] == "verify: Service converged"


def test_rollback_completed_before_convergence_is_said_after_it():
    done = {"State": "rollback_completed", "StartedAt": "t2", "Message": "rollback completed"}
    lines = run_status(updated_service(replicas=1), [(done, [new_task("n1", 1)])]).splitlines()
    assert lines[-2:] == ["verify: Service converged", "rollback: rollback completed"]


@pytest.mark.parametrize(("state", "message"), [
    ("paused", "service update paused: update paused due to failure or early termination of "
     "task n1"),
    ("rollback_paused", "service rollback paused: update paused due to failure or early "
     "termination of task n1"),
])
def test_paused_update_or_rollback_is_an_error(state, message):
    status = {"State": state, "StartedAt": "t1",
              "Message": "update paused due to failure or early termination of task n1"}
    with pytest.raises(ConvergeError) as exc:
        run_status(updated_service(replicas=1), [(UPDATING, []), (status, [])])
    assert str(exc.value) == message


def test_update_completed_before_convergence_ends_the_wait():
    completed = {"State": "completed", "StartedAt": "t1", "Message": "update completed"}
    out = run_status(updated_service(replicas=1),
                     [(UPDATING, [new_task("n1", 1, state="starting")]), (completed, [])])
    assert "verify" not in out


def test_an_update_status_from_before_the_request_is_ignored():
    stale = {"State": "paused", "StartedAt": "t0", "Message": "update paused"}
    frames = [(stale, [new_task("n1", 1, state="starting")]), (stale, [new_task("n1", 1)])]
    lines = run_status(updated_service(replicas=1), frames, stale_status=dict(stale)).splitlines()
    assert lines[-1] == "verify: Service converged"
    completed = {"State": "completed", "StartedAt": "t0"}
    out = run_status(updated_service(replicas=1), [(completed, [new_task("n1", 1)])],
                     stale_status=completed)
    assert out.splitlines()[-1] == "verify: Service converged"


def test_pretty_inspect_secrets_and_configs():
    svc = service()
    svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"] = [
        {"File": {"Name": "mysql_pw"}, "SecretID": "s1", "SecretName": "db_password"}]
    svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"] = [
        {"File": {"Name": "/etc/web.conf"}, "ConfigID": "c1", "ConfigName": "web.conf"}]
    lines = fmt.pretty_service(svc).splitlines()
    start = lines.index("Secrets:")
    assert lines[start:start + 6] == ["Secrets:", " Target:\tmysql_pw", "  Source:\tdb_password",
                                      "Configs:", " Target:\t/etc/web.conf",
                                      "  Source:\tweb.conf"]
