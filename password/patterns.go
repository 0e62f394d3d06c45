package password

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/matching"
	"github.com/trustelem/zxcvbn/scoring"
)

// The pattern rule of SECURITY P3, on top of the blocklist: a password made
// mostly of a repeated character or pattern, a run of sequential characters,
// a row of keys, or the user's own email or this service's name is refused.
// The patterns are found by zxcvbn (github.com/trustelem/zxcvbn, a Go port of
// Dropbox's zxcvbn 4.4.2); this file only decides and explains.

// serviceName is always among the words a password must not mostly be.
const serviceName = "authd"

const (
	// weakShareNum/weakShareDen is the share of a password's code points
	// that weak patterns must cover for it to be refused.
	//
	// NOTE: two thirds, so that a weak pattern with a little around it is
	// refused ("aaaaaaaaaaaaaaa1", "authdauthdauthd1", "qwertyuiop12345!")
	// while a passphrase that happens to contain a pattern ("my 12345th
	// walk by the river") is not. zxcvbn's own sequence decides what the
	// password is made of, so an ordinary word is a word, not a run of keys.
	weakShareNum, weakShareDen = 2, 3

	// minGuessesLog10: a password that zxcvbn guesses in fewer than
	// 10^minGuessesLog10 tries is refused even when no single weak pattern
	// covers most of it ("iloveyou sunshine", "football baseball").
	//
	// NOTE: the count is zxcvbn's product term, l! × Π guesses(match), over
	// the match sequence zxcvbn chose, without its additive length penalty
	// D^(l-1) (D = 10,000): that penalty alone puts any password of three
	// or more matches above 10^8, so "password password" would pass.
	// 10^6 is zxcvbn's own boundary of "too guessable" (scores 0 and 1:
	// "risky", "protection from throttled online attacks" only); a few
	// unrelated words, even common ones, are far above it.
	minGuessesLog10 = 6

	// chunkBytes bounds the input of one zxcvbn run, in bytes.
	//
	// NOTE: zxcvbn's cost grows faster than the square of the password's
	// length in bytes (dictionary look-ups of every substring, once per
	// l33t substitution table, and a search of about cubic cost): 3–5 s
	// for one run on 256 code points on this project's 2-core machines.
	// Check runs on every registration, so a password longer than
	// chunkBytes is analysed in chunks of at most chunkBytes bytes, cut
	// between code points (after a space when there is one), and the
	// analysis stops as soon as the answer is known (BenchmarkCheck).
	// Most passwords fit in one chunk; a weak pattern cut in two is still
	// two weak patterns, so the coverage rule holds; the guesses of the
	// chunks are multiplied.
	chunkBytes = 32

	// chunkL33tTables bounds the number of l33t tables zxcvbn tries in one
	// run (see cutChunk).
	//
	// NOTE: zxcvbn looks every substring up in its dictionaries once per
	// l33t table that the password's characters allow: the product, over
	// the letters, of how many of their l33t characters are present
	// (c has four: ( { [ <), up to hundreds when all 20 are
	// ("<!4+6774{@23@$09$+8(@05%%45" took 190 ms in 32 bytes). Digits
	// alone allow 4 (6 or 9 for g, 1 or 7 for l), "P@ssw0rd!2024" 2, so
	// ordinary passwords are never cut by this bound; it only stops
	// crafted mixes of symbols from costing seconds. With 32 bytes and 8
	// tables, the slowest of 600 crafted 256-code-point passwords took
	// about 30 ms on this project's 2-core machines, less than one argon2id
	// hash at DefaultParams; ordinary passwords take about 1 ms.
	chunkL33tTables = 8

	// minPatternLen is the shortest repeat, run or row of keys that tells
	// why a common password is weak (explainCommon).
	minPatternLen = 3

	// minWordLen is the shortest user word (or part of an email) matched:
	// shorter ones ("jo", "uk") would match inside ordinary words.
	minWordLen = 3

	// maxUserInputs bounds how many userInputs Check reads.
	maxUserInputs = 8
)

// Messages of the pattern rule, shown to the user as they are.
const (
	adviceTail     = " Please choose another one; a few unrelated words make a strong password that is easy to remember."
	msgRepeated    = "This password is one character or a short pattern repeated (such as aaaa or abcabc), which attackers try early." + adviceTail
	msgSequential  = "This password is a run of sequential characters (such as 12345 or abcde), which attackers try early." + adviceTail
	msgKeyboard    = "This password is a row of keys on the keyboard (such as qwerty or 1qaz2wsx), which attackers try early." + adviceTail
	msgPersonal    = "This password is mostly your email address or the name of this service, which attackers try first." + adviceTail
	msgMixed       = "This password is mostly made of patterns that attackers try early: repeated characters, runs such as 12345, rows of keys such as qwerty, your email address or the name of this service." + adviceTail
	msgGuessable   = "This password is too easy to guess: it is made of very common passwords or words that attackers try first." + adviceTail
	msgUncheckable = "This password could not be checked. Please choose another one."
)

