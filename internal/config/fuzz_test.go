package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alecthomas/kong"
)

// FuzzConfigFile feeds arbitrary bytes to the daemon's config file decoder
// (Decode, what `promoguard run --config FILE` reads the file with:
// strict keys, one document, typed values with positions), then validates
// what it decoded. Whatever the bytes, it returns a non-empty list of
// errors, or a configuration and the known keys it sets with their
// positions; never a panic. And what it returns holds: the file layered
// over the defaults validates the same way twice, and validating leaves it
// as it was; a configuration that validates, written out as a file,
// decodes to itself and validates again.
//
// The seeds are the sections of examples/promoguard.yaml, each on its own:
// the fuzzer minimizes every input it finds new coverage with, and on an
// input of a kilobyte decoded at this speed that takes it minutes.
func FuzzConfigFile(f *testing.F) {
	data, err := os.ReadFile("../../examples/promoguard.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, section := range configSections(stripComments(data)) {
		f.Add(section)
	}
	f.Add([]byte("rules: [r.yaml]\nbrokers: [k:9092]\nbatch: {size: 10, timeout: 1s}\ntls: {enable: true, ca_file: ca.pem}\n"))
	f.Add([]byte("horizon: 1w\nallowed_lateness: 90\nmax_skew: 1.5\n"))
	f.Add([]byte("batch: {timeout: 1500ms, grace: 90m, max_idle: 1d12h}\n"))
	f.Add([]byte("log: {level: Info, format: JSON}\n"))
	known := map[string]bool{}
	for _, l := range Leaves(&Daemon{}) {
		known[l.Key] = true
	}
	pos := regexp.MustCompile(`^[0-9]+:[0-9]+$`)
	// the defaults, as kong sets them for the run command (rules has none
	// and is required)
	var cli struct {
		Daemon `embed:""`
	}
	k, err := kong.New(&cli, kong.Vars(Vars()), kong.Exit(func(int) {}), kong.Writers(io.Discard, io.Discard))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := k.Parse([]string{"--rules", "r.yaml"}); err != nil {
		f.Fatal(err)
	}
	defaults := &cli.Daemon
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Daemon
		present, err := Decode(data, &c)
		if err != nil {
			var ce Errors
			if !errors.As(err, &ce) || len(ce) == 0 {
				t.Fatalf("not a list of problems: %T %v", err, err)
			}
			for _, e := range ce {
				if strings.TrimSpace(e) == "" {
					t.Fatalf("an empty problem in %q", ce)
				}
			}
			return
		}
		for key, where := range present {
			if !known[key] || !pos.MatchString(where) {
				t.Fatalf("setting %s at %q", key, where)
			}
		}
		// the file over the defaults, as Layer layers it (paths aside)
		l := *defaults
		ls, cs := Leaves(&l), Leaves(&c)
		for i, leaf := range cs {
			if _, ok := present[leaf.Key]; ok {
				ls[i].Value.Set(leaf.Value)
			}
		}
		// validating checks and only checks: twice the same answer, and
		// the configuration as it was
		before := fmt.Sprintf("%#v", l)
		err1, err2 := l.Validate(), l.Validate()
		if fmt.Sprint(err1) != fmt.Sprint(err2) || fmt.Sprintf("%#v", l) != before {
			t.Fatalf("validated twice: %v, then %v; the config %s, then %#v", err1, err2, before, l)
		}
		_ = l.ChangelogTopic()
		_ = l.TopicSpecs()
		if err1 != nil {
			return
		}
		// a valid configuration written out as a file (JSON, which is
		// YAML) decodes to itself
		file, ok := marshalConfig(ls)
		if !ok {
			return // a string that is not UTF-8: JSON cannot hold it
		}
		var back Daemon
		if _, err := Decode(file, &back); err != nil {
			t.Fatalf("%s written out does not decode: %v", file, err)
		}
		for i, leaf := range Leaves(&back) {
			if !reflect.DeepEqual(leaf.Value.Interface(), ls[i].Value.Interface()) {
				t.Fatalf("%s written out as %s decodes to %#v, was %#v", leaf.Key, file, leaf.Value.Interface(), ls[i].Value.Interface())
			}
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("%s written out no longer validates: %v", file, err)
		}
	})
}

