package testenv

import (
	"fmt"
	"os"
	"testing"
)

// InCI reports whether the tests run under CI=true, where a missing
// service fails the test instead of skipping it.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips tb with the formatted message, or fails it (Fatalf)
// under CI=true. Like Skipf and Fatalf it does not return.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		tb.Fatalf("%s\n(CI=true turns a missing service into a failure instead of a skip)", msg)
	}
	tb.Skip(msg)
}
