"""Go's text/template, the subset Docker's `--format` takes: nodes, lex, parse, values,
exec and funcs (Docker's template functions)."""
