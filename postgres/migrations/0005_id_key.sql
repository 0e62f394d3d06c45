-- 0005: the ID-token key (authd.IDKeyStore): an asymmetric key that signs
-- ID and logout tokens while the access-token key ring is HS256. One row at
-- most (the CHECK on a constant primary key).
CREATE TABLE IF NOT EXISTS id_key (
	one        integer     PRIMARY KEY CHECK (one = 1),
	id         text        NOT NULL,   -- kid
	alg        text        NOT NULL,
	private    bytea       NOT NULL,   -- PKCS#8 DER
	public     bytea       NOT NULL,   -- PKIX DER
	created_at timestamptz NOT NULL
);