// family is what a part of a password is, for the pattern rule.
type family int

const (
	other      family = iota // a word, a date, random characters: not weak by itself
	repeated                 // aaaa, abcabc
	sequential               // 12345, abcde, zyxw
	keyboard                 // qwerty, 1qaz2wsx, 7896
	personal                 // the user's email (or a part of it), the service's name
	numFamilies
)

var familyMessages = [numFamilies]string{
	repeated:   msgRepeated,
	sequential: msgSequential,
	keyboard:   msgKeyboard,
	personal:   msgPersonal,
}

// isFamilyMessage reports whether msg names one family of patterns.
func isFamilyMessage(msg string) bool {
	return msg != "" && slices.Contains(familyMessages[:], msg)
}

// analyse is the pattern rule; a variable so that a test can make it panic.
var analyse = weakPatterns

// patternReason returns why nfc (a password already NFC, within MaxBytes
// and of MinLength..MaxLength code points) is refused by the pattern rule,
// or "".
//
// NOTE: a panic inside zxcvbn (none is known: FuzzCheck looks for them) is
// turned into a refusal with msgUncheckable: failing closed costs the user
// one more try, failing open would accept a password nobody checked.
func patternReason(nfc string, userInputs []string) (msg string) {
	defer func() {
		if recover() != nil {
			msg = msgUncheckable
		}
	}()
	return analyse(nfc, userInputs)
}

// weakPatterns is the pattern rule of patternReason.
func weakPatterns(nfc string, userInputs []string) string {
	words, isWord := userWords(userInputs)
	total := utf8.RuneCountInString(nfc)
	var cover [numFamilies]int // code points of each family so far
	log10Guesses := 0.0
	for rest := nfc; rest != ""; {
		chunk := cutChunk(rest, chunkBytes, chunkL33tTables)
		rest = rest[len(chunk):]
		c := analyseChunk(chunk, words, isWord)
		for f, n := range c.cover {
			cover[f] += n
		}
		log10Guesses += c.log10Guesses
		// NOTE: stop as soon as the answer is known, so that a long
		// password costs few chunks (BenchmarkCheck): the weak share and
		// the guesses can only grow with more chunks (each chunk's guesses
		// are ≥ 1), so a password that cannot become mostly weak and is
		// already hard enough to guess is accepted, and one that is already
		// mostly weak is refused (its message then says what the chunks
		// seen so far are made of).
		seen := 0
		for _, n := range cover {
			seen += n
		}
		if maxWeak := total - cover[other]; maxWeak*weakShareDen < total*weakShareNum && log10Guesses >= minGuessesLog10 {
			return ""
		}
		if weakSoFar := seen - cover[other]; weakSoFar*weakShareDen >= total*weakShareNum {
			break
		}
	}
	weak, best := 0, repeated
	for f := repeated; f < numFamilies; f++ {
		weak += cover[f]
		if cover[f] > cover[best] {
			best = f
		}
	}
	switch {
	case weak*weakShareDen < total*weakShareNum:
		// Not mostly weak patterns: only the guesses rule is left.
	case cover[best]*weakShareDen >= total*weakShareNum:
		return familyMessages[best]
	default:
		return msgMixed
	}
	if log10Guesses < minGuessesLog10 {
		return msgGuessable
	}
	return ""
}

// chunkAnalysis is what one zxcvbn run found.
type chunkAnalysis struct {
	cover        [numFamilies]int // code points per family
	log10Guesses float64
}

