package main

import (
	"context"
	"errors"
	"io"
)

// runKeys and runClient are completed with the token work (issue #3).
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return errors.New("keys: not available in this build yet")
}

func runClient(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	return errors.New("client: not available in this build yet")
}
