package authd_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/authd/authd"
)

func TestKeyNeverPrintsPrivate(t *testing.T) {
	k := authd.Key{ID: "kid1", Alg: authd.AlgHS256, Private: []byte("TOPSECRETBYTES")}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "key", k, "ptr", &k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %s", &k, k, k), logs.String()} {
		if strings.Contains(out, "TOPSECRET") || strings.Contains(out, fmt.Sprint([]byte("TOPSECRET")[:4])) {
			t.Errorf("private key bytes printed: %s", out)
		}
		if !strings.Contains(out, "kid1") {
			t.Errorf("kid missing: %s", out)
		}
	}
}
