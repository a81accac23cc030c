package blob

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTagFilterEval(t *testing.T) {
	tags := tagSet{"tag1": "val1", "tag2": "val2", "key1": "1a", "key2": "a1", " key 1 +-.:=_/": "x"}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`tag1='val1'`, true},
		{`tag1='val11'`, false},
		{`tag1 <> 'val1'`, false},
		{`tag1<>'v0'`, true},
		{`tag1>'val'`, true},
		{`tag1>'val11'`, false},
		{`tag1>='val1'`, true},
		{`tag1>='vam'`, false},
		{`tag1 <'val11'`, true},
		{`tag1< 'vam'`, true},
		{`tag1 < 'val1'`, false},
		{`tag1 <= 'val1'`, true},
		// Byte order: space, '+' and '.' sort before letters and digits.
		{`key1>'1 a'`, true},
		{`key2>'a+1'`, true},
		{`key1>'1.a'`, true},
		{`" key 1 +-.:=_/"='x'`, true},
		// A tag the blob lacks fails every comparison, <> included.
		{`missing<>'x'`, false},
		{`missing='x'`, false},
		{`tag1='val1' AND tag2='val2'`, true},
		{`tag1='val1' and tag2='nope'`, false},
		{`tag1='nope' OR tag2='val2'`, true},
		// AND binds tighter than OR: true OR (false AND false).
		{`tag1='val1' OR tag1='x' AND tag2='nope'`, true},
		{`(tag1='val1' OR tag1='x') AND tag2='nope'`, false},
		{`((tag1='val1'))`, true},
		// A key or value may be a keyword.
		{`and='x' or tag1='val1'`, true},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := parseTagFilter(tc.expr, dialectIfTags)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := e.eval(tags); got != tc.want {
				t.Errorf("eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTagFilterLongIfTags(t *testing.T) {
	// Azurite's suite sends 700 comparisons in one x-ms-if-tags.
	var b strings.Builder
	b.WriteString(`tag1 <> 'v0' `)
	for i := 1; i < 700; i++ {
		fmt.Fprintf(&b, `and tag1 <> 'v%d'`, i)
	}
	e, err := parseTagFilter(b.String(), dialectIfTags)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Terms) != 700 || !e.eval(tagSet{"tag1": "val1"}) {
		t.Errorf("terms = %d, eval = %v", len(e.Terms), e.eval(tagSet{"tag1": "val1"}))
	}
}