// marshalConfig writes every setting as a config file, in JSON; ok is
// false when a string is not UTF-8.
func marshalConfig(leaves []Leaf) (data []byte, ok bool) {
	root := map[string]any{}
	for _, l := range leaves {
		m := root
		keys := strings.Split(l.Key, ".")
		for _, k := range keys[:len(keys)-1] {
			if m[k] == nil {
				m[k] = map[string]any{}
			}
			m = m[k].(map[string]any)
		}
		v := l.Value.Interface()
		switch x := v.(type) {
		case Duration:
			v = x.String()
		case string:
			if !utf8.ValidString(x) {
				return nil, false
			}
		case []string:
			for _, s := range x {
				if !utf8.ValidString(s) {
					return nil, false
				}
			}
		}
		m[keys[len(keys)-1]] = v
	}
	data, err := json.Marshal(root)
	return data, err == nil
}

// configSections splits a YAML file at its top-level keys.
func configSections(data []byte) [][]byte {
	var out [][]byte
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		if len(out) == 0 || line[0] != ' ' && line[0] != '-' {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], line...)
	}
	return out
}

// stripComments drops the comment lines and the trailing comments of a YAML
// file that has no # inside its values.
func stripComments(data []byte) []byte {
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimRight(line[:i], " ")
		}
		if strings.TrimSpace(line) != "" {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// TestConfigFileTaggedList: a tagged value that is not a sequence, for a
// list setting, is a positioned error. go-yaml panicked decoding it (found
// by FuzzConfigFile; testdata/fuzz/FuzzConfigFile/32f1c9f7c32516c2).
func TestConfigFileTaggedList(t *testing.T) {
	for src, want := range map[string]string{
		"rules: !!str r.yaml\n":    "1:8: !!str string was used where sequence is expected",
		"rules: !!seq\n":           "1:8: !!seq null was used where sequence is expected",
		"brokers: !x\n":            "1:10: !x null was used where sequence is expected",
		"rules: !00\n0000":         "1:8: !00 string was used where sequence is expected",
		"rules: &a !!str r.yaml\n": "1:11: !!str string was used where sequence is expected",
	} {
		var c Daemon
		_, err := Decode([]byte(src), &c)
		var ce Errors
		if !errors.As(err, &ce) || len(ce) != 1 || ce[0] != want {
			t.Errorf("%q: got %v, want %s", src, err, want)
		}
	}
	var c Daemon
	if _, err := Decode([]byte("rules: !!seq [r.yaml]\n"), &c); err != nil || !reflect.DeepEqual(c.Rules, []string{"r.yaml"}) {
		t.Errorf("a tagged sequence: %v %v", c.Rules, err)
	}
}

// TestConfigFileEmptyDocuments: a leading or trailing --- (an empty
// document) is not a second document. Decode took the position of
// the empty document's body, which is nil, and panicked (found by
// FuzzConfigFile; testdata/fuzz/FuzzConfigFile/6d4704c9c2a317f4).
func TestConfigFileEmptyDocuments(t *testing.T) {
	for _, src := range []string{"rules: [a]\n---\n", "rules: [a]\n---\n...\n", "---\nrules: [a]\n", "rules: [a]\n---\n# the end\n", "# c\n---\nrules: [a]\n---\n"} {
		var c Daemon
		if _, err := Decode([]byte(src), &c); err != nil || !reflect.DeepEqual(c.Rules, []string{"a"}) {
			t.Errorf("%q: %v %v", src, c.Rules, err)
		}
	}
	var c Daemon
	_, err := Decode([]byte("rules: [a]\n---\n\nrules: [b]\n"), &c)
	var ce Errors
	if !errors.As(err, &ce) || len(ce) != 1 || ce[0] != "4:1: a config file holds one YAML document" {
		t.Errorf("two documents: %v", err)
	}
}
