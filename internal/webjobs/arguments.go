package webjobs

import "strings"

// MaxArguments bounds the arguments a run is given.
const MaxArguments = 256

// SplitArguments splits a run's arguments (`POST …/run?arguments=…`, az's
// and the portal's) as Kudu's process start does: Kudu hands the string
// to .NET's ProcessStartInfo.Arguments, which splits it on spaces and
// tabs, keeps what is between double quotes together (two double quotes
// inside quotes are one literal quote), and reads backslashes before a
// double quote in pairs (an odd one makes the quote literal); other
// backslashes are literal. Past MaxArguments the rest is one last argument.
func SplitArguments(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		if len(out) == MaxArguments-1 {
			out = append(out, s[i:])
			break
		}
		var arg strings.Builder
		inQuotes := false
		for i < len(s) {
			if s[i] == '\\' {
				n := 0
				for i < len(s) && s[i] == '\\' {
					i++
					n++
				}
				if i >= len(s) || s[i] != '"' {
					arg.WriteString(strings.Repeat(`\`, n))
					continue
				}
				arg.WriteString(strings.Repeat(`\`, n/2))
				if n%2 != 0 {
					arg.WriteByte('"')
					i++
				}
				continue
			}
			c := s[i]
			if c == '"' {
				if inQuotes && i+1 < len(s) && s[i+1] == '"' {
					arg.WriteByte('"')
					i++
				} else {
					inQuotes = !inQuotes
				}
				i++
				continue
			}
			if (c == ' ' || c == '\t') && !inQuotes {
				break
			}
			arg.WriteByte(c)
			i++
		}
		out = append(out, arg.String())
	}
	return out
}
