package yamlpos

import (
	"strings"

	"github.com/agnivade/levenshtein"
)

// Closest is the index of the candidate nearest to a misspelt name, by
// edit distance ignoring case, if it is at most maxDist away; -1 if none
// is. Of candidates equally near, the alphabetically first wins, then the
// earlier, so that the answer never depends on the order of a map.
func Closest(name string, cands []string, maxDist int) int {
	best, bestD := -1, maxDist+1
	lname := strings.ToLower(name)
	for i, c := range cands {
		d := levenshtein.ComputeDistance(lname, strings.ToLower(c))
		if d < bestD || d == bestD && best >= 0 && c < cands[best] {
			best, bestD = i, d
		}
	}
	return best
}

// MaxDist is how far a misspelling of name may be from the name meant: it
// grows with the name's length, from 1 to 3 edits.
func MaxDist(name string) int { return max(1, min(3, len(name)/3)) }

// DidYouMean is "; did you mean X?" for the candidate nearest to name
// within MaxDist(name), or "".
func DidYouMean(name string, cands []string) string {
	if i := Closest(name, cands, MaxDist(name)); i >= 0 {
		return "; did you mean " + cands[i] + "?"
	}
	return ""
}
