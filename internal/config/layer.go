package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
)

// Leaf is one setting: its config key and its value in the struct.
type Leaf struct {
	Key   string // "topics.prices"
	Value reflect.Value
}

// Leaves lists the settings of a config struct (a pointer to one) by their
// yaml keys: nested structs are sections, inline ones merge into their
// parent.
func Leaves(cfg any) []Leaf { return leaves(reflect.ValueOf(cfg).Elem(), "") }

func leaves(v reflect.Value, prefix string) []Leaf {
	var out []Leaf
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline := yamlName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		key := prefix + name
		fv := v.Field(i)
		switch {
		case inline:
			out = append(out, leaves(fv, prefix)...)
		case fv.Kind() == reflect.Struct:
			out = append(out, leaves(fv, key+".")...)
		default:
			out = append(out, Leaf{Key: key, Value: fv})
		}
	}
	return out
}

// yamlName is a field's yaml key, and whether it is inline.
func yamlName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("yaml")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, slices.Contains(strings.Split(opts, ","), "inline")
}

// pathKey says whether a setting names a file or directory, which in the
// config file is relative to the file's directory.
func pathKey(key string) bool {
	return key == "rules" || key == "channels" || strings.HasSuffix(key, "_file") || strings.HasSuffix(key, "_dir")
}

// Layer reads the config file name and sets every setting it has that is
// not among origins, the settings a flag or the environment gave (by key,
// with "--flag" or "$VAR"). c.Origins becomes origins and the file's
// positions of the settings it gave. Paths in the file are made relative
// to its directory.
func (c *Daemon) Layer(name string, origins map[string]string) error {
	c.Origins = origins
	if c.Origins == nil {
		c.Origins = map[string]string{}
	}
	if name == "" {
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var file Daemon
	present, err := Decode(data, &file)
	if err != nil {
		var list Errors
		if errors.As(err, &list) {
			for i := range list {
				list[i] = name + ":" + list[i]
			}
			return list
		}
		return fmt.Errorf("config %s: %w", name, err)
	}
	dir := filepath.Dir(name)
	dst := Leaves(c)
	for i, l := range Leaves(&file) {
		pos, ok := present[l.Key]
		if _, user := origins[l.Key]; !ok || user {
			continue
		}
		v := l.Value
		if pathKey(l.Key) {
			v = relativeTo(dir, v)
		}
		dst[i].Value.Set(v)
		c.Origins[l.Key] = name + ":" + pos
	}
	return nil
}

// relativeTo resolves relative paths (a string or a list) against dir.
func relativeTo(dir string, v reflect.Value) reflect.Value {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "~") {
			return p
		}
		return filepath.Join(dir, p)
	}
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(abs(v.String())).Convert(v.Type())
	case reflect.Slice:
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).SetString(abs(v.Index(i).String()))
		}
		return out
	}
	return v
}
