// Package service is what the example services share: their flags, their
// verifier, their HTTP server and their JSON answers. What each shows of
// package verify, how its routes use the verifier, is in its own main.go.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authd/authd/verify"
)

// Routes adds a service's routes to mux; v verifies the tokens meant for
// the service.
type Routes func(mux *http.ServeMux, v *verify.Verifier)

// Main runs the service name: it reads --addr (default addr) and
// --issuer, makes the verifier of the tokens whose aud names the service,
// lets routes fill its mux, prints "NAME listening on ADDR" once it
// listens (examples/sso_test.go waits for that line) and serves until
// SIGINT or SIGTERM. On an error it prints it and exits with status 1.
func Main(name, addr string, routes Routes) {
	if err := run(name, addr, routes); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func run(name, addr string, routes Routes) error {
	flag.StringVar(&addr, "addr", addr, "listen `address`")
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "authd's --issuer `URL`")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The verifier logs the revocation feed's outages through slog's
	// default logger: JSON on stderr, as a service's logs usually are.
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))

	// New reads authd's discovery document, keys and whole revocation
	// list, and fails if it cannot: the timeout bounds that only, the
	// verifier then follows authd in the background until Close.
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	v, err := verify.New(startCtx, *issuer, verify.WithAudience(name))
	cancel()
	if err != nil {
		return err
	}
	defer v.Close()
	mux := http.NewServeMux()
	routes(mux, v)
	return Serve(ctx, name, addr, mux)
}

// Serve answers with h on addr until ctx ends, then lets the requests in
// flight finish (for 10 s at most). It prints "NAME listening on ADDR"
// once it listens, the line the tests wait for.
func Serve(ctx context.Context, name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(shutdown)
	}()
	fmt.Printf("%s listening on %s\n", name, ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-stopped
}

// JSON answers 200 with v as JSON.
func JSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
