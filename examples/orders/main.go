// Command orders is an example service that trusts authd's access tokens
// through the verify package: GET /orders answers the caller's identity
// (standing in for their orders) to any token whose aud names "orders".
//
//	orders --addr 127.0.0.1:8081 --issuer http://127.0.0.1:8080
//
// It never calls authd on a request: verify keeps authd's keys and
// revocation list in memory, and refuses every token (503) when that list
// has not been confirmed for 5 s (fail closed). See examples/README.md.
package main

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

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8081", "listen `address`")
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "authd's --issuer `URL`")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	v, err := verify.New(startCtx, *issuer, verify.WithAudience("orders"), verify.WithLogger(log))
	cancel()
	if err != nil {
		return err
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(listOrders)))

	// Readiness for a load balancer: 503 while the verifier cannot check
	// tokens (the revocation list is stale), so requests go elsewhere.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := v.Ready(); err != nil {
			http.Error(w, "revocation list stale", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("orders listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listOrders answers who is asking: the claims the middleware verified.
func listOrders(w http.ResponseWriter, r *http.Request) {
	c, _ := verify.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"service": "orders",
		"subject": c.Subject,
		"email":   c.Email,
		"orders":  []string{},
	})
}
