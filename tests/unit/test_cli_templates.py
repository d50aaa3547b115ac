"""Docker's `--format` (cli/templates): the Go template subset scripts use, the table header
row and tabwriter alignment, and Go's error words — from rows and objects, no cluster."""

from __future__ import annotations

import json

import pytest

from swarmlet.cli.service_format import go_time
from swarmlet.cli.tabwriter import align
from swarmlet.cli.templates import (
    Listing,
    TemplateError,
    is_table,
    label_method,
    render_inspect,
    render_rows,
)
from swarmlet.errors import SwarmletError
from swarmlet.spec.gotemplate.values import go_float, go_print

SERVICES = Listing("table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}",
                   {"ID": "ID", "Name": "NAME", "Mode": "MODE", "Replicas": "REPLICAS",
                    "Ports": "PORTS"},
                   "*service.serviceContext")
ROWS = [
    {"ID": "a1b2c3d4e5f6", "Name": "web", "Mode": "replicated", "Replicas": "3/3",
     "Labels": "env=prod,tier=front", "Label": label_method({"env": "prod", "tier": "front"}),
     "Self": True, "Ports": "*:80->80/tcp"},
    {"ID": "f6e5d4c3b2a1", "Name": "database-primary", "Mode": "global", "Replicas": "1/2",
     "Labels": "", "Label": label_method({}), "Self": False, "Ports": ""},
]
SERVICE = {"ID": "svc1", "Version": {"Index": 7},
           "Spec": {"Name": "web", "Labels": {"env": "prod"},
                    "Mode": {"Replicated": {"Replicas": 3}},
                    "TaskTemplate": {"ContainerSpec": {"Image": "nginx", "Env": ["A=1", "B=2"]}}},
           "Endpoint": {"VirtualIPs": [{"NetworkID": "n1", "Addr": "10.0.0.2/24"},
                                       {"NetworkID": "n2", "Addr": "10.0.1.2/24"}]}}


def rows(fmt: str, data: list | None = None, quiet: bool = False) -> str:
    return render_rows(ROWS if data is None else data, fmt, SERVICES, quiet)


def failure(fmt: str, data: list | None = None) -> str:
    with pytest.raises(TemplateError) as caught:
        rows(fmt, data)
    return str(caught.value)


# --- fields, functions, control ----------------------------------------------------------


def test_fields_and_literal_text():
    assert rows("{{.Name}} {{.Replicas}}") == "web 3/3\ndatabase-primary 1/2\n"
    assert rows("name={{.Name}};") == "name=web;\nname=database-primary;\n"
    assert rows("  {{.Name}}  ") == "web\ndatabase-primary\n"  # spaces around are trimmed


def test_escapes_tab_and_newline_as_two_characters():
    assert rows(r"{{.Name}}\t{{.Mode}}") == "web\treplicated\ndatabase-primary\tglobal\n"
    assert rows(r"{{.Name}}\n{{.ID}}", ROWS[:1]) == "web\na1b2c3d4e5f6\n"


def test_json_of_a_row_and_of_a_field():
    line = rows("{{json .}}", ROWS[:1]).strip()
    assert json.loads(line) == {"ID": "a1b2c3d4e5f6", "Name": "web", "Mode": "replicated",
                                "Replicas": "3/3", "Labels": "env=prod,tier=front",
                                "Self": True, "Ports": "*:80->80/tcp"}
    # Go's json.Marshal of the row: sorted keys, no spaces, <>& escaped
    assert line.startswith('{"ID":"a1b2c3d4e5f6","Labels":"env=prod,tier=front","Mode":')
    assert '"Ports":"*:80-\\u003e80/tcp"' in line
    assert rows("json", ROWS[:1]).strip() == line
    assert rows("{{json .Name}}", ROWS[:1]) == '"web"\n'


