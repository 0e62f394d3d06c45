// Package bench is `authd bench`: it measures sessions against JWT access
// tokens on real authd processes, and soaks a 3-node deployment with a
// mixed workload to show that nothing is lost or wrongly allowed.
//
// Run starts what a mode needs — a fresh store (SQLite in a temporary
// directory; a fresh PostgreSQL schema; a fresh Redis key prefix; a Redis
// Cluster it starts itself), then three `authd serve` children of the
// running binary on free loopback ports — and drives real HTTP load at
// them from this process:
//
//   - GET /v1/me (authenticated) beside GET /healthz (not) at a fixed
//     concurrency: requests per second, p50/p99 latency and the children's
//     CPU time per request, read from /proc/PID/stat;
//   - revocation-to-refusal delay: from the revoking response (logout, or
//     POST /oauth2/revoke) to the first refusal on the same node and on
//     every other node, seen by pollers hammering every node;
//   - credential size on the wire (Cookie versus Authorization header);
//   - logins per second beside raw argon2id hashes per second in process;
//   - token issuance and refresh rotations per second;
//   - in the oidc-code-flow modes (SQLite), full OpenID Connect code flows
//     per second — GET /oauth2/authorize by a signed-in user whose consent
//     is remembered, then POST /oauth2/token with the PKCE verifier — with
//     a public client (no secret check) and a confidential one (argon2id
//     per exchange), beside Hydra's 77 issuances/s and the 1,000/s goal;
//     and ID-token verifications per second with go-oidc, on one CPU and
//     on all of them.
//
// Results go to a markdown table, a JSON file and an SVG chart in the
// output directory; the children's stderr goes to logs/ beside them.
// Soak runs the mixed workload of logins, requests, refreshes, revocations
// and password changes against three nodes and checks the end state.
//
// NOTE: the load generator and the servers share the machine's CPUs, so
// throughput figures are relative to the unauthenticated baseline measured
// in the same run, never absolute capacity.
package bench
