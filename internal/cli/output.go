package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
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

// printResult writes v in the output format chosen with --output, after
// applying --query to it, as az does: the query runs on the command's JSON
// result and the format renders what the query returned. v must be
// JSON-shaped (maps, slices, strings, numbers, bools, nil), so that JSON keys
// come out sorted as az prints them. cols, if not nil, chooses the table
// columns (as az's table transformers do, and like them only without
// --query); otherwise every scalar field is a column. A nil result (also one
// the query returned) prints nothing, as in az.
func (inv *invocation) printResult(v any, cols []column) error {
	q, err := inv.compiledQuery()
	if err != nil {
		return err
	}
	if q != nil {
		if v, err = q.search(v); err != nil {
			return err
		}
		cols = nil // az skips the table transformer when --query is given
	}
	format := inv.flags.str("output")
	if v == nil || format == "none" {
		return nil
	}
	color := (format == "jsonc" || format == "yamlc") && isTerminal(inv.stdout)
	var buf bytes.Buffer
	switch format {
	case "table", "tsv", "yaml", "yamlc":
		// These walk the value: make it plain JSON values first.
		if v, err = toJSONValue(v); err != nil {
			return err
		}
	}
	switch format {
	case "table":
		if err := writeTable(&buf, v, cols, q); err != nil {
			return err
		}
	case "tsv":
		if cols != nil {
			writeTSV(&buf, v, cols)
		} else {
			writeTSVAz(&buf, v, q)
		}
	case "yaml", "yamlc":
		if err := writeYAML(&buf, v); err != nil {
			return err
		}
		if color {
			buf = *bytes.NewBuffer(colorYAML(buf.Bytes()))
		}
	default:
		if err := writeJSON(&buf, v); err != nil {
			return err
		}
		if color {
			buf = *bytes.NewBuffer(colorJSON(buf.Bytes()))
		}
	}
	if _, err := inv.stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the result: %w", err)
	}
	return nil
}

// compiledQuery returns the --query expression, compiled once per
// invocation; nil when none was given.
func (inv *invocation) compiledQuery() (*query, error) {
	if inv.query != nil || !inv.flags.has("query") {
		return inv.query, nil
	}
	q, err := compileQuery(inv.cmdPath(), inv.flags.str("query"))
	if err != nil {
		return nil, err
	}
	inv.query = q
	return q, nil
}

// isTerminal reports whether w is a terminal (colour is only for terminals).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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

// tableRow is one row of table output: its cells by key and the keys in
// column order.
type tableRow struct {
	keys []string
	vals map[string]any
}

// tableSkipKeys are never automatic table columns (knack's SKIP_KEYS).
var tableSkipKeys = map[string]bool{"id": true, "type": true, "etag": true}

// tableRows turns a result into table rows as knack does: a list is one row
// per item, anything else a single row; an object's row is its fields (in
// the query's order, else sorted), a list's row is Column1..N, a scalar's a
// Result column.
func tableRows(v any, q *query) []tableRow {
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil
		}
		items = []any{v}
	}
	out := make([]tableRow, 0, len(items))
	for _, it := range items {
		switch t := it.(type) {
		case map[string]any:
			out = append(out, tableRow{keys: q.keyOrder(t), vals: t})
		case []any:
			r := tableRow{vals: map[string]any{}}
			for i, x := range t {
				k := fmt.Sprintf("Column%d", i+1)
				r.keys = append(r.keys, k)
				r.vals[k] = x
			}
			out = append(out, r)
		default:
			out = append(out, tableRow{keys: []string{"Result"}, vals: map[string]any{"Result": t}})
		}
	}
	return out
}

// autoColumns picks, in order of first appearance, every key that holds a
// scalar (not null) in some row, except id, type and etag.
func autoColumns(rs []tableRow) []column {
	seen := map[string]bool{}
	var cols []column
	for _, r := range rs {
		for _, k := range r.keys {
			if seen[k] || tableSkipKeys[k] {
				continue
			}
			switch r.vals[k].(type) {
			case map[string]any, []any, nil:
				continue
			}
			seen[k] = true
			cols = append(cols, column{Header: capitalize(k), Key: k})
		}
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

// writeTable writes rows as knack's table output (tabulate's "simple"): a
// header, a dashed rule, then left-aligned cells, columns two spaces apart
// and each at least two wider than its header. A result with no
// column to show is az's "Table output unavailable" error.
func writeTable(w io.Writer, v any, cols []column, q *query) error {
	rs := tableRows(v, q)
	if len(rs) == 0 {
		return nil
	}
	if cols == nil {
		cols = autoColumns(rs)
		if len(cols) == 0 {
			return &ExitError{Code: ExitFailure,
				Message: "Table output unavailable. Use the --query option to specify an appropriate query. Use --debug for more info.",
				Hint:    "Use -o json to see the whole result, or --query to pick fields: --query \"[].{Name:name}\" -o table."}
		}
	}
	widths := make([]int, len(cols))
	cells := make([][]string, len(rs))
	for i, c := range cols {
		// tabulate's MIN_PADDING: a column is at least its header and two.
		widths[i] = utf8.RuneCountInString(c.Header) + 2
	}
	for ri, r := range rs {
		cells[ri] = make([]string, len(cols))
		for ci, c := range cols {
			s := cell(lookup(r.vals, c.Key))
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
	return nil
}

// writeTSV writes one line per row with the chosen columns' values
// tab-separated (the command's table columns, used when there is no --query).
func writeTSV(w io.Writer, v any, cols []column) {
	for _, r := range tableRows(v, nil) {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = cell(lookup(r.vals, c.Key))
		}
		fmt.Fprintln(w, strings.Join(vals, "\t"))
	}
}

// writeTSVAz writes v as knack's tsv output does: a list is one line per
// item, anything else one line. An object's line is its values (in the
// query's key order, else sorted by key), a list's line its items,
// tab-separated; inside a line a nested list prints its length, a nested
// object an empty field, null "None" and booleans "True"/"False" (Python's
// str()). A bare boolean line is "true"/"false".
func writeTSVAz(w io.Writer, v any, q *query) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	for _, it := range items {
		var vals []string
		switch t := it.(type) {
		case map[string]any:
			for _, k := range q.keyOrder(t) {
				vals = append(vals, tsvField(t[k]))
			}
		case []any:
			for _, x := range t {
				vals = append(vals, tsvField(x))
			}
		case bool:
			vals = []string{strconv.FormatBool(t)}
		default:
			vals = []string{tsvField(t)}
		}
		fmt.Fprintln(w, strings.Join(vals, "\t"))
	}
}

// tsvField renders one tsv field (knack's _dump_obj).
func tsvField(v any) string {
	switch t := v.(type) {
	case []any:
		return strconv.Itoa(len(t))
	case map[string]any:
		return ""
	case nil:
		return "None"
	default:
		return cell(t)
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
