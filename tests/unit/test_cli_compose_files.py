"""`stack deploy -c`'s reading of compose files (cli/compose_files.py): YAML as Docker's
yaml.v3 reads it, interpolation from the environment and .env, and the files a compose file
names, each error naming the file, the key and the variable."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

from swarmlet.cli.compose_files import (
    ComposeFileError,
    load_compose_files,
    parse_dotenv,
    parse_yaml,
    substitute,
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(tmp_path: Path, *names: str, env: dict[str, str] | None = None, **kw):
    return load_compose_files(list(names), environ=env or {}, cwd=str(tmp_path), **kw)


def config(body: dict, index: int = 0) -> dict:
    return body["Files"][index]["Config"]


# --- YAML -------------------------------------------------------------------------------------

def test_anchors_merge_keys_and_extension_fields() -> None:
    data = parse_yaml("""
x-defaults: &defaults
  image: web:1
  deploy: {replicas: 2}
services:
  a:
    <<: *defaults
    deploy: {replicas: 5}
  b: *defaults
""", "f.yml")
    assert data["services"]["a"] == {"image": "web:1", "deploy": {"replicas": 5}}
    assert data["services"]["b"] == {"image": "web:1", "deploy": {"replicas": 2}}


def test_scalars_are_read_as_docker_reads_them() -> None:
    data = parse_yaml("""
ports: [22:22, 8080:80, 3000:50]
labels: {a: yes, b: on, c: y, d: true, e: False}
mode: 0440
hex: 0x1F
big: 1_000
float: 1e3
date: 2024-01-01
empty:
tilde: ~
""", "f.yml")
    assert data["ports"] == ["22:22", "8080:80", "3000:50"]  # not base-60 numbers
    assert data["labels"] == {"a": "yes", "b": "on", "c": "y", "d": True, "e": False}
    assert (data["mode"], data["hex"], data["big"], data["float"]) == (0o440, 31, 1000, 1000.0)
    assert data["date"] == "2024-01-01"
    assert data["empty"] is None and data["tilde"] is None


@pytest.mark.parametrize("text, message", [
    ("services:\n  web:\n    image: a\n    image: b\n",
     'f.yml: yaml: line 4, column 5: mapping key "image" already defined at line 3'),
    ("services:\n  web:\n   image: a\n  ports: [\n", "f.yml: yaml: line 5"),
    ("- a\n- b\n", "f.yml: top-level object must be a mapping"),
    ("", "f.yml: top-level object must be a mapping"),
    ("services:\n  web:\n    1: a\n", "f.yml: Non-string key in services.web: 1"),
    ("when: !!timestamp 2024-01-01\n", "f.yml: when: unsupported value"),
])
def test_bad_yaml_names_the_file(text: str, message: str) -> None:
    with pytest.raises(ComposeFileError) as err:
        parse_yaml(text, "f.yml")
    assert str(err.value).startswith(message)


# --- interpolation ------------------------------------------------------------------------------

VARS = {"FOO": "first", "EMPTY": ""}


@pytest.mark.parametrize("template, expected", [
    ("$FOO and ${FOO}", "first and first"),
    ("$FOO-x", "first-x"),               # unbraced: the name only
    ("${MISSING}|${EMPTY}|$MISSING", "||"),
    ("${MISSING:-def} ${MISSING-def}", "def def"),
    ("${EMPTY:-def}|${EMPTY-def}", "def|"),
    ("${FOO:-def}", "first"),
    ("${EMPTY:+alt}|${EMPTY+alt}|${MISSING+alt}", "|alt|"),
    ("${MISSING:-/non:-alpha}", "/non:-alpha"),
    ("${MISSING:-${FOO}-2}", "first-2"),  # a default may hold a variable
    ("$${FOO} costs $$5", "${FOO} costs $5"),
    ("${FOO:?must-be set}", "first"),
])
def test_substitute(template: str, expected: str) -> None:
    assert substitute(template, VARS.get) == expected


def test_interpolated_values_are_cast_where_docker_casts_them(tmp_path: Path) -> None:
    write(tmp_path, "c.yml", """