def test_docker_functions():
    one = ROWS[:1]
    assert rows("{{.Name | upper}} {{lower .Mode | title}}", one) == "WEB Replicated\n"
    assert rows('{{join (split .Labels ",") " & "}}', one) == "env=prod & tier=front\n"
    assert rows("{{truncate .ID 4}}|{{truncate .Name 99}}", one) == "a1b2|web\n"
    assert rows("[{{pad .Name 2 1}}][{{pad .Ports 1 1}}]", ROWS[1:]) == "[  database-primary ][]\n"
    assert rows("{{println .Name}}", one) == "web\n\n"
    assert rows('{{title "hello wide-world_x"}}', one) == "Hello Wide-World_x\n"
    assert rows('{{printf "%-8s|%5s|%d" .Name .Replicas 42}}', one) == "web     |  3/3|42\n"
    assert rows('{{.Name | printf "%q"}}', one) == '"web"\n'


def test_conditionals_ranges_variables_and_index():
    assert rows('{{if .Self}}*{{else}}-{{end}}{{.Name}}') == "*web\n-database-primary\n"
    assert rows('{{if eq .Mode "global"}}G{{else if eq .Mode "replicated"}}R{{else}}?{{end}}'
                ) == "R\nG\n"
    assert rows('{{range $i, $p := split .Replicas "/"}}{{$i}}:{{$p}} {{end}}', ROWS[:1]
                ) == "0:3 1:3 \n"
    assert rows('{{range split .Ports ","}}[{{.}}]{{else}}none{{end}}', ROWS[1:]) == "[]\n"
    assert render_inspect([{"L": []}], "{{range .L}}x{{else}}none{{end}}")[0] == "none\n"
    assert rows('{{$n := .Name}}{{with .Mode}}{{$n}} is {{.}}{{end}}', ROWS[:1]
                ) == "web is replicated\n"
    assert rows('{{.Label "env"}}/{{.Label "nope"}}', ROWS[:1]) == "prod/\n"
    assert rows('{{if and .Self (ne .Mode "global")}}yes{{end}}{{if or (not .Self) .Ports}}'
                'x{{end}}') == "yesx\nx\n"
    assert rows('{{len .Name}} {{index (split .Replicas "/") 1}}', ROWS[1:]) == "16 2\n"
    assert rows("{{/* a comment */}}{{- .Name -}}  !", ROWS[:1]) == "web!\n"
    assert rows('{{range split "a,b,c" ","}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}',
                ROWS[:1]) == "ac\n"


def test_go_values_print_as_fmt_does():
    assert go_print([1, "a", True, None]) == "[1 a true <nil>]"
    assert go_print({"b": 2, "a": 1}) == "map[a:1 b:2]"
    assert [go_float(x) for x in (0.5, 3.0, 1e21, 1e20, 0.0001, 0.00001, -2.5)] == [
        "0.5", "3", "1e+21", "100000000000000000000", "0.0001", "1e-05", "-2.5"]


# --- table --------------------------------------------------------------------------------


def test_default_table_has_dockers_headers_and_tabwriter_columns():
    assert rows("") == rows("table") == (
        "ID             NAME               MODE         REPLICAS\n"
        "a1b2c3d4e5f6   web                replicated   3/3\n"
        "f6e5d4c3b2a1   database-primary   global       1/2\n")


def test_custom_table_names_its_columns_and_keeps_a_minimum_width():
    assert rows(r"table {{.Name}}\t{{.Replicas}}") == (
        "NAME               REPLICAS\n"
        "web                3/3\n"
        "database-primary   1/2\n")
    # header functions keep the column name; pad still pads; a label's header is its last part
    assert rows('table {{.Name | upper}}\t{{pad .Mode 1 0}}\t{{.Label "com.example.my-tier"}}',
                ROWS[:1]) == ("NAME       MODE         my tier\n"
                              "WEB        replicated   \n")


