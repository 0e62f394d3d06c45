package upstream_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the example provider, which logs every request to
// slog's default logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
