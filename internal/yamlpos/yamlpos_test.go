package yamlpos

import (
	"strings"
	"testing"
)

func TestParsePositionsAndNumbers(t *testing.T) {
	src := []byte("a: 1.10\nb: 'x'\nc:\n  - 7\n  - |\n    text\n")
	docs, soft, hard := Parse("f.yaml", src)
	if hard != nil || len(soft) != 0 || len(docs) != 1 {
		t.Fatalf("docs %d, soft %v, hard %v", len(docs), soft, hard)
	}
	d := docs[0]
	if a := d.Get("a"); a.Value != "1.10" || a.Tag != "float" || a.Num != 1.1 || a.Pos.String() != "f.yaml:1:4" {
		t.Errorf("a = %+v", a)
	}
	if b := d.Get("b"); b.Style != Single || b.Describe() != "string" {
		t.Errorf("b = %+v", b)
	}
	c := d.Get("c")
	if c.Kind != Seq || c.Vals[0].Num != uint64(7) && c.Vals[0].Num != int64(7) || c.Vals[1].Style != Literal {
		t.Errorf("c = %+v %+v", c.Vals[0], c.Vals[1])
	}
	if got := NewSource("f.yaml", src).Snippet(Pos{Line: 2, Col: 4}); got != "  2 | b: 'x'\n    |    ^" {
		t.Errorf("snippet %q", got)
	}
}

// TestTagOnAliasCopies: a tag on an alias retypes that use only, never
// the anchor's node shared by every other use.
func TestTagOnAliasCopies(t *testing.T) {
	docs, _, hard := Parse("f", []byte("a: &x 5\nb: !!str *x\nc: *x\n"))
	if hard != nil {
		t.Fatal(hard)
	}
	d := docs[0]
	if a, b, c := d.Get("a"), d.Get("b"), d.Get("c"); a.Tag != "int" || c.Tag != "int" || b.Tag != "str" || b.Num != nil {
		t.Errorf("a %s, b %s (%v), c %s", a.Tag, b.Tag, b.Num, c.Tag)
	}
}

func TestBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		b.WriteString(strings.NewReplacer("N", string(rune('0'+i)), "P", string(rune('0'+i-1))).Replace(
			"aN: &aN [*aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP]\n"))
	}
	if _, _, hard := Parse("f", []byte(b.String())); hard == nil || !strings.Contains(hard.Message, "aliases expand to more than") {
		t.Errorf("billion laughs: %v", hard)
	}
	deep := strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2)
	if _, _, hard := Parse("f", []byte(deep)); hard == nil || !strings.Contains(hard.Message, "nesting deeper") {
		t.Errorf("deep: %v", hard)
	}
	_, soft, _ := Parse("f", []byte("a: 1\na: 2\nb: !foo x\n"))
	if len(soft) != 2 || soft[0].Kind != DuplicateKey || soft[1].Kind != Schema {
		t.Errorf("soft %v", soft)
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"severity", "scope", "labels"}
	for name, want := range map[string]string{"sevrity": "; did you mean severity?", "Scope": "; did you mean scope?", "zzz": ""} {
		if got := DidYouMean(name, cands); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	// equally near: the alphabetically first, whatever the order
	if i := Closest("ab", []string{"ac", "aa"}, 1); i != 1 {
		t.Errorf("tie: %d", i)
	}
}

// FuzzParse: no input panics, and every node has a position in the file.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a: 1", "a: &x [1, 2]\nb: *x\n", "<<: {a: 1}\nb: !!str 2", "- |\n  x\n- >\n  y\n", "%YAML 1.2\n---\na: b\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = Normalize(data)
		docs, _, hard := Parse("f", data)
		if hard != nil {
			return
		}
		src := NewSource("f", data)
		var walk func(n *Node, depth int)
		walk = func(n *Node, depth int) {
			if depth > MaxDepth+2 {
				t.Fatal("deeper than the bound")
			}
			_ = src.Snippet(n.Pos)
			if n.Kind == Scalar {
				_ = src.PosAt(n, len([]rune(n.Value))/2)
			}
			for _, v := range n.Vals {
				walk(v, depth+1)
			}
		}
		for _, d := range docs {
			walk(d, 0)
		}
	})
}
