# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The client's half of `stack deploy -c FILE`: compose files read as Docker's CLI reads them,
ready for POST /stacks/deploy ({"Files": [...], "Contents": {...}, "WorkingDir": ...}).

- YAML as docker/cli's yaml.v3 reads it, not as YAML 1.1: anchors, aliases and `<<` merge
  keys; only true/false are booleans (`yes`, `on`, `y` stay strings); no base-60 numbers
  (`- 22:22` is the string a port needs, not 1342); dates stay strings; a key written twice in
  one mapping is an error; keys are strings ("Non-string key in services.web: 1").
- Interpolation from the environment and a `.env` file in the working directory (the first
  file's directory, or the current one for stdin); the environment wins over `.env`, as in
  Docker Compose. `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
  `${VAR?error}`, `${VAR:+alternative}`, `${VAR+alternative}`, `$$` for a `$`; a default may
  hold a `${...}` itself. docker/cli's regular expression takes `$VAR-x` unbraced as a default
  and cuts `${VAR:?a-b}` at the `-`; this follows the Compose Specification instead (the
  operators only inside braces), which is what those files mean. Values that were
  interpolated are cast where Docker casts them (`replicas: ${N}` is a number).
- `environment` entries without a value (`- FOO`, `FOO:`) take the client's value when it
  has one, as Docker's CLI resolves them before it sends the spec.
- The files that `env_file`, `secrets.*.file` and `configs.*.file` name are read relative to
  the working directory (as Docker's loader does) and sent in Contents (Base64), keyed by the
  path as written.

Errors (ComposeFileError) name the file, the key and the variable. Standard library only
(PyYAML is imported when present) and nothing newer than Python 3.8: this file is copied into
the Ansible collection as plugins/module_utils/_compose_files.py, where it runs on the target's
own Python (tests/unit/test_compose_files_vendored.py keeps the copy equal).
"""

from __future__ import annotations

import base64
import os
import re
import sys

try:
    import yaml
except ImportError:  # the module's target may lack PyYAML: inline compose data needs none
    yaml = None

STDIN_NAME = "<stdin>"
DOTENV = ".env"


class ComposeFileError(Exception):
    """A compose file (or a file it names) that cannot be read; the message names it."""


# --- YAML as yaml.v3 reads it ---------------------------------------------------------------

_BOOL = r"^(?:true|True|TRUE|false|False|FALSE)$"
_INT = r"^[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$"
_FLOAT = (r"^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
          r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_NULL = r"^(?:~|null|Null|NULL|)$"
_RESOLVERS = (  # (tag, pattern, first characters), floats before ints as PyYAML orders them
    ("bool", _BOOL, "tTfF"),
    ("float", _FLOAT, "-+0123456789."),
    ("int", _INT, "-+0123456789"),
    ("merge", r"^(?:<<)$", "<"),
    ("null", _NULL, ["~", "n", "N", ""]),
)


def _int_value(text):
    """An int as yaml.v3 reads one: 0x, 0o, 0b, a leading 0 for octal, underscores."""
    text = text.replace("_", "")
    sign = -1 if text[:1] == "-" else 1
    digits = text.lstrip("+-")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    if len(digits) > 1 and digits[0] == "0":
        return sign * int(digits, 8)
    return sign * int(digits)


if yaml is not None:
    class _Loader(yaml.SafeLoader):
        yaml_implicit_resolvers = {}

        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                        key_node, yaml.ScalarNode):
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.MarkedYAMLError(
                        problem=f'mapping key "{key_node.value}" already defined at line '
                        f"{seen[key]}", problem_mark=key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep)

        def construct_yaml_int(self, node):
            return _int_value(self.construct_scalar(node))

    for _tag, _pattern, _first in _RESOLVERS:
        _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern),
                                      list(_first))
    _Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def parse_yaml(text, filename):
    """The mapping a compose file holds; ComposeFileError naming the file otherwise."""
    if yaml is None:
        raise ComposeFileError(f"{filename}: reading YAML needs PyYAML (python3-yaml)")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "not valid YAML"
        raise ComposeFileError(f"{filename}: yaml: {where}{problem}") from None
    except yaml.YAMLError as exc:
        raise ComposeFileError(f"{filename}: yaml: {exc}") from None
    if not isinstance(data, dict):
        raise ComposeFileError(f"{filename}: top-level object must be a mapping")
    _check_tree(data, (), filename)
    return data


_PLAIN = (str, bool, int, float, type(None))


def _check_tree(value, parts, filename):
    """Docker's convertToStringKeysRecursive: every key a string; and every value one JSON
    can carry (an explicit !!timestamp or !!binary cannot be sent)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                where = f"in {dotted(parts)}" if parts else "at top level"
                raise ComposeFileError(f"{filename}: Non-string key {where}: {key}")
            _check_tree(item, (*parts, key), filename)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_tree(item, (*parts, index), filename)
    elif not isinstance(value, _PLAIN):
        raise ComposeFileError(f"{filename}: {dotted(parts)}: unsupported value {value!r}")


def dotted(parts):
    """A key path as messages show it: services.web.ports[0].published."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --- interpolation ----------------------------------------------------------------------------

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class _Invalid(Exception):
    """A `$` that starts no variable (docker/cli's InvalidTemplateError)."""


class _Required(Exception):
    """${VAR:?err} or ${VAR?err} without a value."""


def _closing_brace(text, start):
    """The index of the `}` closing the `${` whose content starts at `start` (nested ones
    in a default skipped), or -1."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def substitute(text, lookup):
    """`text` with its variables replaced; `lookup(name)` is the value or None (unset)."""
    out = []
    i = 0
    while True:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        if text.startswith("$$", j):
            out.append("$")
            i = j + 2
        elif text.startswith("${", j):
            end = _closing_brace(text, j + 2)
            if end < 0:
                raise _Invalid()
            out.append(_braced(text[j + 2:end], lookup))
            i = end + 1
        else:
            name = _NAME.match(text, j + 1)
            if name is None:
                raise _Invalid()
            out.append(lookup(name.group()) or "")
            i = name.end()


def _braced(body, lookup):
    name = _NAME.match(body)
    if name is None:
        raise _Invalid()
    rest = body[name.end():]
    value = lookup(name.group())
    if not rest:
        return value or ""
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise _Invalid()
    word = rest[len(operator):]
    unset = value is None or (operator[0] == ":" and value == "")
    if operator in (":-", "-"):
        return substitute(word, lookup) if unset else value
    if operator in (":+", "+"):
        return "" if unset else substitute(word, lookup)
    if unset:
        message = substitute(word, lookup)
        raise _Required(f"required variable {name.group()} is missing a value"
                        + (f": {message}" if message else ""))
    return value


def _to_bool(text):
    lowered = text.lower()
    if lowered in ("y", "yes", "true", "on"):
        return True
    if lowered in ("n", "no", "false", "off"):
        return False
    raise ValueError(f"invalid boolean: {text}")


# docker/cli's interpolateTypeCastMapping: what an interpolated string becomes, by key path
# ("*": any key, "[]": any list item).
_SERVICE_CASTS = (
    ("configs.[].mode", int), ("secrets.[].mode", int), ("healthcheck.retries", int),
    ("healthcheck.disable", _to_bool), ("deploy.replicas", int),
    ("deploy.update_config.parallelism", int), ("deploy.update_config.max_failure_ratio", float),
    ("deploy.rollback_config.parallelism", int),
    ("deploy.rollback_config.max_failure_ratio", float),
    ("deploy.restart_policy.max_attempts", int), ("deploy.placement.max_replicas_per_node", int),
    ("ports.[].target", int), ("ports.[].published", int), ("ulimits.*", int),
    ("ulimits.*.hard", int), ("ulimits.*.soft", int), ("privileged", _to_bool),
    ("oom_score_adj", int), ("read_only", _to_bool), ("stdin_open", _to_bool),
    ("tty", _to_bool), ("volumes.[].read_only", _to_bool),
    ("volumes.[].volume.nocopy", _to_bool),
)
CASTS = tuple((tuple(("services.*." + path).split(".")), cast) for path, cast in _SERVICE_CASTS
              ) + tuple((tuple(path.split(".")), _to_bool) for path in (
                  "networks.*.external", "networks.*.internal", "networks.*.attachable",
                  "volumes.*.external", "secrets.*.external", "configs.*.external"))


def _cast_for(parts):
    for pattern, cast in CASTS:
        if len(pattern) == len(parts) and all(
                pattern[i] in ("*", "[]" if isinstance(part, int) else part)
                for i, part in enumerate(parts)):
            return cast
    return None


def interpolate(value, lookup, filename, parts=()):
    """A copy of a parsed file with every string interpolated and cast as Docker casts it."""
    if isinstance(value, dict):
        return {key: interpolate(item, lookup, filename, (*parts, key))
                for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, lookup, filename, (*parts, index))
                for index, item in enumerate(value)]
    if not isinstance(value, str):
        return value
    where = dotted(parts)
    try:
        result = substitute(value, lookup)
    except _Invalid:
        raise ComposeFileError(
            f'{filename}: invalid interpolation format for {where}: "{value}"; you may need '
            "to escape any $ with another $") from None
    except _Required as exc:
        raise ComposeFileError(f"{filename}: error while interpolating {where}: {exc}"
                               ) from None
    cast = _cast_for(parts)
    if result == value or cast is None:
        return result
    try:
        return cast(result)
    except ValueError:
        raise ComposeFileError(
            f"{filename}: error while interpolating {where}: failed to cast to expected type: "
            f'"{result}" is not {"a number" if cast is not _to_bool else "a boolean"}'
        ) from None


def resolve_environment(config, lookup):
    """`environment` entries without a value take the client's value when it has one."""
    for service in (config.get("services") or {}).values():
        env = service.get("environment") if isinstance(service, dict) else None
        if isinstance(env, list):
            service["environment"] = [
                f"{item}={lookup(item)}" if isinstance(item, str) and "=" not in item
                and lookup(item) is not None else item for item in env]
        elif isinstance(env, dict):
            for key, item in env.items():
                if item is None and lookup(key) is not None:
                    env[key] = lookup(key)


# --- .env -----------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$$"}
_ENV_KEY = re.compile(r"[A-Za-z0-9_.\-\[\]]+")


def parse_dotenv(text, filename, environ):
    """KEY=VALUE lines of a .env file as Docker Compose reads them: `export`, `#` comments,
    'literal', "escaped \\n and ${VAR}", unquoted values up to ` #`; a bare KEY takes the
    environment's value. Variables in values are those of the file above, then `environ`."""
    values = {}

    def lookup(name):
        return values[name] if name in values else environ.get(name)

    lines = text.lstrip("\ufeff").split("\n")
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        number += 1
        start = number
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export"):].lstrip()
        key, sep, raw = line.partition("=")
        key = key.strip()
        if not _ENV_KEY.fullmatch(key):
            raise ComposeFileError(f"{filename}: line {start}: invalid variable name {key!r}")
        if not sep:
            if key in environ:
                values[key] = environ[key]
            continue
        raw = raw.lstrip()
        quote = raw[:1] if raw[:1] in ("'", '"') else ""
        if quote:
            body = raw[1:]
            while not _closed(body, quote):
                if number >= len(lines):
                    raise ComposeFileError(f"{filename}: line {start}: unterminated quoted "
                                           f"value {raw}")
                body += "\n" + lines[number]
                number += 1
            body = body[:_closed(body, quote) - 1]
            if quote == "'":
                values[key] = body.replace("\\'", "'")
                continue
            raw = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group()), body)
        else:
            raw = raw.split(" #", 1)[0].rstrip()
        try:
            values[key] = substitute(raw, lookup)
        except (_Invalid, _Required) as exc:
            raise ComposeFileError(f"{filename}: line {start}: {exc or 'invalid interpolation'}"
                                   ) from None
    return values


