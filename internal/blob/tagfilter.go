package blob

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Tag filters are the SQL-like expressions over blob index tags that Azure
// takes in two places, with two dialects:
//
//   - x-ms-if-tags (and x-ms-source-if-tags), a condition on one blob's
//     tags: comparisons = <> > >= < <=, AND, OR and parentheses. Lengths
//     are not checked (a key longer than any tag simply matches nothing).
//   - the where parameter of Find Blobs by Tags: comparisons = > >= < <=
//     joined by AND, the pseudo-key @container, at most 10 distinct tag
//     keys, and per key either one equality or one range (a lower and/or
//     an upper bound).
//
// A key is a bare word of letters, digits and underscores, or a
// double-quoted string; a value is a single-quoted string. Quoted keys and
// values hold only the characters tags may hold. Keywords are
// case-insensitive. Comparisons are of strings, byte by byte, and a
// comparison with a tag the blob does not have is false (<> included).
//
// grammar:
//
//	expr  := and { OR and }
//	and   := term { AND term }
//	term  := '(' expr ')' | key op value
//	op    := '=' | '<>' | '>' | '>=' | '<' | '<='

// tagDialect selects which of the two forms is parsed.
type tagDialect int

const (
	dialectIfTags tagDialect = iota // x-ms-if-tags
	dialectWhere                    // Find Blobs by Tags
)

// Azure's limits on tags and filters.
const (
	maxTags           = 10  // tags per blob, distinct tag keys per where
	maxTagKeyLen      = 128 // characters in a key
	maxTagValueLen    = 256 // characters in a value
	maxTagFilterDepth = 32  // nested parentheses (ours: bounds recursion)
	containerPseudo   = "@container"
)

// tagCond is one comparison: Key Op Value.
type tagCond struct {
	Key, Op, Value string
}

// holds reports whether tags satisfy the comparison; a missing tag never
// does.
func (c tagCond) holds(tags tagSet) bool {
	v, ok := tags[c.Key]
	if !ok {
		return false
	}
	switch c.Op {
	case "=":
		return v == c.Value
	case "<>":
		return v != c.Value
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	}
	return false
}

// tagExpr is a parsed filter: a comparison (Terms empty), or the AND or OR
// of Terms.
type tagExpr struct {
	Or    bool
	Terms []*tagExpr
	Cond  tagCond
}

// eval reports whether tags satisfy e.
func (e *tagExpr) eval(tags tagSet) bool {
	if len(e.Terms) == 0 {
		return e.Cond.holds(tags)
	}
	for _, t := range e.Terms {
		if t.eval(tags) == e.Or {
			return e.Or
		}
	}
	return !e.Or
}

// conds appends the comparisons of e, which must hold only ANDs (as a where
// expression does), to out.
func (e *tagExpr) conds(out []tagCond) []tagCond {
	if len(e.Terms) == 0 {
		return append(out, e.Cond)
	}
	for _, t := range e.Terms {
		out = t.conds(out)
	}
	return out
}

// tagFilterError is a malformed filter. Pos is the 1-based byte position
// of the offending token, 0 for an error about the whole expression.
type tagFilterError struct {
	Pos int
	Msg string
}

func (e *tagFilterError) Error() string {
	if e.Pos == 0 {
		return "Error parsing query: " + e.Msg
	}
	return fmt.Sprintf("Error parsing query at or near character position %d: %s", e.Pos, e.Msg)
}

// tokKind classifies a token.
type tokKind int

const (
	tokEOF    tokKind = iota
	tokWord           // a bare word: a key or a keyword
	tokKey            // "double-quoted"
	tokString         // 'single-quoted'
	tokOp             // = <> > >= < <=
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	text string // the word, the quoted content or the operator
	pos  int    // 1-based byte position
}

// lexTags splits s into tokens.
func lexTags(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		pos := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", pos})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", pos})
			i++
		case c == '=':
			toks = append(toks, token{tokOp, "=", pos})
			i++
		case c == '<' || c == '>':
			op := s[i : i+1]
			if i+1 < len(s) && (s[i+1] == '=' || (c == '<' && s[i+1] == '>')) {
				op = s[i : i+2]
			}
			toks = append(toks, token{tokOp, op, pos})
			i += len(op)
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, &tagFilterError{pos, "unterminated quoted string"}
			}
			kind := tokString
			if c == '"' {
				kind = tokKey
			}
			toks = append(toks, token{kind, s[i+1 : i+1+end], pos})
			i += end + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()=<>'\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j], pos})
			i = j
		}
	}
	return append(toks, token{tokEOF, "", len(s) + 1}), nil
}

// tagParser is a recursive-descent parser over the tokens of one filter.
type tagParser struct {
	toks    []token
	i       int
	dialect tagDialect
}

