"""`swarmlet visualizer` in a real browser (Debian's chromium, driven by Playwright) on the
shared three-machine swarm: a column per node, cards that arrive live when a service scales,
a drained node's column emptied, a stopped machine shown Down, and a token that keeps out
whoever lacks it. Screenshots are kept in $SWARMLET_TEST_ARTIFACTS (default
tests/artifacts/visualizer/)."""

from __future__ import annotations

import os
import secrets
import shlex
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from swarm_cluster import (
    SHARED_MANAGER,
    SHARED_WORKERS,
    Cluster,
    eventually,
    shared_cluster,  # noqa: F401 (a fixture)
)

MANAGER, (W1, W2) = SHARED_MANAGER, SHARED_WORKERS
IMAGE = "swarmlet/demo:latest"
PORT = 8888
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("SWARMLET_TEST_ARTIFACTS") or
                 Path(__file__).resolve().parents[1] / "artifacts") / "visualizer"
SERVICES = ("viz-web", "viz-cache", "viz-agent")


@pytest.fixture(scope="module")
def cluster(shared_cluster):  # noqa: F811 (the fixture imported above)
    return shared_cluster


@pytest.fixture(scope="module")
def visualizer(cluster: Cluster) -> Iterator[tuple[str, str]]:
    """The visualizer on the manager's underlay address, guarded by a token; yields its URL
    and the token. Stopped by its own PID."""
    token = secrets.token_hex(16)
    ip = cluster.machines.ip(MANAGER)
    cluster.run(MANAGER, f"sh -c 'umask 077; printf %s {token} > /run/swarmlet/viz-token'")
    command = (f"swarmlet visualizer --listen {ip}:{PORT} --token-file /run/swarmlet/viz-token"
               " > /run/swarmlet/visualizer.log 2>&1 < /dev/null & echo $!")
    pid = int(cluster.run(MANAGER, f"setsid sh -c {shlex.quote(command)}").stdout.strip())
    url = f"http://{ip}:{PORT}/"
    try:
        eventually(lambda: status(url, token) == 200, timeout=20)
        yield url, token
    finally:
        cluster.run(MANAGER, f"kill {pid}", check=False)
        log = cluster.run(MANAGER, "cat /run/swarmlet/visualizer.log", check=False).stdout
        cluster.run(MANAGER, "rm -f /run/swarmlet/visualizer.log /run/swarmlet/viz-token",
                    check=False)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "visualizer.log").write_text(log)
        assert token not in log  # tokens never reach a log


def status(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # not listening yet (URLError is one)
        return 0


@pytest.fixture(scope="module")
def page(visualizer: tuple[str, str]):
    url, token = visualizer
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 720})
            tab.goto(f"{url}?token={token}")  # once: the server keeps it in a cookie
            yield tab
        finally:
            browser.close()


@pytest.fixture(scope="module")
def services(cluster: Cluster) -> Iterator[None]:
    yield
    cluster.cli(MANAGER, f"service rm {' '.join(SERVICES)}", check=False)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Arriving cards fade in: headless Chromium may hold an animation at its first frame.
    # The body: the page's content, whatever its height.
    page.locator("body").screenshot(path=str(ARTIFACTS / f"{name}.png"), animations="disabled")


def wait_cards(page, count: int, timeout: float = 30) -> None:
    """Until the page shows `count` task cards. A function, not an expression: the page's
    Content-Security-Policy forbids evaluating strings."""
    page.wait_for_function("n => document.querySelectorAll('[data-task]').length === n",
                           arg=count, timeout=timeout * 1000)


def cards(page, hostname: str) -> int:
    return page.locator(f'[data-hostname="{hostname}"] [data-task]').count()


def test_without_the_token_the_page_is_refused(visualizer: tuple[str, str]) -> None:
    url, token = visualizer
    assert status(url) == 401
    assert status(f"{url}stream") == 401
    assert status(url, token="not-" + token) == 401
    assert status(f"{url}?token=not-{token}") == 401


def test_a_column_per_node(page) -> None:
    page.wait_for_function("() => document.querySelectorAll('[data-node]').length === 3")
    hostnames = page.locator("[data-node]").evaluate_all("cs => cs.map(c => c.dataset.hostname)")
    assert hostnames == [MANAGER, W1, W2]  # the manager first
    assert "★" in page.locator(f'[data-hostname="{MANAGER}"] .leader').inner_text()
    assert page.locator(".status.live").count() == 1
    shot(page, "1-empty")


def test_scaling_adds_the_cards_live(page, cluster: Cluster, services) -> None:
    cluster.cli(MANAGER, f"service create --name viz-web --replicas 2 {IMAGE}")
    wait_cards(page, 2)
    page.evaluate("() => { window.notReloaded = true; }")
    cluster.cli(MANAGER, "service scale -d viz-web=5")
    scaled = time.monotonic()
    wait_cards(page, 5, timeout=2)
    elapsed = time.monotonic() - scaled
    assert elapsed < 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "scale-to-cards.txt").write_text(f"{elapsed:.2f} s after scale -d returned\n")
    assert page.evaluate("() => window.notReloaded === true")
    names = page.locator("[data-task] .name").all_inner_texts()
    assert sorted(names) == [f"viz-web.{i}" for i in range(1, 6)]
    cluster.cli(MANAGER, f"service create -d --name viz-cache --replicas 2 {IMAGE}")
    cluster.cli(MANAGER, f"service create -d --name viz-agent --mode global {IMAGE}")
    wait_cards(page, 10)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-task] .state')].every(s => "
        "s.textContent === 'running')", timeout=30_000)
    shot(page, "2-scaled")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: columns one under another
    shot(page, "2-scaled-phone")
    page.set_viewport_size({"width": 1280, "height": 720})


def test_draining_a_node_empties_its_column(page, cluster: Cluster, services) -> None:
    assert cards(page, W1) > 0
    cluster.cli(MANAGER, f"node update --availability drain {W1}")
    try:
        eventually(lambda: cards(page, W1) == 0, timeout=20)
        assert "drain" in page.locator(f'[data-hostname="{W1}"] .avail').inner_text()
        shot(page, "3-drained")
    finally:
        cluster.cli(MANAGER, f"node update --availability active {W1}")
    eventually(lambda: page.locator(f'[data-hostname="{W1}"] .avail').inner_text() == "active")


def test_a_stopped_machine_shows_down(page, cluster: Cluster) -> None:
    column = page.locator(f'[data-hostname="{W2}"]')
    cluster.machines("machine", "stop", W2)
    try:
        # The leader marks it down after its heartbeats stop; the page follows the store.
        eventually(lambda: cluster.nodes(MANAGER)[W2]["Status"] == "Down", timeout=60)
        try:
            eventually(lambda: "down" in (column.get_attribute("class") or "").split(),
                       timeout=5)
        finally:
            shot(page, "4-down")
        assert column.locator(".badge.state").inner_text() == "down"
    finally:
        cluster.machines("machine", "start", W2)
    eventually(lambda: cluster.nodes(MANAGER)[W2]["Status"] == "Ready", timeout=60)
    eventually(lambda: column.locator(".badge.state").inner_text() == "ready")
    assert page.evaluate("() => window.notReloaded === true")