def _closed(body, quote):
    """1 + the index of the closing quote in `body` (a quote after a backslash does not
    close), or 0."""
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            return i + 1
        i += 1
    return 0


# --- the files the compose files name -------------------------------------------------------

def named_files(config):
    """(key, path as written, required) of every file a parsed compose file names."""
    found = []
    for name, service in (config.get("services") or {}).items():
        env_files = service.get("env_file") if isinstance(service, dict) else None
        if isinstance(env_files, str):
            env_files = [env_files]
        for index, item in enumerate(env_files or []):
            key = f"services.{name}.env_file[{index}]"
            if isinstance(item, str):
                found.append((key, item, True))
            elif isinstance(item, dict) and isinstance(item.get("path"), str):
                found.append((key, item["path"], item.get("required", True) is not False))
    for kind in ("secrets", "configs"):
        for name, obj in (config.get(kind) or {}).items():
            if (isinstance(obj, dict) and isinstance(obj.get("file"), str)
                    and not obj.get("external") and not obj.get("driver")):
                found.append((f"{kind}.{name}.file", obj["file"], True))
    return found


def collect_contents(files, working_dir):
    """Contents: the named files' bytes in Base64, by the path as written."""
    contents = {}
    for filename, config in files:
        for key, path, required in named_files(config):
            if path in contents:
                continue
            full = os.path.join(working_dir, os.path.expanduser(path))
            try:
                with open(full, "rb") as handle:
                    contents[path] = base64.b64encode(handle.read()).decode("ascii")
            except OSError as exc:
                if not required and not os.path.exists(full):
                    continue
                raise ComposeFileError(f"{filename}: {key}: cannot read {path} ({full}): "
                                       f"{exc.strerror or exc}") from None
    return contents


