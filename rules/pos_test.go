package rules

import (
	"errors"
	"strings"
	"testing"
)

// TestExprPositions checks that an error inside an expression is reported at
// the file position of the offending name, whatever YAML style holds it.
func TestExprPositions(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		line, col int
		code      Code // default unknown_fact
	}{
		{"plain", "    if: price > 0 && margn < 1\n", 4, 22, ""},
		{"single quoted", "    if: 'price > 0 && margn < 1'\n", 4, 23, ""},
		{"double quoted", "    if: \"price > 0 && margn < 1\"\n", 4, 23, ""},
		{"double quoted with escape before", "    if: \"sku == \\\"a\\\" && margn < 1\"\n", 4, 26, ""},
		{"literal block", "    if: |\n      price > 0\n        && margn < 1\n", 6, 12, ""},
		{"folded block", "    if: >\n      price > 0\n      && margn < 1\n", 6, 10, ""},
		{"flow mapping", "  - {name: t, if: price > margn}\n", 5, 27, ""},
		{"unicode before", "    if: 'sku == \"é€\" && margn < 1'\n", 4, 25, ""},
		// The error is the third ">": the same token earlier must not be taken for it.
		{"folded, token repeated", "    if: >\n      price > 1 && price > 1 ||\n      sku > 1\n", 6, 11, CodeTypeError},
		{"multi-line plain, token repeated", "    if: price > 1 && price > 1 ||\n      sku > 1\n", 5, 11, CodeTypeError},
		{"escaped quotes, token repeated", "    if: \"price > 1 && \\\"a\\\" == \\\"a\\\" || sku > 1\"\n", 4, 45, CodeTypeError},
		{"escaped line break", "    if: \"price > 0 && \\\n      margn > 1\"\n", 5, 7, ""},
		{"CRLF multi-line quoted, error after it", "    if: \"price > 0 &&\r\n      price > 1\"\r\n  - name: s\r\n    if: margn\r\n", 7, 9, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "group: g\nrules:\n  - name: r\n" + tt.yaml
			if strings.HasPrefix(tt.yaml, "  - ") {
				src = "group: g\nrules:\n  - name: s\n    if: price > 0\n" + tt.yaml
			}
			_, err := LoadSource("f.yaml", []byte(src), nil)
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("want one error, got %v", err)
			}
			e := es[0]
			code := tt.code
			if code == "" {
				code = CodeUnknownFact
			}
			if e.Code != code || e.Line != tt.line || e.Col != tt.col {
				t.Errorf("got %d:%d %s, want %d:%d %s\n%s\n%s", e.Line, e.Col, e.Code, tt.line, tt.col, code, src, e.Snippet)
			}
		})
	}
}
