package blob

import (
	"bytes"
	"encoding/xml"
)

// marshalXML encodes v as encoding/xml does, then writes quotes,
// apostrophes and line feeds in element text literally, as Azure does
// (<Etag>"0x8D..."</Etag>, not <Etag>&#34;0x8D...&#34;</Etag>). Both forms
// are valid XML, but some clients' parsers (the JS SDK's among them) do not
// decode numeric character references, so an escaped quote would reach the
// caller as "&#34;". Attribute values are left as encoded.
func marshalXML(v any) ([]byte, error) {
	body, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return unescapeText(body), nil
}

// textRefs are the character references encoding/xml emits that may stand
// literally in element text.
var textRefs = []struct {
	ref []byte
	lit byte
}{
	{[]byte("&#34;"), '"'},
	{[]byte("&#39;"), '\''},
	{[]byte("&#xA;"), '\n'},
}

// unescapeText replaces textRefs outside tags (encoding/xml escapes every
// '<' and '>' in text and attribute values, so a '<' always opens a tag).
func unescapeText(b []byte) []byte {
	if bytes.IndexByte(b, '&') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	inTag := false
next:
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '<':
			inTag = true
		case c == '>':
			inTag = false
		case c == '&' && !inTag:
			for _, r := range textRefs {
				if bytes.HasPrefix(b[i:], r.ref) {
					out = append(out, r.lit)
					i += len(r.ref) - 1
					continue next
				}
			}
		}
		out = append(out, c)
	}
	return out
}
