package armtemplate

import (
	"bytes"
	"fmt"
)

// StrictJSON rewrites the relaxed JSON that ARM's reader accepts into
// standard JSON: it drops // and /* */ comments (templates may carry
// them, https://learn.microsoft.com/azure/azure-resource-manager/templates/syntax#comments)
// and quotes bare property names. The real az sends its deployment
// requests that way: {"properties": {..., template:{<the file's text>}}}
// (azure-cli resource/custom.py splices the template in to keep its
// whitespace). Strings are copied as they are. The output is no longer
// than twice the input.
func StrictJSON(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b)+64)
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return nil, fmt.Errorf("a string starting at offset %d is not closed", i)
			}
			out = append(out, b[i:j+1]...)
			i = j + 1
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := bytes.Index(b[i+2:], []byte("*/"))
			if end < 0 {
				return nil, fmt.Errorf("a comment starting at offset %d is not closed", i)
			}
			out = append(out, ' ')
			i += end + 4
		case c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(b) && (b[j] == '_' || b[j] == '$' || b[j] >= 'a' && b[j] <= 'z' || b[j] >= 'A' && b[j] <= 'Z' || b[j] >= '0' && b[j] <= '9') {
				j++
			}
			word := b[i:j]
			k := j
			for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r' || b[k] == '\n') {
				k++
			}
			if k < len(b) && b[k] == ':' {
				out = append(out, '"')
				out = append(out, word...)
				out = append(out, '"')
			} else {
				out = append(out, word...) // true, false, null, or an error for the decoder
			}
			i = j
		default:
			out = append(out, c)
			i++
		}
	}
	return out, nil
}