services:
  web:
    image: "web:${TAG}"
    read_only: "${RO}"
    deploy:
      replicas: ${N}
      update_config: {max_failure_ratio: "${RATIO}"}
    ports: [{target: "${PORT}", published: 8080}]
    labels: {n: "${N}"}
networks:
  front: {external: "${EXT}"}
""")
    env = {"TAG": "2", "N": "3", "RO": "yes", "RATIO": "0.5", "PORT": "80", "EXT": "no"}
    body = config(load(tmp_path, "c.yml", env=env))
    assert body["networks"] == {"front": {"external": False}}
    web = body["services"]["web"]
    assert web["image"] == "web:2" and web["read_only"] is True
    assert web["deploy"] == {"replicas": 3, "update_config": {"max_failure_ratio": 0.5}}
    assert web["ports"] == [{"target": 80, "published": 8080}]
    assert web["labels"] == {"n": "3"}  # labels are strings: not cast


@pytest.mark.parametrize("value, env, message", [
    ("${TAG:?set TAG to the release}", {},
     "c.yml: error while interpolating services.web.image: required variable TAG is missing "
     "a value: set TAG to the release"),
    ("${TAG:?}", {"TAG": ""},
     "c.yml: error while interpolating services.web.image: required variable TAG is missing "
     "a value"),
    ("${TAG?unset}", {}, "required variable TAG is missing a value: unset"),
    ("price: $5", {}, 'c.yml: invalid interpolation format for services.web.image: "price: '
     '$5"; you may need to escape any $ with another $'),
    ("${TAG", {}, "invalid interpolation format for services.web.image"),
    ("${ TAG}", {}, "invalid interpolation format"),
    ("${TAG!}", {}, "invalid interpolation format"),
])
def test_interpolation_errors_name_file_key_and_variable(tmp_path: Path, value: str,
                                                         env: dict, message: str) -> None:
    write(tmp_path, "c.yml", f"services:\n  web:\n    image: '{value}'\n")
    with pytest.raises(ComposeFileError) as err:
        load(tmp_path, "c.yml", env=env)
    assert message in str(err.value)


def test_a_cast_that_fails_names_the_key(tmp_path: Path) -> None:
    write(tmp_path, "c.yml", "services:\n  web:\n    deploy:\n      replicas: ${N}\n")
    with pytest.raises(ComposeFileError, match=r'c.yml: error while interpolating '
                       r'services.web.deploy.replicas: .*"three" is not a number'):
        load(tmp_path, "c.yml", env={"N": "three"})


def test_list_items_are_named_by_index(tmp_path: Path) -> None:
    write(tmp_path, "c.yml", "services:\n  web:\n    ports: ['80:80', '${P:?}']\n")
    with pytest.raises(ComposeFileError, match=r"services\.web\.ports\[1\]: required "
                       "variable P"):
        load(tmp_path, "c.yml")


def test_dotenv_in_the_first_files_directory_and_environment_wins(tmp_path: Path) -> None:
    write(tmp_path, "app/c.yml", "services:\n  web:\n    image: ${IMAGE}:${TAG}\n")
    write(tmp_path, "app/.env", "IMAGE=shop\nTAG=1\n")
    write(tmp_path, ".env", "IMAGE=wrong\n")
    body = load(tmp_path, "app/c.yml", env={"TAG": "2"})
    assert config(body)["services"]["web"]["image"] == "shop:2"
    assert body["WorkingDir"] == str(tmp_path / "app")


def test_dotenv_syntax() -> None:
    text = """\ufeff# comment
export A=plain value # a comment
B='single $A \\n'
C="double ${A}\\nnext \\$A"
D="multi
line"
E=${A:-x}-more
INHERITED
EMPTY=
"""
    values = parse_dotenv(text, ".env", {"INHERITED": "from env"})
    assert values == {"A": "plain value", "B": "single $A \\n",
                      "C": "double plain value\nnext $A", "D": "multi\nline",
                      "E": "plain value-more", "INHERITED": "from env", "EMPTY": ""}


@pytest.mark.parametrize("text, message", [
    ('A="open\nB=1\n', ".env: line 1: unterminated quoted value"),
    ("A B=1\n", ".env: line 1: invalid variable name 'A B'"),
    ("A=${B:?needed}\n", ".env: line 1: required variable B is missing a value: needed"),
])
def test_dotenv_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ComposeFileError, match=message):
        parse_dotenv(text, ".env", {})


def test_bare_environment_entries_take_the_clients_values(tmp_path: Path) -> None:
    write(tmp_path, "c.yml", """
