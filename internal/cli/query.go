package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmespath-community/go-jmespath"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"
)

// queryHint is where az sends users whose --query failed.
const queryHint = "To learn more about --query, please visit: 'https://learn.microsoft.com/cli/azure/query-azure-cli'"

// query is a compiled --query expression. az evaluates --query with
// JMESPath on a command's JSON result before formatting it; so does this.
type query struct {
	expr string
	jp   jmespath.JMESPath
	// hashes holds the keys of every multiselect hash ({a: x, b: y}) in the
	// expression, in the order written: az's JMESPath builds those objects
	// as ordered dicts, so table and tsv output keep that column order.
	hashes [][]string
}

// compileQuery parses a --query expression. A syntax error is a usage error
// worded as az's argument parser words it.
func compileQuery(cmdPath, expr string) (*query, error) {
	ast, err := parsing.NewParser().Parse(expr)
	if err == nil {
		var jp jmespath.JMESPath
		if jp, err = jmespath.Compile(expr); err == nil {
			q := &query{expr: expr, jp: jp}
			collectHashes(ast, &q.hashes)
			return q, nil
		}
	}
	msg := err.Error()
	var se parsing.SyntaxError
	if errors.As(err, &se) {
		msg += "\n" + se.HighlightLocation()
	}
	return nil, usageErrorf(cmdPath, "argument --query: invalid jmespath_type value: '%s'\n%s", expr, msg)
}

// collectHashes appends the key order of every multiselect hash under n.
func collectHashes(n parsing.ASTNode, out *[][]string) {
	if n.NodeType == parsing.ASTMultiSelectHash {
		keys := make([]string, 0, len(n.Children))
		for _, kv := range n.Children {
			if k, ok := kv.Value.(string); ok {
				keys = append(keys, k)
			}
		}
		*out = append(*out, keys)
	}
	for _, c := range n.Children {
		collectHashes(c, out)
	}
}

// search runs the query on v. v is first turned into plain JSON values
// (objects, arrays, float64 numbers) so that the expression sees exactly what
// -o json would print.
func (q *query) search(v any) (any, error) {
	data, err := toJSONValue(v)
	if err != nil {
		return nil, err
	}
	res, err := q.jp.Search(data)
	if err != nil {
		return nil, &ExitError{Code: ExitFailure, Message: fmt.Sprintf("Invalid jmespath query supplied for `--query`: %v", err), Hint: queryHint}
	}
	return res, nil
}

// keyOrder returns m's keys in the order a multiselect hash of the query
// wrote them, or sorted when no hash has exactly these keys.
func (q *query) keyOrder(m map[string]any) []string {
	if q != nil {
	hashes:
		for _, h := range q.hashes {
			if len(h) != len(m) {
				continue
			}
			for _, k := range h {
				if _, ok := m[k]; !ok {
					continue hashes
				}
			}
			return h
		}
	}
	return sortedKeys(m)
}

// toJSONValue round-trips v through encoding/json.
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the result as JSON: %w", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decoding the result: %w", err)
	}
	return out, nil
}
