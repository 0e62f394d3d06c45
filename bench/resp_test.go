package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/authd/authd/internal/testenv"
)

// TestDeletePrefix deletes a few thousand keys under a prefix, one SCAN
// page per UNLINK and one key per UNLINK, and leaves a key outside it.
func TestDeletePrefix(t *testing.T) {
	target := os.Getenv("AUTHD_TEST_REDIS")
	if target == "" {
		testenv.SkipOrFail(t, "AUTHD_TEST_REDIS is not set: no Redis to delete keys from")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := dialRedis(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	for _, batch := range []bool{true, false} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			prefix := "authd-bench-test-" + randomHex(4) + ":"
			other := prefix[:len(prefix)-1] + "-other"
			const n = 2500
			for i := range n {
				if _, err := rc.do(ctx, "SET", fmt.Sprintf("%s%d", prefix, i), "x", "EX", "60"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := rc.do(ctx, "SET", other, "x", "EX", "60"); err != nil {
				t.Fatal(err)
			}
			defer rc.do(ctx, "DEL", other)
			if err := deletePrefix(ctx, target, prefix, batch); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{prefix + "0", fmt.Sprintf("%s%d", prefix, n-1)} {
				if r, err := rc.do(ctx, "EXISTS", k); err != nil || r != int64(0) {
					t.Errorf("EXISTS %s = %v, %v after the delete", k, r, err)
				}
			}
			if r, err := rc.do(ctx, "EXISTS", other); err != nil || r != int64(1) {
				t.Errorf("EXISTS %s = %v, %v: a key outside the prefix was deleted", other, r, err)
			}
		})
	}
	if err := deletePrefix(ctx, target, "", true); err == nil {
		t.Error("an empty prefix was accepted")
	}
}