services:
  a: {image: x, environment: [FOO, UNSET, BAR=1]}
  b: {image: x, environment: {FOO: null, UNSET: null, BAR: "1"}}
""")
    services = config(load(tmp_path, "c.yml", env={"FOO": "f"}))["services"]
    assert services["a"]["environment"] == ["FOO=f", "UNSET", "BAR=1"]
    assert services["b"]["environment"] == {"FOO": "f", "UNSET": None, "BAR": "1"}


# --- several files, stdin, named files ---------------------------------------------------------

def test_files_in_order_with_their_names_and_stdin(tmp_path: Path) -> None:
    write(tmp_path, "base.yml", "services:\n  web: {image: a}\n")
    body = load(tmp_path, "base.yml", "-", stdin=io.StringIO("services:\n  web: {image: b}\n"))
    assert [f["Filename"] for f in body["Files"]] == ["base.yml", "<stdin>"]
    assert [config(body, i)["services"]["web"]["image"] for i in (0, 1)] == ["a", "b"]


def test_named_files_are_sent_relative_to_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path, "app/c.yml", """
services:
  web:
    image: x
    env_file: [web.env, {path: ./optional.env, required: false}]
  db: {image: y, env_file: conf/db.env}
secrets:
  key: {file: ./secrets/key.txt}
  ext: {external: true, file: ignored}
configs:
  nginx: {file: "${CONF_DIR}/nginx.conf"}
""")
    write(tmp_path, "app/web.env", "A=1\n")
    write(tmp_path, "app/conf/db.env", "B=2\n")
    write(tmp_path, "app/secrets/key.txt", "s3cret")
    (tmp_path / "abs").mkdir()
    write(tmp_path, "abs/nginx.conf", "server {}")
    body = load(tmp_path, "app/c.yml", env={"CONF_DIR": str(tmp_path / "abs")})
    decoded = {k: base64.b64decode(v).decode() for k, v in body["Contents"].items()}
    assert decoded == {"web.env": "A=1\n", "conf/db.env": "B=2\n",
                       "./secrets/key.txt": "s3cret",
                       f"{tmp_path}/abs/nginx.conf": "server {}"}


def test_a_missing_named_file_is_named(tmp_path: Path) -> None:
    write(tmp_path, "c.yml", "services:\n  web: {image: x}\nsecrets:\n  k: {file: key.txt}\n")
    with pytest.raises(ComposeFileError) as err:
        load(tmp_path, "c.yml")
    assert str(err.value) == (f"c.yml: secrets.k.file: cannot read key.txt "
                              f"({tmp_path}/key.txt): No such file or directory")


def test_a_missing_compose_file_and_no_file(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match=r"^open nope.yml: no such file or directory$"):
        load(tmp_path, "nope.yml")
    with pytest.raises(ComposeFileError, match=r"specify a Compose file \(with --compose-file\)"):
        load(tmp_path)


def test_inline_mappings_are_interpolated_and_named_by_index(tmp_path: Path) -> None:
    inline = {"services": {"web": {"image": "x:${TAG:?}"}}}
    body = load_compose_files([inline], environ={"TAG": "3"}, cwd=str(tmp_path))
    assert "WorkingDir" not in body  # no directory: relative bind sources are refused
    assert body["Files"] == [{"Filename": "compose[0]",
                              "Config": {"services": {"web": {"image": "x:3"}}}}]
    assert inline["services"]["web"]["image"] == "x:${TAG:?}"  # the caller's data untouched
    with pytest.raises(ComposeFileError, match=r"^compose\[0\]: error while interpolating"):
        load_compose_files([inline], environ={}, cwd=str(tmp_path))
