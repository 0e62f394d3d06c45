package redistest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/testenv"
	"github.com/authd/authd/redis/redisproc"
	"github.com/authd/authd/redis/redistest"
	"github.com/redis/rueidis"
)

func TestStartServerKillRestart(t *testing.T) {
	srv := redistest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	ctx := t.Context()
	if _, err := redisproc.Command(ctx, srv.Addr, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := redisproc.Command(ctx, srv.Addr, "PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if v, err := redisproc.Command(ctx, srv.Addr, "GET", "k"); err != nil || v != "v" {
		t.Fatalf("GET after Restart with AOF: %q, %v", v, err)
	}
	if !strings.Contains(srv.LogTail(50), "Ready to accept connections") {
		t.Errorf("log tail does not show the start:\n%s", srv.LogTail(50))
	}
}

func TestStartServerReportsBadArguments(t *testing.T) {
	if _, err := redisproc.ServerBinary(); err != nil {
		testenv.SkipOrFail(t, "%v", err)
	}
	_, err := redisproc.NewServer(t.TempDir(), "--no-such-option", "1")
	if err == nil {
		t.Fatal("NewServer with a bad option succeeded")
	}
	if !strings.Contains(err.Error(), "no-such-option") {
		t.Errorf("error does not show why the server failed: %v", err)
	}
}

func TestStartCluster(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	if len(addrs) != 3 {
		t.Fatalf("got %d addresses", len(addrs))
	}
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if client.Mode() != rueidis.ClientModeCluster {
		t.Fatalf("client mode %s, want cluster", client.Mode())
	}
	// Keys spread over every master; each is readable back.
	for i := range 30 {
		k := "k" + string(rune('a'+i))
		if err := client.Do(ctx, client.B().Set().Key(k).Value(k).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range addrs {
		n, err := redisproc.Command(ctx, a, "DBSIZE")
		if err != nil || n == "0" {
			t.Errorf("node %s holds %s keys (%v): slots not spread", a, n, err)
		}
	}
	prefix := redistest.Prefix()
	for i := range 20 {
		k := prefix + string(rune('a'+i))
		client.Do(ctx, client.B().Set().Key(k).Value("x").Build())
	}
	if err := redistest.DeletePrefix(ctx, client, prefix); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if n, _ := client.Do(ctx, client.B().Exists().Key(prefix+string(rune('a'+i))).Build()).AsInt64(); n != 0 {
			t.Fatalf("key %d under the prefix survived DeletePrefix", i)
		}
	}
	if v, _ := client.Do(ctx, client.B().Get().Key("ka").Build()).ToString(); v != "ka" {
		t.Fatalf("DeletePrefix deleted a key outside the prefix")
	}
}

func TestDeletePrefixRefusesGlobs(t *testing.T) {
	for _, p := range []string{"", "*", "a?", "a[b]"} {
		if err := redistest.DeletePrefix(t.Context(), nil, p); err == nil {
			t.Errorf("DeletePrefix(%q) accepted", p)
		}
	}
}