// parseTagFilter parses s in the given dialect and applies the dialect's
// rules.
func parseTagFilter(s string, d tagDialect) (*tagExpr, error) {
	toks, err := lexTags(s)
	if err != nil {
		return nil, err
	}
	p := &tagParser{toks: toks, dialect: d}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	if d == dialectWhere {
		if err := checkWhereRules(e.conds(nil)); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (p *tagParser) peek() token { return p.toks[p.i] }

func (p *tagParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *tagParser) unexpected(t token) error {
	if t.kind == tokEOF {
		return &tagFilterError{t.pos, "unexpected end of expression"}
	}
	return &tagFilterError{t.pos, fmt.Sprintf("unexpected '%s'", t.text)}
}

// keyword reports whether the next token is the bare word kw (any case)
// and consumes it if so.
func (p *tagParser) keyword(kw string) (token, bool) {
	t := p.peek()
	if t.kind == tokWord && strings.EqualFold(t.text, kw) {
		p.i++
		return t, true
	}
	return t, false
}

// expr := and { OR and }
func (p *tagParser) expr(depth int) (*tagExpr, error) {
	return p.chain(depth, "or", true, p.and)
}

// and := term { AND term }
func (p *tagParser) and(depth int) (*tagExpr, error) {
	return p.chain(depth, "and", false, p.term)
}

// chain parses operands joined by the keyword kw (iteratively, so long
// chains do not deepen the recursion) into one node.
func (p *tagParser) chain(depth int, kw string, or bool, operand func(int) (*tagExpr, error)) (*tagExpr, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	terms := []*tagExpr{first}
	for {
		t, ok := p.keyword(kw)
		if !ok {
			break
		}
		if or && p.dialect == dialectWhere {
			return nil, &tagFilterError{t.pos, "unexpected or"}
		}
		e, err := operand(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &tagExpr{Or: or, Terms: terms}, nil
}

// term := '(' expr ')' | key op value
func (p *tagParser) term(depth int) (*tagExpr, error) {
	if t := p.peek(); t.kind == tokLParen {
		if depth >= maxTagFilterDepth {
			return nil, &tagFilterError{t.pos, "expression nested too deeply"}
		}
		p.next()
		e, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tokRParen {
			return nil, &tagFilterError{t.pos, "expected ')'"}
		}
		return e, nil
	}
	return p.comparison()
}

func (p *tagParser) comparison() (*tagExpr, error) {
	kt := p.next()
	key, err := p.key(kt)
	if err != nil {
		return nil, err
	}
	ot := p.next()
	if ot.kind != tokOp {
		return nil, p.unexpected(ot)
	}
	if ot.text == "<>" && p.dialect == dialectWhere {
		return nil, &tagFilterError{ot.pos, "unexpected <>"}
	}
	vt := p.next()
	if vt.kind != tokString {
		return nil, &tagFilterError{vt.pos, "expecting tag value"}
	}
	if p.dialect == dialectWhere && len(vt.text) > maxTagValueLen {
		return nil, &tagFilterError{vt.pos, "tag value must be between 0 and 256 characters in length"}
	}
	if c, ok := badTagChar(vt.text); ok {
		return nil, &tagFilterError{vt.pos, fmt.Sprintf("'%c' not permitted in tag name or value", c)}
	}
	return &tagExpr{Cond: tagCond{Key: key, Op: ot.text, Value: vt.text}}, nil
}

// key validates the key token t.
func (p *tagParser) key(t token) (string, error) {
	switch t.kind {
	case tokWord:
		if strings.HasPrefix(t.text, "@") {
			if p.dialect == dialectIfTags {
				return "", &tagFilterError{t.pos, fmt.Sprintf("unexpected '%s'", t.text)}
			}
			if t.text != containerPseudo {
				return "", &tagFilterError{t.pos, fmt.Sprintf("unsupported parameter '%s'", t.text)}
			}
			return t.text, nil
		}
		if !bareKey(t.text) {
			return "", p.unexpected(t)
		}
	case tokKey:
		if c, ok := badTagChar(t.text); ok {
			return "", &tagFilterError{t.pos, fmt.Sprintf("'%c' not permitted in tag name or value", c)}
		}
	default:
		return "", p.unexpected(t)
	}
	if t.text == "" || (p.dialect == dialectWhere && len(t.text) > maxTagKeyLen) {
		return "", &tagFilterError{t.pos, "tag must be between 1 and 128 characters in length"}
	}
	return t.text, nil
}

// bareKey: an unquoted key is letters, digits and underscores.
func bareKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// validTagChar: tag keys and values hold letters, digits, space and
// + - . / : = _ only.
func validTagChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte(" +-./:=_", c) >= 0
}

// badTagChar returns the first character of s a tag may not hold.
func badTagChar(s string) (rune, bool) {
	for i := 0; i < len(s); i++ {
		if !validTagChar(s[i]) {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return r, true
		}
	}
	return 0, false
}

// checkWhereRules applies Find Blobs by Tags' limits to the comparisons
// of a where expression: at least one and at most 10 distinct tag keys
// (@container not counted), and per key, @container too, one equality or
// one range (which also bounds the query's parameters).
func checkWhereRules(conds []tagCond) error {
	type bounds struct{ eq, lower, upper int }
	seen := map[string]*bounds{}
	var order []string
	for _, c := range conds {
		b := seen[c.Key]
		if b == nil {
			b = &bounds{}
			seen[c.Key] = b
			if c.Key != containerPseudo {
				order = append(order, c.Key)
			}
		}
		switch c.Op {
		case "=":
			b.eq++
		case ">", ">=":
			b.lower++
		default:
			b.upper++
		}
		if len(order) > maxTags {
			return &tagFilterError{0, "there can be at most 10 unique tags in a query"}
		}
		if b.eq > 1 || (b.eq == 1 && b.lower+b.upper > 0) || b.lower > 1 || b.upper > 1 {
			return &tagFilterError{0, "can't have multiple conditions for a single tag unless they define a range"}
		}
	}
	if len(order) == 0 {
		return &tagFilterError{0, "at least one tag must be specified"}
	}
	return nil
}
