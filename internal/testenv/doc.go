// Package testenv holds the one rule for tests that need a service from
// the machine (PostgreSQL, Redis, nginx, Chromium, systemd-analyze, ...):
// when the service is missing, the test skips with a message saying what
// is missing and how to provide it, except under CI=true, where the same
// message fails the test. On a developer's machine a missing service is a
// reason to skip; in CI it means CI is broken, and skipping would hide it.
//
//	if _, err := exec.LookPath("nginx"); err != nil {
//		testenv.SkipOrFail(t, "nginx not found: run deploy/nginx/install.sh")
//	}
//
// scripts/test provides the services before the tests run; .ci/run sets
// CI=true.
package testenv
