package armtemplate

import (
	"fmt"
	"strconv"
	"strings"
)

// node is a parsed template expression.
type node interface{ String() string }

type (
	// litNode is a string, integer or boolean literal.
	litNode struct{ v any }
	// callNode is a function call, e.g. concat('a', 'b').
	callNode struct {
		name string // as written
		args []node
	}
	// propNode is a property access, e.g. x.name.
	propNode struct {
		x    node
		name string
	}
	// indexNode is an indexing, e.g. x[0] or x['name'].
	indexNode struct{ x, i node }
)

func (n litNode) String() string { return fmt.Sprintf("%#v", n.v) }
func (n callNode) String() string {
	parts := make([]string, len(n.args))
	for i, a := range n.args {
		parts[i] = a.String()
	}
	return n.name + "(" + strings.Join(parts, ", ") + ")"
}
func (n propNode) String() string  { return n.x.String() + "." + n.name }
func (n indexNode) String() string { return n.x.String() + "[" + n.i.String() + "]" }

// isExpression reports whether a template string is an expression: it
// starts with '[' and ends with ']', and does not start with "[[" (the
// escape for a literal that starts with '[').
func isExpression(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && s[1] != '['
}

// unescapeLiteral returns the value of a template string that is not an
// expression: "[[x]" stands for "[x]".
func unescapeLiteral(s string) string {
	if strings.HasPrefix(s, "[[") && strings.HasSuffix(s, "]") {
		return s[1:]
	}
	return s
}

// parseExpression parses the text of an expression string (with its outer
// brackets).
func parseExpression(s string) (node, error) {
	if len(s) > maxExpressionLength {
		return nil, fmt.Errorf("the expression is %d characters long; the limit is %d", len(s), maxExpressionLength)
	}
	p := &parser{s: s[1 : len(s)-1]}
	p.space()
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if !p.done() {
		return nil, p.errorf("unexpected '%s'", p.rest())
	}
	return n, nil
}

// parser is a recursive-descent parser of ARM's expression language:
//
//	expr    = primary { "." ident | "[" expr "]" }
//	primary = string | number | ident "(" [ expr { "," expr } ] ")" | true | false | null
//	string  = "'" { char | "''" } "'"
type parser struct {
	s string
	i int
}

func (p *parser) done() bool { return p.i >= len(p.s) }

func (p *parser) rest() string {
	r := p.s[p.i:]
	if len(r) > 40 {
		r = r[:40] + "..."
	}
	return r
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("at position %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *parser) expr(depth int) (node, error) {
	if depth > maxExpressionDepth {
		return nil, p.errorf("the expression nests deeper than %d levels", maxExpressionDepth)
	}
	n, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		switch p.peek() {
		case '.':
			p.i++
			p.space()
			name := p.ident()
			if name == "" {
				return nil, p.errorf("a property name is expected after '.'")
			}
			n = propNode{x: n, name: name}
		case '[':
			p.i++
			p.space()
			idx, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			p.space()
			if p.peek() != ']' {
				return nil, p.errorf("']' is expected")
			}
			p.i++
			n = indexNode{x: n, i: idx}
		default:
			return n, nil
		}
	}
}

func (p *parser) primary(depth int) (node, error) {
	c := p.peek()
	switch {
	case c == 0:
		return nil, p.errorf("the expression ends too early")
	case c == '\'':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case isIdentStart(c):
		name := p.ident()
		p.space()
		if p.peek() != '(' {
			switch strings.ToLower(name) {
			case "true":
				return litNode{true}, nil
			case "false":
				return litNode{false}, nil
			case "null":
				return litNode{nil}, nil
			}
			return nil, p.errorf("'%s' is not a function call: '(' is expected after it", name)
		}
		p.i++
		call := callNode{name: name}
		p.space()
		if p.peek() == ')' {
			p.i++
			return call, nil
		}
		for {
			p.space()
			a, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			if len(call.args) >= maxFunctionArgs {
				return nil, p.errorf("function '%s' has more than %d arguments", name, maxFunctionArgs)
			}
			call.args = append(call.args, a)
			p.space()
			switch p.peek() {
			case ',':
				p.i++
				continue
			case ')':
				p.i++
				return call, nil
			}
			return nil, p.errorf("',' or ')' is expected in the arguments of '%s'", name)
		}
	}
	return nil, p.errorf("unexpected character '%c'", c)
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func (p *parser) ident() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isIdentStart(c) || c >= '0' && c <= '9' || c == '$' {
			p.i++
			continue
		}
		// A user-defined function's namespace.name: kept whole so that
		// it is refused by name.
		if c == '.' && start < p.i && p.i+1 < len(p.s) && isIdentStart(p.s[p.i+1]) && p.isCallAhead() {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

// isCallAhead reports whether the '.' at p.i joins a namespace and a
// function name ("ns.fn(") rather than a property access ("x.y").
func (p *parser) isCallAhead() bool {
	j := p.i + 1
	for j < len(p.s) && (isIdentStart(p.s[j]) || p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	// The part before the dot must itself be a bare name (not a call).
	return j < len(p.s) && p.s[j] == '('
}

func (p *parser) str() (node, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if p.peek() == '\'' {
			b.WriteByte('\'')
			p.i++
			continue
		}
		return litNode{b.String()}, nil
	}
	return nil, p.errorf("a string literal is not closed")
}

func (p *parser) number() (node, error) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == digits {
		return nil, p.errorf("a number is expected")
	}
	if p.peek() == '.' {
		return nil, p.errorf("only integers are supported")
	}
	n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	if err != nil {
		return nil, p.errorf("the number '%s' is out of range", p.s[start:p.i])
	}
	return litNode{n}, nil
}
