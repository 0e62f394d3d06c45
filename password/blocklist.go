package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// blocklistText is the list of common passwords, one per line, NFC and
// lower case, most common first. See blocklist_SOURCE.md.
//
//go:embed blocklist.txt
var blocklistText string

// blocklistSet is built on first use, so start-up stays cheap.
//
// NOTE: it holds only the entries Check can reach: those of MinLength to
// MaxLength code points (within MaxBytes). A shorter entry is refused by the
// length rule before the blocklist is consulted, so leaving it out of the
// set changes no answer and saves most of the memory. The embedded file
// keeps the 100,000 most common upstream entries whole (plus the long ones
// of the rest), so its size and content can be checked against upstream
// and the floor of SECURITY P3 (100,000) tested.
var blocklistSet = sync.OnceValue(loadBlocklist)

// loadBlocklist builds the set from the embedded file.
func loadBlocklist() map[string]struct{} {
	set := make(map[string]struct{})
	for line := range strings.Lines(blocklistText) {
		line = strings.TrimRight(line, "\r\n")
		// The file is NFC already (TestBlocklist): most lines are too
		// short to keep, and are skipped before normalising.
		if utf8.RuneCountInString(line) < MinLength {
			continue
		}
		k := blocklistKey(Normalize(line))
		if n := utf8.RuneCountInString(k); n >= MinLength && n <= MaxLength && len(k) <= MaxBytes {
			set[k] = struct{}{}
		}
	}
	return set
}

// blocklistEntries returns every entry of the embedded file.
func blocklistEntries() []string {
	return strings.FieldsFunc(blocklistText, func(r rune) bool { return r == '\n' || r == '\r' })
}

// blocklisted reports whether the NFC-normalised password nfc is on the list.
func blocklisted(nfc string) bool {
	_, ok := blocklistSet()[blocklistKey(nfc)]
	return ok
}
