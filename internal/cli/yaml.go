package cli

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// writeYAML writes v (plain JSON values) as az's -o yaml does (PyYAML's
// safe_dump with block style): keys sorted as Python sorts them (by code
// point), 2-space indent, list items not indented under their key, empty
// collections as [] and {}, and a lone scalar ended by "...".
func writeYAML(w io.Writer, v any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(yamlNode(v)); err != nil {
		return fmt.Errorf("encoding the result as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encoding the result as YAML: %w", err)
	}
	switch v.(type) {
	case map[string]any, []any:
	default:
		_, err := io.WriteString(w, "...\n")
		return err
	}
	return nil
}

// yamlNode builds the YAML tree for v, so that key order is ours (sorted
// by code point) rather than the encoder's natural order.
func yamlNode(v any) *yaml.Node {
	switch t := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if len(t) == 0 {
			n.Style = yaml.FlowStyle
		}
		for _, k := range sortedKeys(t) {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, yamlNode(t[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if len(t) == 0 {
			n.Style = yaml.FlowStyle
		}
		for _, it := range t {
			n.Content = append(n.Content, yamlNode(it))
		}
		return n
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}
	case float64:
		if t == float64(int64(t)) {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(t), 10)}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(t, 'g', -1, 64)}
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: cell(t)}
	}
}

// ANSI colours for -o jsonc / yamlc on a terminal.
const (
	ansiKey    = "\x1b[94m"
	ansiString = "\x1b[32m"
	ansiReset  = "\x1b[0m"
)

// colorJSON colours object keys and string values of indented JSON.
func colorJSON(b []byte) []byte {
	var out bytes.Buffer
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			out.WriteByte(b[i])
			continue
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				j++
			}
			j++
		}
		end := min(j+1, len(b))
		colour := ansiString
		if end < len(b) && b[end] == ':' {
			colour = ansiKey
		}
		out.WriteString(colour)
		out.Write(b[i:end])
		out.WriteString(ansiReset)
		i = end - 1
	}
	return out.Bytes()
}

var yamlKeyRE = regexp.MustCompile(`(?m)^(\s*(?:- )*)([^\s#'"\-][^:\n]*|"[^"\n]*"|'[^'\n]*'):( |$)`)

// colorYAML colours the keys of block YAML.
func colorYAML(b []byte) []byte {
	return yamlKeyRE.ReplaceAll(b, []byte("${1}"+ansiKey+"${2}"+ansiReset+":${3}"))
}
