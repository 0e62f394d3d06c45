//go:build ignore

// gen_blocklist turns the passwords.json of the npm package
// @zxcvbn-ts/language-common (a JSON array of strings, most common first)
// into blocklist.txt: one entry per line, NFC-normalised, lower-cased,
// deduplicated, in the upstream (frequency) order. See blocklist_SOURCE.md.
//
// Usage, from the repository root:
//
//	go run ./password/gen_blocklist.go path/to/package/src/passwords.json > password/blocklist.txt
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// minEntries is SECURITY P3's floor: at least the 10,000 most common passwords.
const minEntries = 10000

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen_blocklist:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: go run gen_blocklist.go passwords.json > blocklist.txt")
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		return err
	}
	var in []string
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%s: want a JSON array of strings: %w", os.Args[1], err)
	}
	seen := make(map[string]bool, len(in))
	w := bufio.NewWriter(os.Stdout)
	n := 0
	for _, p := range in {
		// Same key as password.Check: NFC, then lower case.
		k := strings.ToLower(norm.NFC.String(p))
		if k == "" || seen[k] {
			continue
		}
		if strings.ContainsAny(k, "\r\n") {
			return fmt.Errorf("entry %q contains a line break", p)
		}
		seen[k] = true
		w.WriteString(k)
		w.WriteByte('\n')
		n++
	}
	if n < minEntries {
		return fmt.Errorf("only %d entries; SECURITY P3 wants at least %d", n, minEntries)
	}
	fmt.Fprintf(os.Stderr, "gen_blocklist: %d entries from %d\n", n, len(in))
	return w.Flush()
}
