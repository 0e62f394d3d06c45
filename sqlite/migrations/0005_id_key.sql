-- 0005: the ID-token key (authd.IDKeyStore): an asymmetric key that signs
-- ID and logout tokens while the access-token key ring is HS256. One row at
-- most (the CHECK on a constant primary key).
CREATE TABLE id_key (
	one        INTEGER PRIMARY KEY CHECK (one = 1),
	id         TEXT    NOT NULL,   -- kid
	alg        TEXT    NOT NULL,
	private    BLOB    NOT NULL,   -- PKCS#8 DER
	public     BLOB    NOT NULL,   -- PKIX DER
	created_at INTEGER NOT NULL
) STRICT;
