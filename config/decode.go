package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// document returns the root node of the one YAML document in data.
func document(data []byte) (*yaml.Node, error) {
	errEmpty := errors.New("config is empty; it needs at least feishu.app_id, feishu.app_secret " +
		"and access.admins (see config.example.yaml)")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errEmpty
		}
		return nil, fmt.Errorf("config is not valid YAML: %w", err)
	}
	// A second document would be silently ignored by a plain decode, and with it
	// whatever the operator meant to configure there.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("config is not valid YAML: %w", err)
	default:
		return nil, fmt.Errorf("config: line %d: a second YAML document starts here; acsbot reads exactly one", next.Line)
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		return nil, errEmpty
	}
	return doc.Content[0], nil
}

// decode sets every key of root on c, leaving the defaults of the keys it lacks.
// It walks the nodes itself rather than use yaml's strict mode so that every
// error names the full key (feishu.app_id, access.admins[2]) and its line, every
// problem is reported at once, and no message quotes a value that may be secret.
func decode(root *yaml.Node, c *Config) error {
	return errors.Join(decodeValue("", root, reflect.ValueOf(c).Elem())...)
}

func decodeValue(key string, n *yaml.Node, v reflect.Value) []error {
	n = resolve(n)
	switch {
	case v.Kind() == reflect.Struct:
		return decodeStruct(key, n, v)
	case v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, decodeValue(fmt.Sprintf("%s[%d]", key, i), item, s.Index(i))...)
		}
		v.Set(s)
		return errs
	}
	// yaml turns 10000.5 into the int 10000 without a word; a count takes whole numbers only.
	if v.Kind() == reflect.Int && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
		return []error{fmt.Errorf("%s: line %d: must be %s, got a fraction", key, n.Line, want(v.Type()))}
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		if _, custom := v.Addr().Interface().(yaml.Unmarshaler); custom {
			return []error{fmt.Errorf("%s: line %d: %w", key, n.Line, err)}
		}
		return []error{fmt.Errorf("%s: line %d: must be %s, got %s", key, n.Line, want(v.Type()), describe(n))}
	}
	return nil
}

func decodeStruct(key string, n *yaml.Node, v reflect.Value) []error {
	name := key
	if name == "" {
		name = "config"
	}
	fields, names := yamlFields(v.Type())
	if n.ShortTag() == "!!null" {
		return nil // "push:" with nothing under it keeps the defaults
	}
	if n.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s: line %d: must be a mapping of %s, got %s",
			name, n.Line, strings.Join(names, ", "), describe(n))}
	}
	var errs []error
	seen := make(map[string]int, len(fields))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("%s: line %d: a key must be a plain name, got %s", name, k.Line, describe(k)))
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: line %d: unknown key; %s takes %s",
				join(key, plain(k.Value)), k.Line, name, strings.Join(names, ", ")))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			errs = append(errs, fmt.Errorf("%s: line %d: set twice (first at line %d)", join(key, k.Value), k.Line, first))
			continue
		}
		seen[k.Value] = k.Line
		errs = append(errs, decodeValue(join(key, k.Value), val, v.Field(idx))...)
	}
	return errs
}

// yamlFields maps a struct's yaml keys to field indexes, and lists the keys in
// declaration order for messages. Fields without a yaml tag are not config keys.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	fields := make(map[string]int, t.NumField())
	var names []string
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	return fields, names
}

// resolve follows an alias to the node it names; the parser has already
// rejected an alias to an undefined anchor.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// plain returns a key as written when it is a plain name, else quoted, so that
// a key with a newline or a space cannot break the one-line message.
func plain(key string) string {
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return strconv.Quote(key)
		}
	}
	if key == "" {
		return `""`
	}
	return key
}

func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of strings"
	case reflect.Int:
		return "a whole number"
	}
	return t.String()
}