def test_empty_last_cells_pad_the_cell_before_as_docker_does():
    assert rows(r"table {{.Name}}\t{{.Ports}}") == (
        "NAME               PORTS\n"
        "web                *:80->80/tcp\n"
        "database-primary   \n")
    # a field the listing has no header for: Docker's header map answers "<no value>"
    assert rows(r"table {{.Name}}\t{{.Labels}}", ROWS[1:]).splitlines() == [
        "NAME               <no value>", "database-primary   "]


def test_table_with_no_rows_is_the_header_line():
    assert rows("", []) == "ID        NAME      MODE      REPLICAS\n"
    assert rows("table {{.Nope}}", []) == "<no value>\n"  # as Docker: no row, no error
    assert rows("{{.Name}}", []) == ""


def test_tabwriter_blocks_end_at_a_line_without_tabs():
    assert align("a\tb\nlonger-cell\tc\nno tabs here\nx\ty") == (
        "a             b\nlonger-cell   c\nno tabs here\nx         y")
    # wide characters take two columns
    assert align("日本語テキスト\tx\nab\ty") == "日本語テキスト   x\nab" + " " * 15 + "y"


def test_quiet_prints_ids_unless_a_custom_format_is_given():
    assert rows("", quiet=True) == "a1b2c3d4e5f6\nf6e5d4c3b2a1\n"
    assert rows("table", quiet=True) == "a1b2c3d4e5f6\nf6e5d4c3b2a1\n"
    assert rows("{{.Name}}", quiet=True) == "web\ndatabase-primary\n"
    assert json.loads(rows("json", quiet=True).splitlines()[0])["Name"] == "web"
    assert (is_table(""), is_table("", quiet=True), is_table("table {{.ID}}", quiet=True),
            is_table("{{.ID}}"), is_table("json")) == (True, False, True, False, False)


def test_listing_given_as_a_table_format_derives_headers_from_field_names():
    stacks = [{"Name": "shop", "Services": "3"}, {"Name": "vote", "Services": "5"}]
    assert render_rows(stacks, "", "table {{.Name}}\t{{.Services}}") == (
        "NAME      SERVICES\nshop      3\nvote      5\n")
    assert render_rows([{"DesiredState": "Running"}], "table {{.DesiredState}}",
                       "table {{.DesiredState}}") == "DESIRED STATE\nRunning\n"


# --- errors, in Docker's words ------------------------------------------------------------


def test_parse_errors():
    prefix = "template parsing error: template: :1: "
    assert failure("{{foo .Name}}") == prefix + 'function "foo" not defined'
    assert failure("{{.Name") == prefix + "unclosed action"
    assert failure("{{.Name}}{{end}}") == prefix + "unexpected {{end}}"
    assert failure("{{if .Self}}x") == prefix + "unexpected EOF"
    assert failure("{{}}") == prefix + "missing value for command"
    assert failure('{{"abc}}') == prefix + "unterminated quoted string"
    assert failure("{{$x}}") == prefix + 'undefined variable "$x"'
    assert failure("{{.Name @}}") == prefix + "bad character U+0040 '@'"
    assert failure("{{else}}") == prefix + "unexpected {{else}}"
    assert failure("a\n{{bar}}") == "template parsing error: template: :2: function \"bar\" " \
        "not defined"


def test_execution_errors_name_the_field_and_the_row_type():
    assert failure("{{.Foo}}") == ('template parsing error: template: :1:2: executing "" at '
                                   "<.Foo>: can't evaluate field Foo in type "
                                   "*service.serviceContext")
    assert failure("x {{.Name.First}}").endswith(
        ":1:4: executing \"\" at <.Name.First>: can't evaluate field First in type string")
    assert failure('{{join .Name ","}}').endswith(
        "at <join>: error calling join: expected slice, got string")
    assert failure('{{truncate .Name "3"}}').endswith('at <"3">: expected integer; found "3"')
    assert failure("{{truncate .Name .Mode}}").endswith(
        "at <.Mode>: wrong type for value; expected int; got string")
    assert failure("{{upper .Self}}").endswith(
        "at <.Self>: wrong type for value; expected string; got bool")
    assert failure("{{lower}}").endswith("at <lower>: wrong number of args for lower: want 1 "
                                         "got 0")
    assert failure('{{index .Name "k"}}').endswith(
        "error calling index: can't index item of type string")
    assert failure("\n {{.Nope}}").startswith("template parsing error: template: :2:3: ")


