"""A Docker volume plugin for tests/integration/test_volumes.py: the volume-plugin protocol
(Plugin.Activate, VolumeDriver.Create/Remove/Mount/Unmount/Path/Get/List/Capabilities, each a
POST of JSON over HTTP on a unix socket) that keeps each volume as a directory under DATA
and appends every call it answers to LOG, one JSON object a line:
{"Call": "Mount", "Name": "db", "ID": "...", "Opts": {...}}.

Its volumes are of global scope, as rex-ray's are: the data outlives a mount, so a task that
moves to another node finds what the last one wrote. Standard library only: the test runs it
as a managed plugin (`docker plugin create` from a folder) on the host's own Python
(test_volumes.py).

    python3 volume_plugin.py SOCKET DATA LOG
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"


class Volumes:
    def __init__(self, data: Path, log: Path) -> None:
        self.root = data / "volumes"
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.lock = threading.Lock()
        self.mounts: dict[str, set[str]] = {}  # volume -> IDs of the mounts that hold it

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("Name") or "")
        with self.lock:
            if method.startswith("VolumeDriver."):
                with self.log.open("a") as out:
                    out.write(json.dumps({"Call": method.split(".", 1)[1], **body}) + "\n")
            return self._answer(method, name, body)

    def _answer(self, method: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        path = self.root / name
        if method == "Plugin.Activate":
            return {"Implements": ["VolumeDriver"]}
        if method == "VolumeDriver.Capabilities":
            return {"Capabilities": {"Scope": "global"}}
        if method == "VolumeDriver.List":
            return {"Volumes": [{"Name": p.name, "Mountpoint": str(p)}
                                for p in sorted(self.root.iterdir())], "Err": ""}
        if not name or "/" in name or name in (".", ".."):
            return {"Err": f"bad volume name {name!r}"}
        if method == "VolumeDriver.Create":
            path.mkdir(exist_ok=True)  # its options are in the log
            return {"Err": ""}
        if not path.is_dir():
            return {"Err": f"no such volume: {name}"}
        if method == "VolumeDriver.Get":
            return {"Volume": {"Name": name, "Mountpoint": str(path), "Status": {}}, "Err": ""}
        if method == "VolumeDriver.Path":
            return {"Mountpoint": str(path), "Err": ""}
        if method == "VolumeDriver.Mount":
            self.mounts.setdefault(name, set()).add(str(body.get("ID")))
            return {"Mountpoint": str(path), "Err": ""}
        if method == "VolumeDriver.Unmount":
            self.mounts.get(name, set()).discard(str(body.get("ID")))
            return {"Err": ""}
        if method == "VolumeDriver.Remove":
            if self.mounts.get(name):
                return {"Err": f"volume {name} is mounted"}
            shutil.rmtree(path)
            return {"Err": ""}
        return {}


def handler(volumes: Volumes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # dockerd keeps its connection open

        def address_string(self) -> str:
            return "dockerd"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            method = self.path.lstrip("/")
            try:
                body = json.loads(self._read() or b"{}") or {}
            except ValueError:
                body = {}
            answer = volumes.call(method, body if isinstance(body, dict) else {})
            data = json.dumps(answer).encode()
            self.send_response(200 if answer else 404)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _read(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data

    return Handler


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main() -> None:
    socket_path, data, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    server = Server(str(socket_path), handler(Volumes(data, log)))
    os.chmod(socket_path, 0o600)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    finally:
        socket_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
