// Package yamlpos is the one YAML layer with positions that rule files, rule
// test files and the daemon's config file are read through.
//
// It owns: a small node tree (mapping, sequence, scalar, null) in which every
// node carries its file:line:col; anchors, aliases and merge keys resolved,
// with a bound on what aliases may expand to and on nesting depth, so that a
// hostile file cannot exhaust memory or the stack; scalar styles (to map an
// offset inside an expression back to the file) and parsed numbers; the
// snippet-with-caret printer under errors; and the one "did you mean" helper.
//
// It reports problems as Problems of three kinds (syntax, schema, duplicate
// key); each caller turns them into its own error type and codes. It must
// never import any other package of this module: rules, rules/testspec and
// internal/config import it, not the other way round.
package yamlpos