// analyseChunk runs zxcvbn on chunk (valid UTF-8, at most chunkBytes bytes
// or a single code point) and sorts the code points of its match sequence
// into families.
func analyseChunk(chunk string, words []string, isWord map[string]bool) chunkAnalysis {
	var a chunkAnalysis
	// NOTE: we call zxcvbn's matching and scoring steps ourselves, as
	// zxcvbn.PasswordStrength does, to keep every candidate match (to tell
	// why a common password such as "qwertyuiop" is weak, and to find the
	// user's words) and to fix up match offsets first (see alignMatches).
	all := alignMatches(chunk, matching.Omnimatch(chunk, words))
	seq := scoring.MostGuessableMatchSequence(chunk, all, false).Sequence
	labels := make([]family, len(chunk)) // by byte; other by default
	if tiles(chunk, seq) {
		lgamma, _ := math.Lgamma(float64(len(seq) + 1))
		a.log10Guesses = lgamma / math.Ln10 // log10(l!)
		for _, m := range seq {
			a.log10Guesses += math.Log10(math.Max(1, scoring.EstimateGuesses(m, chunk)))
			if m.Pattern == "dictionary" && m.DictionaryName == "passwords" && !isWord[m.MatchedWord] {
				fill(labels, m.I, m.J, explainCommon(chunk, m, all))
			} else {
				fill(labels, m.I, m.J, classify(m, isWord))
			}
		}
	} else {
		// No usable answer: count the chunk as random characters, as
		// zxcvbn's brute force does (10 guesses per code point).
		a.log10Guesses = float64(utf8.RuneCountInString(chunk))
	}
	// The user's words count wherever zxcvbn found them, even where its
	// cheapest sequence split them differently ("annexample" + ".com12"
	// for "annexample.com12", when "example.com" is also the user's).
	for _, c := range all {
		if c.Pattern == "dictionary" && c.DictionaryName == "user_inputs" {
			fill(labels, c.I, c.J, personal)
		}
	}
	for i, f := range labels {
		if utf8.RuneStart(chunk[i]) {
			a.cover[f]++
		}
	}
	return a
}

// classify tells which family a match of zxcvbn's sequence belongs to.
func classify(m *match.Match, isWord map[string]bool) family {
	switch m.Pattern {
	case "repeat":
		if mostlyWord(strings.ToLower(m.BaseToken), isWord) {
			return personal // authdauthdauthd
		}
		return repeated
	case "sequence":
		return sequential
	case "spatial":
		return keyboard
	case "dictionary":
		if m.DictionaryName == "user_inputs" || isWord[m.MatchedWord] {
			return personal
		}
	}
	return other // a word, brute force, a date, a recent year
}

// explainCommon tells which family m, a match of zxcvbn's list of common
// passwords, belongs to: "qwertyuiop", "123456789", "aaaaaa" or "qwerty1"
// are matched as words because that is cheaper, but the user should hear
// that they are a row of keys, a run or a repeat. m takes the family of
// the repeat, sequence or spatial candidate (of at least minPatternLen code
// points) that covers all of it or all but one code point, the largest
// (a run before a row of keys before a repeat on ties); without one it is
// an ordinary word: "coffee" is not the repeats "ff" and "ee", nor
// "redsox" the row of keys "reds".
func explainCommon(chunk string, m *match.Match, all []*match.Match) family {
	n := utf8.RuneCountInString(chunk[m.I : m.J+1])
	best, bestOverlap := other, 0
	for _, c := range all {
		f := other
		switch c.Pattern {
		case "repeat":
			f = repeated
		case "spatial":
			f = keyboard
		case "sequence":
			f = sequential
		}
		i, j := max(c.I, m.I), min(c.J, m.J)
		if f == other || i > j {
			continue
		}
		overlap := utf8.RuneCountInString(chunk[i : j+1])
		if overlap < minPatternLen || overlap < n-1 {
			continue
		}
		if overlap > bestOverlap || overlap == bestOverlap && rank(f) > rank(best) {
			best, bestOverlap = f, overlap
		}
	}
	return best
}

// rank orders families for explainCommon's ties: the highest wins.
func rank(f family) int {
	switch f {
	case repeated:
		return 1
	case keyboard:
		return 2
	case sequential:
		return 3
	}
	return 0
}

// fill sets labels[i..j] to f.
func fill(labels []family, i, j int, f family) {
	for k := i; k <= j; k++ {
		labels[k] = f
	}
}

