package main

import (
	"context"
	"errors"
	"io"
)

// runBench is `authd bench` (issue #7); see package bench.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return errors.New("bench: not available in this build yet")
}
