package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// column is one column of a table: a header and the key whose value it shows.
type column struct {
	Header string
	Key    string
}

// printResult writes v in the output format chosen with --output. v must be
// JSON-shaped (maps, slices, strings, numbers, bools, nil), so that JSON keys
// come out sorted as az prints them. cols, if not nil, chooses the table
// columns (as az's table transformers do); otherwise every scalar field is a
// column.
func (inv *invocation) printResult(v any, cols []column) error {
	var buf bytes.Buffer
	switch inv.flags.str("output") {
	case "none":
		return nil
	case "table":
		writeTable(&buf, v, cols)
	case "tsv":
		writeTSV(&buf, v, cols)
	default:
		if err := writeJSON(&buf, v); err != nil {
			return err
		}
	}
	if _, err := inv.stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the result: %w", err)
	}
	return nil
}

// writeJSON writes v as az does: 2-space indent, sorted keys, no HTML
// escaping, trailing newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding the result as JSON: %w", err)
	}
	return nil
}

// rows turns a result into table rows: a list is one row per item, an
// object a single row, a scalar a one-column row.
func rows(v any) []map[string]any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, it := range t {
			if m, ok := it.(map[string]any); ok {
				out = append(out, m)
			} else {
				out = append(out, map[string]any{"Result": it})
			}
		}
		return out
	case map[string]any:
		return []map[string]any{t}
	default:
		return []map[string]any{{"Result": t}}
	}
}

// autoColumns picks every key whose value is a scalar in any row, sorted.
func autoColumns(rs []map[string]any) []column {
	seen := map[string]bool{}
	for _, r := range rs {
		for k, v := range r {
			switch v.(type) {
			case map[string]any, []any:
			default:
				seen[k] = true
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cols := make([]column, len(keys))
	for i, k := range keys {
		cols[i] = column{Header: capitalize(k), Key: k}
	}
	return cols
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// cell renders a scalar as az's table and tsv outputs do (Python's str()).
func cell(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		if t {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		return t.String()
	case map[string]any, []any:
		b, _ := json.Marshal(t)
		return string(b)
	default:
		return fmt.Sprint(t)
	}
}

// lookup reads a dotted key ("sku.name") from a row.
func lookup(r map[string]any, key string) any {
	var cur any = r
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// writeTable writes rows as knack's table output: a header, a dashed rule,
// then left-aligned cells, columns two spaces apart.
func writeTable(w io.Writer, v any, cols []column) {
	rs := rows(v)
	if len(rs) == 0 {
		return
	}
	if cols == nil {
		cols = autoColumns(rs)
	}
	widths := make([]int, len(cols))
	cells := make([][]string, len(rs))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c.Header)
	}
	for ri, r := range rs {
		cells[ri] = make([]string, len(cols))
		for ci, c := range cols {
			s := cell(lookup(r, c.Key))
			cells[ri][ci] = s
			widths[ci] = max(widths[ci], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string) {
		var b strings.Builder
		for i, s := range vals {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(s)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s)))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	hdr := make([]string, len(cols))
	rule := make([]string, len(cols))
	for i, c := range cols {
		hdr[i] = c.Header
		rule[i] = strings.Repeat("-", widths[i])
	}
	line(hdr)
	line(rule)
	for _, r := range cells {
		line(r)
	}
}

// writeTSV writes one line per row with the columns' values tab-separated.
func writeTSV(w io.Writer, v any, cols []column) {
	rs := rows(v)
	if cols == nil {
		cols = autoColumns(rs)
	}
	for _, r := range rs {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = cell(lookup(r, c.Key))
		}
		fmt.Fprintln(w, strings.Join(vals, "\t"))
	}
}

// flatten returns an ARM resource the way the Python SDK models print it:
// the fields of "properties" lifted to the top level beside id, name, type,
// kind, location and tags (top-level fields win).
func flatten(res map[string]any) map[string]any {
	out := map[string]any{}
	if props, ok := res["properties"].(map[string]any); ok {
		for k, v := range props {
			out[k] = v
		}
	}
	for k, v := range res {
		if k != "properties" {
			out[k] = v
		}
	}
	return out
}
