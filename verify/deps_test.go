package verify_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: verify pulls in no store driver and none of authd's
// packages but the internal ones it shares with token (the JWS parser, the
// verified-token cache and the revocation set) and dpop (DPoP proof checks,
// which imports internal/jws and go-jose only); outside the standard
// library it depends on golang-jwt (signatures, claims) and go-jose (JWK
// parsing, DPoP proof signatures) only, so a service that imports it
// imports little.
func TestDependencies(t *testing.T) {
	// go test puts the toolchain's bin directory first on PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/redis/rueidis",
		"github.com/authd/authd/sqlite", "github.com/authd/authd/postgres", "github.com/authd/authd/redis",
		"github.com/authd/authd/httpapi", "github.com/authd/authd/token",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("verify depends on %s", dep)
			}
		}
		switch {
		case dep == "github.com/authd/authd":
			t.Errorf("verify depends on the root package %s", dep)
		case dep == "github.com/authd/authd/verify",
			dep == "github.com/authd/authd/internal/jws", dep == "github.com/authd/authd/internal/tokencache",
			dep == "github.com/authd/authd/internal/revset", dep == "github.com/authd/authd/dpop",
			strings.HasPrefix(dep, "github.com/golang-jwt/jwt/v5"), strings.HasPrefix(dep, "github.com/go-jose/go-jose/v4"):
		default:
			t.Errorf("unexpected dependency %s (only dpop, internal/jws, internal/tokencache, internal/revset, golang-jwt and go-jose are expected)", dep)
		}
	}
}
