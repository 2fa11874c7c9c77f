package rules

import "github.com/promoguard/promoguard/internal/yamlpos"

// Pos is a position in a file: 1-based line and column (in characters).
type Pos = yamlpos.Pos

// node is a YAML node with its position, as internal/yamlpos reads it.
type node = yamlpos.Node

// problemCode is the code of a problem the YAML layer reports.
func problemCode(k yamlpos.ProblemKind) Code {
	switch k {
	case yamlpos.Schema:
		return CodeSchema
	case yamlpos.DuplicateKey:
		return CodeDuplicateKey
	}
	return CodeYAMLSyntax
}

// YAMLErrors turns the YAML layer's problems into errors with their codes
// (yaml_syntax, schema, duplicate_key), for rule files and the files of
// the rule test format alike.
func YAMLErrors(ps ...*yamlpos.Problem) Errors {
	out := make(Errors, 0, len(ps))
	for _, p := range ps {
		out = append(out, &Error{Pos: p.Pos, Code: problemCode(p.Kind), Message: p.Message})
	}
	return out
}
