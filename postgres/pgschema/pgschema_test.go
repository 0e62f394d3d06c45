package pgschema_test

import (
	"strings"
	"testing"

	"github.com/authd/authd/postgres/pgschema"
	"github.com/authd/authd/postgres/pgtest"
)

func TestCreateDrop(t *testing.T) {
	dsn := pgtest.DSN(t)
	name, err := pgschema.Create(t.Context(), dsn, "authd_pgschema_")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "authd_pgschema_") || len(name) != len("authd_pgschema_")+16 {
		t.Fatalf("schema name %q", name)
	}
	if err := pgschema.Exec(t.Context(), dsn, `CREATE TABLE "`+name+`".t (x int)`); err != nil {
		t.Fatalf("the schema was not created: %v", err)
	}
	for i := range 2 { // a second Drop finds nothing and is no error
		if err := pgschema.Drop(t.Context(), dsn, name); err != nil {
			t.Fatalf("Drop %d: %v", i+1, err)
		}
	}
	if err := pgschema.Exec(t.Context(), dsn, `CREATE TABLE "`+name+`".t (x int)`); err == nil {
		t.Fatal("the schema is still there after Drop")
	}
}
