package config

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// FuzzConfigFile feeds arbitrary bytes to the daemon's config file decoder
// (Decode, what `promoguard run --config FILE` reads the file with:
// strict keys, one document, typed values with positions), then validates
// what it decoded. Whatever the bytes, it returns a non-empty list of
// errors, or a configuration and the known keys it sets with their
// positions; never a panic.
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
	known := map[string]bool{}
	for _, l := range Leaves(&Daemon{}) {
		known[l.Key] = true
	}
	pos := regexp.MustCompile(`^[0-9]+:[0-9]+$`)
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
		_ = c.Validate()
		_ = c.ChangelogTopic()
		_ = c.TopicSpecs()
	})
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
