// Package storetest is the conformance suite every authd store runs in its
// own tests, in the manner of Dex's storage/conformance.
//
// Each Run function takes the store interface of the root package and turns
// every sentence of that interface's doc comment (store.go) into a subtest:
//
//	func TestSQLite(t *testing.T) {
//		storetest.RunSessionStore(t, func(t *testing.T) authd.SessionStore {
//			return openFresh(t)
//		})
//	}
//
// The constructor is called once per subtest and must return a fresh, empty
// store (a new file, schema or key prefix), cleaned up through t.Cleanup.
//
// Each Run function is only the list of its subtests, one a line: the
// contract sentence as the subtest's name, and the method of a small suite
// type (refreshSuite, sessionSuite, …) that proves it; the helpers the
// subtests share are methods of the same type. The names are an interface:
// store packages, CI logs and the mutant test (storetest_test.go) name
// subtests by them, so a sentence's test is renamed only with its contract.
//
// The suite knows the interfaces only: no SQL, no driver. Its conventions,
// which every backend can keep:
//
//   - Times are real wall-clock times truncated to the microsecond (the
//     precision PostgreSQL keeps) and compared with time.Time.Equal. Every
//     expiry the suite stores lies in the real future, so stores that expire
//     data with TTLs (Redis) keep it; expiry is exercised through the now
//     arguments of the interfaces, never by sleeping.
//   - A nil slice and an empty slice are the same (roles, audiences, keys),
//     except where a contract says "an empty slice": then it must be non-nil.
//   - Errors are checked with errors.Is against the authd sentinels, and
//     cancellation with errors.Is(err, context.Canceled).
//
// Where a contract leaves a choice open, the suite tests the reading the rest
// of the documentation implies; each such subtest says so in a comment that
// starts with "Reading:".
package storetest
