package blob

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Find Blobs by Tags (GET /?comp=blobs&where=..., and per container
// GET /<container>?restype=container&comp=blobs&where=...) answers from the
// blob_tags index (migration 0006): one query per page, driven by the index
// on one tag of the expression, the other tags joined by primary key, in
// (container, name) order, so a page costs its own rows and memory stays
// bounded by maxresults. Snapshots are not indexed and never returned.

// foundBlobsXML is the answer of Find Blobs by Tags.
type foundBlobsXML struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	Where           string   `xml:"Where"`
	Blobs           struct {
		Items []foundBlobXML `xml:"Blob"`
	} `xml:"Blobs"`
	NextMarker string `xml:"NextMarker"`
}

// foundBlobXML is one blob found, with the tags the expression names.
type foundBlobXML struct {
	Name          string   `xml:"Name"`
	ContainerName string   `xml:"ContainerName"`
	Tags          *tagsXML `xml:"Tags"`
}

// findMarker is where a page of Find Blobs by Tags resumes: after the blob
// (container, name). The NextMarker is base64(container "/" name); a
// container name holds no '/'.
type findMarker struct{ container, name string }

func (m findMarker) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(m.container + "/" + m.name))
}

func parseFindMarker(s string) (findMarker, error) {
	if s == "" {
		return findMarker{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return findMarker{}, errInvalidQuery
	}
	c, n, ok := strings.Cut(string(b), "/")
	if !ok {
		return findMarker{}, errInvalidQuery
	}
	return findMarker{c, n}, nil
}

// findQuery is the SQL of one page: each row is container, name, then the
// value of each of keys.
type findQuery struct {
	text string
	args []any
	keys []string
}

// sqlOps maps the where dialect's operators to SQL (the same spelling;
// the map keeps anything else out of the statement).
var sqlOps = map[string]string{"=": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}

// buildFindQuery returns the query for up to limit blobs of account
// (of container, unless it is "") that satisfy conds, after m. conds are
// those of a where expression that passed checkWhereRules.
func buildFindQuery(account, container string, conds []tagCond, m findMarker, limit int) (findQuery, error) {
	var keys []string
	byKey := map[string][]tagCond{}
	var pseudo []tagCond
	for _, c := range conds {
		if _, ok := sqlOps[c.Op]; !ok {
			return findQuery{}, fmt.Errorf("building tag query: operator %q", c.Op)
		}
		if c.Key == containerPseudo {
			pseudo = append(pseudo, c)
			continue
		}
		if byKey[c.Key] == nil {
			keys = append(keys, c.Key)
		}
		byKey[c.Key] = append(byKey[c.Key], c)
	}
	if len(keys) == 0 {
		return findQuery{}, errors.New("building tag query: no tag condition")
	}
	// Drive from a tag compared for equality if there is one (the index
	// then yields exactly the matching blobs), else from the first tag's
	// range (the index yields the blobs having that tag).
	index := "blob_tags_by_name"
	for i, k := range keys {
		if byKey[k][0].Op == "=" {
			keys[0], keys[i] = keys[i], keys[0]
			index = "blob_tags_by_value"
			break
		}
	}
	q := findQuery{keys: keys}
	// t0 drives; each other tag is a correlated lookup by primary key
	// (a join would let SQLite carry t0's range constraints over to the
	// joined table and scan it instead).
	cols := []string{"t0.container", "t0.name", "t0.value"}
	where := []string{"t0.account = ?", "t0.key = ?"}
	var selArgs []any
	whereArgs := []any{account, keys[0]}
	const same = " WHERE t.account = t0.account AND t.container = t0.container AND t.name = t0.name AND t.key = ?"
	for i, k := range keys {
		var vals []string
		for _, c := range byKey[k] {
			vals = append(vals, "value "+sqlOps[c.Op]+" ?")
		}
		if i == 0 {
			where = append(where, "t0."+strings.Join(vals, " AND t0."))
		} else {
			cols = append(cols, "(SELECT t.value FROM blob_tags AS t"+same+")")
			selArgs = append(selArgs, k)
			where = append(where, "EXISTS (SELECT 1 FROM blob_tags AS t"+same+" AND t."+strings.Join(vals, " AND t.")+")")
			whereArgs = append(whereArgs, k)
		}
		for _, c := range byKey[k] {
			whereArgs = append(whereArgs, c.Value)
		}
	}
	for _, c := range pseudo {
		where = append(where, "t0.container "+sqlOps[c.Op]+" ?")
		whereArgs = append(whereArgs, c.Value)
	}
	if container != "" {
		where = append(where, "t0.container = ?", "t0.name > ?")
		whereArgs = append(whereArgs, container, m.name)
	} else {
		where = append(where, "(t0.container, t0.name) > (?, ?)")
		whereArgs = append(whereArgs, m.container, m.name)
	}
	// Blobs of a container being deleted are gone for clients.
	where = append(where, "NOT EXISTS (SELECT 1 FROM containers AS c WHERE c.account = t0.account AND c.name = t0.container AND c.deleting = 1)")
	q.args = append(append(selArgs, whereArgs...), limit)
	q.text = "SELECT " + strings.Join(cols, ", ") + " FROM blob_tags AS t0 INDEXED BY " + index +
		" WHERE " + strings.Join(where, " AND ") + " ORDER BY t0.container, t0.name LIMIT ?"
	return q, nil
}

// whereError renders a malformed where expression as Azure does.
func whereError(err error) error {
	var fe *tagFilterError
	if errors.As(err, &fe) {
		return newError(400, "InvalidQueryParameterValue", fe.Error())
	}
	return err
}

// findBlobsInAccount is Find Blobs by Tags over every container.
func (s *Service) findBlobsInAccount(rq *req) error { return s.findBlobs(rq, "") }

// findBlobsInContainer is Find Blobs by Tags within one container.
func (s *Service) findBlobsInContainer(rq *req) error {
	if _, err := getContainer(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container); err != nil {
		return err
	}
	return s.findBlobs(rq, rq.container)
}

func (s *Service) findBlobs(rq *req, container string) error {
	where := rq.q.Get("where")
	e, err := parseTagFilter(where, dialectWhere)
	if err != nil {
		return whereError(err)
	}
	max, err := maxResults(rq.q.Get("maxresults"))
	if err != nil {
		return err
	}
	after, err := parseFindMarker(rq.q.Get("marker"))
	if err != nil {
		return err
	}
	q, err := buildFindQuery(rq.acct.Name, container, e.conds(nil), after, max+1)
	if err != nil {
		return err
	}
	out := foundBlobsXML{ServiceEndpoint: rq.endpoint, Where: where}
	if out.Blobs.Items, err = s.runFindQuery(rq, q); err != nil {
		return err
	}
	if n := len(out.Blobs.Items); n > max {
		out.Blobs.Items = out.Blobs.Items[:max]
		last := out.Blobs.Items[max-1]
		out.NextMarker = findMarker{last.ContainerName, last.Name}.String()
	}
	return rq.writeXML(http.StatusOK, out)
}

// runFindQuery returns the blobs q finds, each with the tags q names.
func (s *Service) runFindQuery(rq *req, q findQuery) ([]foundBlobXML, error) {
	values := make([]string, len(q.keys))
	dest := make([]any, 2, 2+len(q.keys))
	for i := range values {
		dest = append(dest, &values[i])
	}
	return scanRows(rq.r.Context(), s.reader, "finding blobs by tags", q.text, q.args, func(sc scanner) (f foundBlobXML, err error) {
		dest[0], dest[1] = &f.ContainerName, &f.Name
		if err = sc.Scan(dest...); err != nil {
			return f, err
		}
		tags := tagSet{}
		for i, k := range q.keys {
			tags[k] = values[i]
		}
		f.Tags = tags.xml(nil)
		return f, nil
	})
}