func TestTagFilterErrors(t *testing.T) {
	long := strings.Repeat("k", 129)
	for _, tc := range []struct {
		expr    string
		dialect tagDialect
		want    string // substring of the error; "" for success
	}{
		{`adfec`, dialectIfTags, "unexpected end"},
		{`@container='ab'`, dialectIfTags, "unexpected '@container'"},
		{`key111==value1`, dialectIfTags, "expecting tag value"},
		{`key+1='value1'`, dialectIfTags, "unexpected 'key+1'"},
		{`key--1='value1'`, dialectIfTags, "unexpected 'key--1'"},
		{`key1='value$$##'`, dialectIfTags, "'$' not permitted"},
		{`'key 1'='v'`, dialectIfTags, "unexpected 'key 1'"},
		{`""='v'`, dialectIfTags, "between 1 and 128"},
		{`a='unterminated`, dialectIfTags, "unterminated"},
		{`a='1' and`, dialectIfTags, "unexpected end"},
		{`(a='1'`, dialectIfTags, "expected ')'"},
		{`a='1')`, dialectIfTags, "unexpected ')'"},
		{``, dialectIfTags, "unexpected end"},
		{`a='1' b='2'`, dialectIfTags, "unexpected 'b'"},
		{strings.Repeat("(", 33) + `a='1'` + strings.Repeat(")", 33), dialectIfTags, "nested too deeply"},
		{strings.Repeat("(", 32) + `a='1'` + strings.Repeat(")", 32), dialectIfTags, ""},
		// x-ms-if-tags checks no lengths: a long key matches nothing.
		{long + `<>'v'`, dialectIfTags, ""},
		{`k='` + strings.Repeat("v", 257) + `'`, dialectIfTags, ""},
		// Find Blobs by Tags: the messages Azure gives.
		{`astring`, dialectWhere, "Error parsing query at or near character position"},
		{`'key 1'='valffffff'`, dialectWhere, "Error parsing query at or near character position 1: unexpected 'key 1'"},
		{`key1<>'ab'`, dialectWhere, "unexpected <>"},
		{`key1='ab' or key2='cd'`, dialectWhere, "unexpected or"},
		{`key1='valffffff' and @container11='1111'`, dialectWhere, "unsupported parameter '@container11'"},
		{long + `='value'`, dialectWhere, "tag must be between 1 and 128 characters in length"},
		{`key1='valffffff @'`, dialectWhere, "'@' not permitted in tag name or value"},
		{`key_1='` + strings.Repeat("v", 257) + `'`, dialectWhere, "tag value must be between 0 and 256 characters in length"},
		{`k0='v' and k1='v' and k2='v' and k3='v' and k4='v' and k5='v' and k6='v' and k7='v' and k8='v' and k9='v' and k10='v'`,
			dialectWhere, "Error parsing query: there can be at most 10 unique tags in a query"},
		{`k0='v' and k1='v' and k2='v' and k3='v' and k4='v' and k5='v' and k6='v' and k7='v' and k8='v' and k9='v' and @container='c'`,
			dialectWhere, ""},
		{`a='1' and a='2'`, dialectWhere, "unless they define a range"},
		{`a='1' and a>'0'`, dialectWhere, "unless they define a range"},
		{`a>'1' and a>='2'`, dialectWhere, "unless they define a range"},
		{`a>'1' and a<'5'`, dialectWhere, ""},
		{`@container='c'`, dialectWhere, "at least one tag"},
		{`"key 1 +-.:=_/"='value +-.:=_/' and @container='c'`, dialectWhere, ""},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := parseTagFilter(tc.expr, tc.dialect)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tc.want != "" && err == nil:
				t.Fatalf("got no error, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("got error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestTagSetValidation(t *testing.T) {
	eleven := make([][2]string, 11)
	for i := range eleven {
		eleven[i] = [2]string{fmt.Sprintf("tag%d", i), "v"}
	}
	for _, tc := range []struct {
		name  string
		pairs [][2]string
		want  error
	}{
		{"ten tags", eleven[:10], nil},
		{"eleven tags", eleven, errTagsTooLarge},
		{"empty key", [][2]string{{"", "v"}}, errEmptyTagName},
		{"key of 128", [][2]string{{strings.Repeat("k", 128), "v"}}, nil},
		{"key of 129", [][2]string{{strings.Repeat("k", 129), "v"}}, errTagsTooLarge},
		{"value of 256", [][2]string{{"k", strings.Repeat("v", 256)}}, nil},
		{"value of 257", [][2]string{{"k", strings.Repeat("v", 257)}}, errTagsTooLarge},
		{"empty value", [][2]string{{"k", ""}}, nil},
		{"every permitted character", [][2]string{{"azAz09 +-./:=_", "azAz09 +-./:=_"}}, nil},
		{"percent in value", [][2]string{{"tag1", "abc%abc"}}, errInvalidTag},
		{"hash in key", [][2]string{{"abc#ew", "abc"}}, errInvalidTag},
		{"non-ASCII letter", [][2]string{{"é", "v"}}, errInvalidTag},
		{"duplicate key", [][2]string{{"k", "1"}, {"k", "2"}}, errDuplicateTagNames},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newTagSet(tc.pairs)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTagsFromHeader(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   tagSet
		err    error
	}{
		{"", nil, nil},
		{"tag1=val1&tag2=val2", tagSet{"tag1": "val1", "tag2": "val2"}, nil},
		// Go and Python encode a space as '+', JS as %20; '+' itself is %2B.
		{"k+1=a+b&k%202=c%2Bd", tagSet{"k 1": "a b", "k 2": "c+d"}, nil},
		{"k=", tagSet{"k": ""}, nil},
		{"=v", nil, errEmptyTagName},
		{"k=1&k=2", nil, errDuplicateTagNames},
		{"k=%zz", nil, errInvalidTag},
		{"k=a%25b", nil, errInvalidTag},
	} {
		t.Run(tc.header, func(t *testing.T) {
			got, err := tagsFromHeader(tc.header)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

// renderTagExpr writes e back as filter text that parses to e again:
// keys quoted (but @container), parentheses only where precedence needs them (so the
// text is never nested deeper than what was parsed).
func renderTagExpr(e *tagExpr) string {
	if len(e.Terms) == 0 {
		key := `"` + e.Cond.Key + `"`
		if e.Cond.Key == containerPseudo {
			key = containerPseudo
		}
		return fmt.Sprintf(`%s %s '%s'`, key, e.Cond.Op, e.Cond.Value)
	}
	kw := " AND "
	if e.Or {
		kw = " OR "
	}
	parts := make([]string, len(e.Terms))
	for i, t := range e.Terms {
		parts[i] = renderTagExpr(t)
		if len(t.Terms) > 0 && !(e.Or && !t.Or) {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, kw)
}

// tagFilterSeeds are the fuzz corpus: the forms Azurite's suite and the
// SDKs send, and broken ones.
var tagFilterSeeds = []string{
	`tag1='val1'`, `tag1 <> 'val1'`, `tag1>='vam'`, `tag1< 'vam'`, `key1>'1 a'`,
	`" key 1 +-.:=_/"='1a'`, `adfec`, `@container='ab'`, `key111==value1`, `key+1='value1'`,
	`key--1='value1'`, `key1='value$$##'`, `(a='1' OR b='2') AND c>'3'`, `a='1' or b='2' and c='3'`,
	`key_1='value +-.:=_/' and @container='tags-a'`, `'key 1'='v'`, `k>'a' and k<'m'`,
	`k='` + strings.Repeat("v", 300) + `'`, `((((a='1'))))`, `a='1' and`, `"unterminated`,
	`env='prod' and team>='b'`, `@container>'tags-a' and env='prod'`, "a='\x00'", `A='1' AnD b='2'`,
}

// FuzzTagFilter checks the parser on arbitrary text in both dialects: it
// never panics; what it accepts evaluates, renders and parses back to the
// same expression; and for a where expression the SQL index query finds
// exactly the blobs the expression matches when evaluated in Go.
func FuzzTagFilter(f *testing.F) {
	for _, s := range tagFilterSeeds {
		f.Add(s)
	}
	ts := startService(f, Config{})
	blobs := seedTaggedBlobs(f, ts.svc)
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range []tagDialect{dialectIfTags, dialectWhere} {
			e, err := parseTagFilter(s, d)
			if err != nil {
				var fe *tagFilterError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a tagFilterError", err)
				}
				continue
			}
			e.eval(tagSet{"tag1": "val1"})
			again, err := parseTagFilter(renderTagExpr(e), d)
			if err != nil {
				t.Fatalf("%q rendered as %q does not parse: %v", s, renderTagExpr(e), err)
			}
			if diff := cmp.Diff(e, again); diff != "" {
				t.Fatalf("%q rendered as %q parses differently (-first +again):\n%s", s, renderTagExpr(e), diff)
			}
			if d == dialectWhere {
				compareFindWithEval(t, ts.svc, e, blobs)
			}
		}
	})
}

// taggedBlob is a blob seeded for the differential find test.
type taggedBlob struct {
	container, name string
	tags            tagSet
}

// seedTaggedBlobs stores blobs with tags straight into the database (the
// index triggers fill blob_tags), a snapshot among them, which find must
// never return.
func seedTaggedBlobs(tb testing.TB, svc *Service) []taggedBlob {
	tb.Helper()
	ctx := context.Background()
	values := []string{"", "a", "b", "b ", "m", "prod", "test", "1", "10", "2"}
	var out []taggedBlob
	for i := 0; i < 60; i++ {
		b := taggedBlob{container: []string{"tags-a", "tags-b", "tags-c"}[i%3], name: fmt.Sprintf("blob-%02d", i), tags: tagSet{}}
		if i%2 == 0 {
			b.tags["env"] = values[i%len(values)]
		}
		if i%3 != 1 {
			b.tags["team"] = values[(i/3)%len(values)]
		}
		if i%5 == 0 {
			b.tags["k"] = values[(i/5)%len(values)]
		}
		out = append(out, b)
	}
	err := svc.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range []string{"tags-a", "tags-b", "tags-c"} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO containers (account, name, etag, last_modified) VALUES (?, ?, '"0x1"', 0)`, DevelopmentAccountName, c); err != nil {
				return err
			}
		}
		for i, b := range out {
			row := &blobRow{Account: DevelopmentAccountName, Container: b.container, Name: b.name, Type: "BlockBlob", Tags: b.tags}
			if err := putBlob(ctx, tx, row); err != nil {
				return err
			}
			if i == 0 {
				row.Snapshot = "2026-01-01T00:00:00.0000000Z"
				row.Tags = tagSet{"env": "snapshot-only", "team": "a"}
				if err := putBlob(ctx, tx, row); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seeding tagged blobs: %v", err)
	}
	return out
}

// compareFindWithEval runs the Find Blobs by Tags query for e, in pages of
// 7, at service level and in one container, and compares the blobs with
// those e matches in Go (@container evaluated as a tag).
func compareFindWithEval(t *testing.T, svc *Service, e *tagExpr, blobs []taggedBlob) {
	t.Helper()
	for _, container := range []string{"", "tags-b"} {
		var want []string
		for _, b := range blobs {
			tags := tagSet{containerPseudo: b.container}
			for k, v := range b.tags {
				tags[k] = v
			}
			if (container == "" || b.container == container) && e.eval(tags) {
				want = append(want, b.container+"/"+b.name)
			}
		}
		sort.Strings(want)
		got := findAll(t, svc, container, e.conds(nil), 7)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("find %q in %q (-eval +sql):\n%s", renderTagExpr(e), container, diff)
		}
	}
}

// findAll pages through buildFindQuery's query.
func findAll(t *testing.T, svc *Service, container string, conds []tagCond, page int) []string {
	t.Helper()
	var got []string
	var after findMarker
	for round := 0; round < 100; round++ {
		q, err := buildFindQuery(DevelopmentAccountName, container, conds, after, page)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := svc.reader.Query(q.text, q.args...)
		if err != nil {
			t.Fatalf("query %s: %v", q.text, err)
		}
		n := 0
		for rows.Next() {
			dest := make([]any, 2+len(q.keys))
			var c, name string
			dest[0], dest[1] = &c, &name
			for i := range q.keys {
				dest[2+i] = new(string)
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			got = append(got, c+"/"+name)
			after = findMarker{c, name}
			n++
		}
		rows.Close()
		if n < page {
			return got
		}
	}
	t.Fatal("find did not finish in 100 pages")
	return nil
}
