"""The swarm's init options and a service's container options reaching reality, on two
local machines: a swarm made with its own address pool, subnet size, data path port and
root CA; one service with every container option at once, whose containers show them
(docker inspect, and commands inside them), and whose tasks on the two nodes talk over the
overlay on the swarm's VXLAN port."""

from __future__ import annotations

import json
import subprocess

import pytest
from swarm_cluster import Cluster, eventually, running_cluster

from swarmlet.ca.authority import RootCA

MANAGER, WORKER = "co-1", "co-2"
IMAGE = "swarmlet/demo:latest"
OPTIONS = ("--dns 192.0.2.53 --dns-search example.org --dns-option ndots:2 "
           "--host db.local:192.0.2.7 --group 1234 --init --read-only -t "
           "--sysctl net.core.somaxconn=1024 --cap-add NET_ADMIN --cap-drop CHOWN "
           "--ulimit nofile=1000:2000 --log-driver json-file --log-opt max-size=1m "
           "--mount type=bind,source=/srv,target=/host-srv,readonly,bind-propagation=private "
           "--mount type=tmpfs,target=/tmp")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    root = RootCA.create()
    folder = tmp_path_factory.mktemp("co-ca")  # /tmp: the machines share it
    (folder / "ca.pem").write_bytes(root.cert_pem)
    (folder / "ca.key").write_bytes(root.key_pem)
    return root, folder


@pytest.fixture(scope="module")
def cluster(swarmlet, ca):
    _root, folder = ca
    init = (f"--default-addr-pool 10.123.0.0/16 --default-addr-pool-mask-length 26 "
            f"--data-path-port 9789 --ca-cert {folder}/ca.pem --ca-key {folder}/ca.key")
    with running_cluster(swarmlet, [MANAGER], [WORKER], init=init) as c:
        yield c


def docker(*args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


def test_the_swarm_has_its_pools_port_and_root_ca(cluster: Cluster, ca) -> None:
    swarm = cluster.api(MANAGER, "/swarm")
    assert swarm["DefaultAddrPool"] == ["10.123.0.0/16"] and swarm["SubnetSize"] == 26
    assert swarm["DataPathPort"] == 9789
    assert swarm["TLSInfo"]["TrustRoot"].strip() == ca[0].cert_pem.decode().strip()
    assert "SigningCAKey" not in json.dumps(swarm)
    ingress = json.loads(cluster.cli(MANAGER, "network inspect ingress"))[0]
    assert ingress["IPAM"]["Config"][0]["Subnet"] == "10.123.0.0/26"
    # the worker joined with a token whose digest is of this CA, and trusts it
    assert len(cluster.nodes(MANAGER)) == 2


def test_a_service_with_every_container_option(cluster: Cluster) -> None:
    cluster.cli(MANAGER, "network create -d overlay front")
    front = json.loads(cluster.cli(MANAGER, "network inspect front"))[0]
    assert front["IPAM"]["Config"][0]["Subnet"] == "10.123.0.64/26"
    cluster.cli(MANAGER, f"service create -d --name opts --mode global --network front "
                         f"{OPTIONS} {IMAGE} sleep 600")
    try:
        def containers():
            names = docker("ps", "-q", "--filter", "label=swarmlet.service.name=opts").split()
            return names if len(names) == 2 else None

        try:
            ids = eventually(containers, timeout=60)
        except AssertionError:
            raise AssertionError(cluster.cli(MANAGER, "service ps --no-trunc opts")) from None
        attrs = [json.loads(docker("inspect", c))[0] for c in ids]
        host, config = attrs[0]["HostConfig"], attrs[0]["Config"]
        assert host["Init"] is True and host["ReadonlyRootfs"] is True and config["Tty"]
        assert host["CapAdd"] == ["CAP_NET_ADMIN"] and host["CapDrop"] == ["CAP_CHOWN"]
        assert host["Sysctls"] == {"net.core.somaxconn": "1024"}
        assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1000, "Hard": 2000}]
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
        assert host["GroupAdd"] == ["1234"] and host["ExtraHosts"] == ["db.local:192.0.2.7"]
        assert host["DnsSearch"] == ["example.org"] and host["DnsOptions"] == ["ndots:2"]
        bind = next(m for m in attrs[0]["Mounts"] if m["Destination"] == "/host-srv")
        assert bind["Propagation"] == "private"  # (rslave: dockerd wants a shared /)

        def sh(command: str) -> str:
            return docker("exec", ids[0], "sh", "-c", command)

        assert "192.0.2.7\tdb.local" in sh("cat /etc/hosts")
        resolv = sh("cat /etc/resolv.conf")
        assert "search example.org" in resolv and "ndots:2" in resolv
        assert "1234" in sh("id -G")
        assert sh("ulimit -n").strip() == "1000"
        assert sh("cat /proc/sys/net/core/somaxconn").strip() == "1024"
        assert "Read-only file system" in sh("touch /root-is-read-only")
        assert sh("cat /proc/1/comm").strip() == "docker-init"

        # the two tasks, one per node, reach each other across the swarm's VXLAN port
        vni = front["Options"].get("com.docker.network.driver.overlay.vxlanid_list") or \
            cluster.api(MANAGER, f"/networks/{front['Id']}")["DriverState"]["Options"][
                "com.docker.network.driver.overlay.vxlanid_list"]
        link = cluster.run(WORKER, f"ip -d link show swlx-{vni}").stdout
        assert "dstport 9789" in link
        other = attrs[1]["NetworkSettings"]["Networks"]
        address = next(n["IPAddress"] for n in other.values() if n.get("IPAddress"))
        assert "1 packets received" in sh(f"ping -c 1 -W 3 {address}")
    finally:
        cluster.cli(MANAGER, "service rm opts", check=False)
        eventually(lambda: not docker("ps", "-aq", "--filter",
                                      "label=swarmlet.service.name=opts").strip(), timeout=60)
        cluster.cli(MANAGER, "network rm front", check=False)