def test_a_failing_row_prints_nothing():
    with pytest.raises(TemplateError):
        rows('{{if eq .Mode "global"}}{{.Nope}}{{end}}{{.Name}}')


# --- inspect ------------------------------------------------------------------------------


def test_inspect_formats_apply_to_the_whole_object():
    assert render_inspect([SERVICE], "{{.Spec.Name}} {{.Version.Index}}") == ("web 7\n", [])
    assert render_inspect([SERVICE], "{{json .Spec.Labels}}") == ('{"env":"prod"}\n', [])
    assert render_inspect([SERVICE], '{{index .Spec.Labels "env"}}|'
                          '{{index .Spec.Labels "other"}}|{{.Spec.Labels.other}}') == (
        "prod||<no value>\n", [])
    assert render_inspect([SERVICE], "{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}") == (
        "10.0.0.2/24 10.0.1.2/24 \n", [])
    assert render_inspect([SERVICE], "{{.Spec.TaskTemplate.ContainerSpec.Env}}") == (
        "[A=1 B=2]\n", [])
    assert render_inspect([SERVICE, SERVICE], "{{.ID}}")[0] == "svc1\nsvc1\n"


def test_inspect_json_default_and_pretty():
    assert render_inspect([SERVICE], "json")[0] == json.dumps([SERVICE],
                                                              separators=(",", ":")) + "\n"
    assert json.loads(render_inspect([SERVICE], "")[0]) == [SERVICE]
    assert render_inspect([], "json")[0] == "[]\n"
    assert render_inspect([], "{{.ID}}")[0] == "\n"  # Docker's flush of nothing
    assert render_inspect([SERVICE], "pretty", lambda s: "P " + s["ID"])[0] == "P svc1\n"
    with pytest.raises(SwarmletError, match="cannot supply extra formatting options to the "
                       "pretty template"):
        render_inspect([SERVICE], "pretty {{.ID}}", lambda s: "")


def test_inspect_optional_fields_the_api_left_out_are_docker_zero_values():
    bare = {"ID": "x", "Spec": {"Name": "bare", "Mode": {"Global": {}}}}
    assert render_inspect([bare], "{{if .UpdateStatus}}updating{{else}}idle{{end}} "
                          "{{.Spec.Labels}} {{len .Spec.Labels}} {{index .Spec.Labels \"k\"}}|"
                          "{{.Spec.Mode.Replicated}} {{json .ManagerStatus}}") == (
        "idle map[] 0 |<nil> null\n", [])
    assert render_inspect([bare], "{{.UpdateStatus.State}}")[1] == [
        'template parsing error: template: :1:2: executing "" at <.UpdateStatus.State>: '
        'map has no entry for key "UpdateStatus"']


def test_inspect_errors_are_the_raw_maps_missing_keys():
    out, errors = render_inspect([SERVICE, {"ID": "x"}], "{{.Spec.Name}}")
    assert out == "web\n"
    assert errors == ['template parsing error: template: :1:2: executing "" at <.Spec.Name>: '
                      'map has no entry for key "Spec"']
    with pytest.raises(TemplateError, match='function "nope" not defined'):
        render_inspect([SERVICE], "{{nope}}")


def test_go_time_is_times_string_form():
    assert go_time("2026-01-01T10:00:00.500000000Z") == "2026-01-01 10:00:00.5 +0000 UTC"
    assert go_time("2026-01-01T10:00:00Z") == "2026-01-01 10:00:00 +0000 UTC"
    assert go_time("2026-01-01T10:00:00+01:00") == "2026-01-01 10:00:00 +0100 +0100"
    assert go_time("") == ""
