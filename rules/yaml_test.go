package rules

import "testing"

// TestTagOnAliasLeavesAnchor: `!!str *x` makes a string of that use of the
// alias only. It used to retag the anchor's node in place, so that the var
// holding the anchor became a string too and `price > a` failed to load
// with "mismatched types float64 and string".
func TestTagOnAliasLeavesAnchor(t *testing.T) {
	rs, err := Load([]string{"testdata/good/tagged-alias.good.yaml"}, nil)
	if err != nil {
		t.Fatalf("want valid, got:\n%v", err.(Errors).Pretty())
	}
	vars := rs.Groups[0].Vars
	if a, ok := vars["a"].(int); !ok || a != 5 {
		t.Errorf("a = %#v, want the number 5", vars["a"])
	}
	if b, ok := vars["b"].(string); !ok || b != "5" {
		t.Errorf("b = %#v, want the string \"5\"", vars["b"])
	}
}
