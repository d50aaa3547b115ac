"""A manager's keys on its disk (node/keys.py, ca/kek.py): sealed with the KEK file, or with
the swarm's unlock key under autolock; what a copy of the data dir holds; the upgrade from
a clear raft.key; a demotion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swarmlet.ca.authority import RootCA
from swarmlet.ca.files import NODE_KEY_FILE
from swarmlet.ca.kek import (
    InvalidUnlockKey,
    KekFile,
    format_unlock_key,
    new_kek,
    parse_unlock_key,
)
from swarmlet.ca.node import NodeCertificates, make_csr, new_key
from swarmlet.ca.node_state import NodeFiles
from swarmlet.ca.tls import client_context
from swarmlet.ca.tls_server import server_context
from swarmlet.errors import SwarmletError
from swarmlet.node.keys import LocalKeys, NotLocked
from swarmlet.store.keyring import RaftKeyRing

RAFT_KEY = "raft-key-0f3b9e2c"


def manager_files(tmp_path: Path) -> tuple[NodeFiles, KekFile]:
    root = RootCA.create()
    files = NodeFiles(tmp_path / "data")
    key = new_key()
    NodeCertificates(key, root.sign_csr(make_csr(key), "m1", "manager", "c1"),
                     root.cert_pem).save(files.certs_dir)
    return files, KekFile(tmp_path / "etc" / "swarm.kek")


def data_dir_text(files: NodeFiles) -> str:
    return "".join(p.read_text(errors="replace") for p in files.data_dir.rglob("*")
                   if p.is_file())


def test_keys_are_sealed_with_a_kek_file_outside_the_data_dir(tmp_path):
    files, kek_file = manager_files(tmp_path)
    keys = LocalKeys(files, kek_file)
    keys.create(RaftKeyRing.single(RAFT_KEY))
    text = data_dir_text(files)
    assert RAFT_KEY not in text and "BEGIN PRIVATE KEY" not in text
    assert "BEGIN ENCRYPTED PRIVATE KEY" in (files.certs_dir / NODE_KEY_FILE).read_text()
    assert kek_file.path.stat().st_mode & 0o777 == 0o600
    # TLS works with the password the keys hold
    server_context(files.certs_dir, files.node_key_password)
    client_context(files.certs_dir, None, files.node_key_password)

    again = LocalKeys(NodeFiles(files.data_dir), kek_file)  # the agent starts again
    again.open()
    assert again.ring is not None and again.ring.key(0) == RAFT_KEY
    assert again.files.node_key_password == files.node_key_password
    kek_file.remove()
    with pytest.raises(SwarmletError, match=r"key-encryption key .* is missing"):
        LocalKeys(NodeFiles(files.data_dir), kek_file).open()


def test_autolock_seals_with_the_unlock_key_and_the_manager_starts_locked(tmp_path):
    files, kek_file = manager_files(tmp_path)
    keys = LocalKeys(files, kek_file)
    keys.create(RaftKeyRing({0: RAFT_KEY, 1: "second"}, send_epoch=1))
    unlock = new_kek()
    assert keys.relock(unlock) and not keys.relock(unlock)
    assert not kek_file.path.exists()  # nothing on any disk opens the keys now

    restarted = LocalKeys(NodeFiles(files.data_dir), kek_file)
    assert restarted.sealed_with_unlock_key()
    with pytest.raises(SwarmletError, match="locked"):
        restarted.open()
    for wrong in ("SWMKEY-1-short", "nonsense", format_unlock_key(new_kek())):
        with pytest.raises(InvalidUnlockKey,
                           match="swarm could not be unlocked: invalid key provided"):
            restarted.unlock(wrong)
    restarted.unlock(format_unlock_key(unlock))
    assert restarted.ring is not None and restarted.ring.send_epoch == 1
    server_context(files.certs_dir, restarted.files.node_key_password)

    assert restarted.relock(None)  # autolock off: a KEK file again
    assert kek_file.read() is not None
    with pytest.raises(NotLocked):
        restarted.unlock(format_unlock_key(unlock))
    LocalKeys(NodeFiles(files.data_dir), kek_file).open()


def test_a_clear_raft_key_of_an_older_release_is_sealed_at_start(tmp_path):
    files, kek_file = manager_files(tmp_path)
    files.swarm_dir.mkdir(parents=True)
    (files.swarm_dir / "raft.key").write_text(RAFT_KEY)
    keys = LocalKeys(files, kek_file)
    keys.open()
    assert keys.ring is not None and keys.ring.key(0) == RAFT_KEY
    assert not (files.swarm_dir / "raft.key").exists()
    assert RAFT_KEY not in data_dir_text(files)
    assert json.loads((files.swarm_dir / "keys.json").read_text())["Lock"] == "file"


def test_a_demoted_manager_keeps_no_key(tmp_path):
    files, kek_file = manager_files(tmp_path)
    keys = LocalKeys(files, kek_file)
    keys.create(RaftKeyRing.single(RAFT_KEY))
    keys.forget()
    assert not (files.swarm_dir / "keys.json").exists() and not kek_file.path.exists()
    assert (files.certs_dir / NODE_KEY_FILE).read_text().startswith("-----BEGIN PRIVATE KEY")
    client_context(files.certs_dir, None, None)  # a worker's plain key


def test_unlock_keys_read_as_docker_prints_them():
    kek = new_kek()
    text = format_unlock_key(kek)
    assert text.startswith("SWMKEY-1-") and len(text) == 9 + 43 and "=" not in text
    assert parse_unlock_key(f"  {text}\n") == kek
    with pytest.raises(InvalidUnlockKey):
        parse_unlock_key(text[:-2])
