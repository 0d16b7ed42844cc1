package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Secret is a credential. Every way of printing it (fmt verbs, JSON, YAML, slog)
// shows "[redacted]", or "" when it is empty so that an unset secret is visible
// as unset; only Value returns the real value.
type Secret string

const redacted = "[redacted]"

// Value returns the secret itself, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the redacted form quoted, as %#v of a string would.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format prints the redacted form under every verb and flag, so that %x or %q
// cannot reach the underlying string either.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// MarshalJSON encodes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML encodes the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue logs the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Duration is a time.Duration written in YAML as a string with a unit ("10m",
// "1h30m"). A bare number is rejected because its unit would be a guess.
type Duration time.Duration

// String formats the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML encodes the duration as a string that UnmarshalYAML reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string such as "10m". A null leaves zero, which
// validation then reports against the key's range.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	const want = `must be a duration with a unit, like "10m"`
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s, got %s", want, describe(n))
	}
	switch n.ShortTag() {
	case "!!str":
	case "!!int", "!!float":
		return fmt.Errorf("%s, got a bare number %q", want, n.Value)
	default:
		return fmt.Errorf("%s, got %s", want, describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%s, got %q", want, n.Value)
	}
	*d = Duration(v)
	return nil
}

// describe names a node's kind for an error message without quoting its value,
// which may be a secret.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "nothing"
	}
	return "a value tagged " + strconv.Quote(n.ShortTag())
}