// mostlyWord reports whether s is one of the user's words or one of them
// makes up at least two thirds of it.
func mostlyWord(s string, isWord map[string]bool) bool {
	if isWord[s] {
		return true
	}
	n := utf8.RuneCountInString(s)
	for w := range isWord {
		if utf8.RuneCountInString(w)*weakShareDen >= n*weakShareNum && strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// alignMatches makes zxcvbn's matches index whole code points of pw, and
// drops those that cannot.
//
// NOTE: the port mixes byte and code-point offsets on non-ASCII input. A
// repeat match ends at the first byte of its last code point (so
// "ééééééééééééééé" was not seen as a repeat: zxcvbn's search needs matches
// that end on a code point) and counts its repetitions in code points over
// bytes; byte-level sequence, spatial, l33t and reversed matches may start
// or end inside a code point. The first two are corrected here, the rest
// dropped: a match inside a code point means nothing. ASCII passwords are
// not changed by this.
func alignMatches(pw string, ms []*match.Match) []*match.Match {
	out := ms[:0]
	for _, m := range ms {
		if m == nil || m.I < 0 || m.J < m.I || m.J >= len(pw) || !utf8.RuneStart(pw[m.I]) {
			continue
		}
		if end := m.J + 1; end < len(pw) && !utf8.RuneStart(pw[end]) {
			if !utf8.RuneStart(pw[m.J]) {
				continue
			}
			_, size := utf8.DecodeRuneInString(pw[m.J:])
			m.J += size - 1
		}
		m.Token = pw[m.I : m.J+1]
		if m.Pattern == "repeat" {
			if b := utf8.RuneCountInString(m.BaseToken); b > 0 {
				m.RepeatCount = utf8.RuneCountInString(m.Token) / b
			}
		}
		out = append(out, m)
	}
	return out
}

// tiles reports whether seq covers pw exactly, in order.
func tiles(pw string, seq []*match.Match) bool {
	next := 0
	for _, m := range seq {
		if m == nil || m.I != next || m.J < m.I || m.J >= len(pw) {
			return false
		}
		next = m.J + 1
	}
	return next == len(pw)
}

// l33tTable is zxcvbn's table of l33t substitutions (matching.l33tTable):
// for each letter, the characters that may stand for it.
var l33tTable = [...]struct {
	letter byte
	chars  string
}{
	{'a', "4@"}, {'b', "8"}, {'c', "({[<"}, {'e', "3"}, {'g', "69"}, {'i', "1!|"},
	{'l', "1|7"}, {'o', "0"}, {'s', "$5"}, {'t', "+7"}, {'x', "%"}, {'z', "2"},
}

// cutChunk returns the prefix of s that zxcvbn analyses next: the longest
// one of at most maxBytes bytes, ending between code points, for which
// zxcvbn tries at most maxTables l33t tables (the product, over the
// letters of l33tTable, of how many of their characters it holds); when
// that is not all of s, cut after the last space or - _ . in its second
// half if there is one, so that words stay whole. It is never empty when s
// is not.
func cutChunk(s string, maxBytes, maxTables int) string {
	var seen [128]bool
	var perLetter [len(l33tTable)]int
	i := 0
	for i < len(s) {
		c := s[i]
		_, size := utf8.DecodeRuneInString(s[i:])
		if i+size > maxBytes {
			break
		}
		if c < utf8.RuneSelf && !seen[c] {
			next := perLetter
			tables := 1
			for k, e := range l33tTable {
				if strings.IndexByte(e.chars, c) >= 0 {
					next[k]++
				}
				tables *= max(1, next[k])
			}
			if tables > maxTables {
				break
			}
			seen[c], perLetter = true, next
		}
		i += size
	}
	if i == 0 { // cannot happen with maxBytes ≥ 4 and maxTables ≥ 4
		_, i = utf8.DecodeRuneInString(s)
	}
	if i < len(s) {
		if j := strings.LastIndexAny(s[i/2:i], " -_."); j >= 0 {
			i = i/2 + j + 1
		}
	}
	return s[:i]
}

// userWords returns the words a password must not mostly be: the service's
// name and, from each user input (an email address, a name), the whole of
// it, its local part and domain, the local part's letters and digits run
// together ("ann.example" → "annexample"), and each run of letters or
// digits; NFC, lower case, at least minWordLen code points. isWord is the
// same as a set.
func userWords(userInputs []string) (words []string, isWord map[string]bool) {
	isWord = map[string]bool{}
	add := func(w string) {
		if utf8.RuneCountInString(w) >= minWordLen && !isWord[w] {
			isWord[w] = true
			words = append(words, w)
		}
	}
	add(serviceName)
	for i, in := range userInputs {
		if i == maxUserInputs {
			break
		}
		if len(in) > MaxBytes || !utf8.ValidString(in) {
			continue
		}
		s := strings.ToLower(Normalize(strings.TrimSpace(in)))
		add(s)
		local := s
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			local = s[:at]
			add(local)
			add(s[at+1:])
		}
		notAlnum := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
		add(strings.Join(strings.FieldsFunc(local, notAlnum), ""))
		for _, part := range strings.FieldsFunc(s, notAlnum) {
			add(part)
		}
	}
	return words, isWord
}