# --- all of it --------------------------------------------------------------------------------

def working_directory(sources, cwd):
    """Docker's WorkingDir: the first file's directory; the current one for stdin or data."""
    for source in sources:
        if isinstance(source, str) and source != "-":
            return os.path.dirname(os.path.abspath(os.path.join(cwd, source)))
    return cwd


def load_compose_files(sources, environ=None, cwd=None, stdin=None):
    """The fields Files, Contents and WorkingDir of POST /stacks/deploy from `sources`: paths,
    "-" for stdin, or mappings already parsed (the module's inline data, named compose[N]).
    `environ` defaults to os.environ; `.env` is read when a source is a path or stdin."""
    if not sources:
        raise ComposeFileError("specify a Compose file (with --compose-file)")
    environ = dict(os.environ if environ is None else environ)
    cwd = cwd or os.getcwd()
    working_dir = working_directory(sources, cwd)
    variables = dict(environ)
    dotenv = os.path.join(working_dir, DOTENV)
    if any(isinstance(s, str) for s in sources) and os.path.isfile(dotenv):
        with open(dotenv, encoding="utf-8") as handle:
            variables = {**parse_dotenv(handle.read(), dotenv, environ), **environ}
    files = []
    for index, source in enumerate(sources):
        if isinstance(source, dict):
            filename = f"compose[{index}]"
            _check_tree(source, (), filename)
            data = source
        else:
            filename, text = _read(source, cwd, stdin)
            data = parse_yaml(text, filename)
        config = interpolate(data, variables.get, filename)
        resolve_environment(config, variables.get)
        files.append((filename, config))
    body = {"Files": [{"Filename": f, "Config": c} for f, c in files],
            "Contents": collect_contents(files, working_dir)}
    if any(isinstance(s, str) for s in sources):  # relative bind sources are resolved there
        body["WorkingDir"] = working_dir
    return body


def _read(source, cwd, stdin):
    if source == "-":
        return STDIN_NAME, (stdin or sys.stdin).read()
    try:
        with open(os.path.join(cwd, source), encoding="utf-8") as handle:
            return source, handle.read()
    except OSError as exc:
        raise ComposeFileError(f"open {source}: {(exc.strerror or str(exc)).lower()}"
                               ) from None
    except UnicodeDecodeError as exc:
        raise ComposeFileError(f"{source}: not a text file ({exc.reason})") from None
