package startup

import (
	"bytes"
	"os"
	"strings"
)

// A minimal txtar reader/writer for the golden fixtures. The brief named
// github.com/rogpeppe/go-internal/txtar, but v1.16 of that package only wraps
// golang.org/x/tools/txtar, which this module does not require; the format
// (https://pkg.go.dev/golang.org/x/tools/txtar) is small enough to read here.

type txtarFile struct {
	Name string
	Data []byte
}

type txtarArchive struct {
	Comment []byte
	Files   []txtarFile
}

func parseTxtarFile(path string) (*txtarArchive, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseTxtar(data), nil
}

// parseTxtar splits data at lines of the form "-- name --".
func parseTxtar(data []byte) *txtarArchive {
	a := &txtarArchive{}
	var cur *bytes.Buffer = &bytes.Buffer{}
	flush := func() {
		if len(a.Files) == 0 {
			a.Comment = bytes.Clone(cur.Bytes())
		} else {
			a.Files[len(a.Files)-1].Data = bytes.Clone(cur.Bytes())
		}
		cur.Reset()
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if name, ok := txtarMarker(line); ok {
			flush()
			a.Files = append(a.Files, txtarFile{Name: name})
			continue
		}
		cur.Write(line)
		if !bytes.HasSuffix(line, []byte("\n")) {
			cur.WriteByte('\n')
		}
	}
	flush()
	return a
}

func txtarMarker(line []byte) (string, bool) {
	s := strings.TrimRight(string(line), "\r\n")
	if !strings.HasPrefix(s, "-- ") || !strings.HasSuffix(s, " --") || len(s) < 7 {
		return "", false
	}
	name := strings.TrimSpace(s[3 : len(s)-3])
	return name, name != ""
}

func formatTxtar(a *txtarArchive) []byte {
	var b bytes.Buffer
	b.Write(fixNL(a.Comment))
	for _, f := range a.Files {
		b.WriteString("-- " + f.Name + " --\n")
		b.Write(fixNL(f.Data))
	}
	return b.Bytes()
}

func fixNL(data []byte) []byte {
	if len(data) == 0 || data[len(data)-1] == '\n' {
		return data
	}
	return append(bytes.Clone(data), '\n')
}
