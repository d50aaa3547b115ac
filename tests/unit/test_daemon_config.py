"""swarmletd's config file: defaults, validation, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmlet.errors import SwarmletError
from swarmlet.node.config import Config, load_config, parse_config


def test_missing_file_gives_the_defaults(tmp_path):
    config = load_config(tmp_path / "none.yml")
    assert config == Config()
    assert config.data_dir == Path("/var/lib/swarmlet")
    assert config.socket == Path("/run/swarmlet/swarmlet.sock")
    assert config.listen_host_port == ("0.0.0.0", 2377)


def test_a_full_file_is_read(tmp_path):
    path = tmp_path / "swarmlet.yml"
    path.write_text("advertise_addr: 198.18.0.2\nlisten_addr: 198.18.0.2:4000\n"
                    "data_dir: /srv/swarmlet\nlog_level: debug\nheartbeat_period: 1.5\n"
                    "cluster_connections_per_peer: 200\n")
    config = load_config(path)
    assert config.advertise_addr == "198.18.0.2"
    assert config.listen_host_port == ("198.18.0.2", 4000)
    assert config.data_dir == Path("/srv/swarmlet")
    assert config.heartbeat_period == 1.5
    assert config.cluster_connections_per_peer == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"data_dirx": "/x"}, "unknown key 'data_dirx'"),
        ({"raft_port": "x"}, "raft_port must be int"),
        ({"raft_port": True}, "raft_port must be int"),
        ({"listen_addr": "nohost:2377"}, 'invalid address "nohost:2377"'),
        ({"listen_addr": "1.2.3.4:99999"}, 'invalid port in "1.2.3.4:99999"'),
        ({"advertise_addr": "foo"}, 'invalid address "foo"'),
        ({"log_level": "loud"}, "log_level must be one of"),
        ({"heartbeat_period": 0}, "heartbeat_period must be more than 0"),
        ({"cluster_connections_per_peer": 0}, "cluster_connections_per_peer must be at least"),
        ({"cluster_connections_per_peer": "many"}, "cluster_connections_per_peer must be int"),
    ],
)
def test_bad_settings_are_named(data, message):
    with pytest.raises(SwarmletError, match=message.replace("(", r"\(")):
        parse_config(data, source="swarmlet.yml")


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "swarmlet.yml"
    path.write_text("a: [\n")
    with pytest.raises(SwarmletError, match="is not valid YAML"):
        load_config(path)
