package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOversizedBodyGets413NotReset: a client that sends a 1 MiB body
// (16 times the limit) in full at a modest pace, then reads, gets the
// 413 — the server reads and discards a bounded amount of the refused body
// before it closes (as nginx's lingering close does) instead of resetting
// the connection under the client's writes. Every route that reads a
// body, with a Content-Length and chunked.
func TestOversizedBodyGets413NotReset(t *testing.T) {
	h := newHarness(t)
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	body := strings.Repeat("a", 1<<20)
	const piece = 64 << 10
	routes := []struct{ path, ctype string }{
		{"/v1/login", "application/json"},
		{"/v1/register", "application/x-www-form-urlencoded"},
		{"/oauth2/token", "application/x-www-form-urlencoded"},
		{"/login", "application/x-www-form-urlencoded"},
	}
	for _, rt := range routes {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s chunked=%v", rt.path, chunked), func(t *testing.T) {
				t.Parallel()
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				w := bufio.NewWriterSize(c, 64<<10)
				fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: authd.test\r\nContent-Type: %s\r\nSec-Fetch-Site: same-origin\r\n", rt.path, rt.ctype)
				if chunked {
					fmt.Fprintf(w, "Transfer-Encoding: chunked\r\n\r\n")
				} else {
					fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(body))
				}
				// The body goes in 64 KiB pieces, 50 ms apart: a client on
				// a real network is slower than the server's answer.
				for off := 0; off < len(body); off += piece {
					if chunked {
						fmt.Fprintf(w, "%x\r\n%s\r\n", piece, body[off:off+piece])
					} else {
						w.WriteString(body[off : off+piece])
					}
					if err := w.Flush(); err != nil {
						c.Close()
						t.Fatalf("sending the body at %d bytes: %v (the server closed under the client's writes)", off, err)
					}
					time.Sleep(50 * time.Millisecond)
				}
				if chunked {
					fmt.Fprintf(w, "0\r\n\r\n")
				}
				if err := w.Flush(); err != nil {
					c.Close()
					t.Fatalf("ending the body: %v", err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				c.Close()
				if err != nil {
					t.Fatalf("reading the response: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Fatalf("status %d, want 413", resp.StatusCode)
				}
			})
		}
	}
}
