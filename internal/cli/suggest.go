package cli

import "strings"

// closest returns the candidate nearest to word by edit distance (leading
// dashes aside), if it is close enough to be a likely misspelling: at most a
// third of the word's length, and at least 1, edits away. "" otherwise. Ties
// go to the first candidate.
func closest(word string, candidates []string) string {
	best, bestD := "", -1
	w := strings.ToLower(strings.TrimLeft(word, "-"))
	limit := max(1, len([]rune(w))/3)
	for _, c := range candidates {
		d := editDistance(w, strings.ToLower(strings.TrimLeft(c, "-")))
		if d > limit {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// suggestFlag returns the long flag of defs closest to the first unknown
// argument that looks like a long flag ("--setings" or "--setings=x").
func suggestFlag(defs []flagDef, unknown []string) string {
	for _, u := range unknown {
		if !strings.HasPrefix(u, "--") {
			continue
		}
		name, _, _ := strings.Cut(u, "=")
		var longs []string
		for _, d := range defs {
			if d.Unsupported != "" {
				continue // suggesting a flag only to refuse it helps no one
			}
			for _, n := range d.Names {
				if strings.HasPrefix(n, "--") {
					longs = append(longs, n)
				}
			}
		}
		return closest(name, longs)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
