package storetest_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/storetest"
)

// The suite passes against the reference store.
func TestMemory(t *testing.T) {
	t.Run("UserStore", func(t *testing.T) {
		storetest.RunUserStore(t, func(*testing.T) authd.UserStore { return newMemory() })
	})
	t.Run("SessionStore", func(t *testing.T) {
		storetest.RunSessionStore(t, func(*testing.T) authd.SessionStore { return newMemory() })
	})
	t.Run("RefreshStore", func(t *testing.T) {
		storetest.RunRefreshStore(t, func(*testing.T) authd.RefreshStore { return newMemory() })
	})
	t.Run("KeyStore", func(t *testing.T) {
		storetest.RunKeyStore(t, func(*testing.T) authd.KeyStore { return newMemory() })
	})
	t.Run("IDKeyStore", func(t *testing.T) {
		storetest.RunIDKeyStore(t, func(*testing.T) authd.IDKeyStore { return newMemory() })
	})
	t.Run("RevocationList", func(t *testing.T) {
		storetest.RunRevocationList(t, func(*testing.T) authd.RevocationList { return newMemory() })
	})
	t.Run("Limiter", func(t *testing.T) {
		storetest.RunLimiter(t, func(*testing.T) authd.Limiter { return newMemory() })
	})
	t.Run("ClientStore", func(t *testing.T) {
		storetest.RunClientStore(t, func(*testing.T) authd.ClientStore { return newMemory() })
	})
	t.Run("AuditLog", func(t *testing.T) {
		storetest.RunAuditLog(t, func(*testing.T) (authd.AuditLog, storetest.AuditTable) {
			m := newMemory()
			return m, m.AuditEvents
		})
	})
	t.Run("CodeStore", func(t *testing.T) {
		storetest.RunCodeStore(t, func(*testing.T) authd.CodeStore { return newMemory() })
	})
	t.Run("ConsentStore", func(t *testing.T) {
		storetest.RunConsentStore(t, func(*testing.T) authd.ConsentStore { return newMemory() })
	})
	t.Run("SessionClientStore", func(t *testing.T) {
		storetest.RunSessionClientStore(t, func(*testing.T) authd.SessionClientStore { return newMemory() })
	})
	t.Run("Outbox", func(t *testing.T) {
		storetest.RunOutbox(t, func(*testing.T) authd.Outbox { return newMemory() })
	})
	t.Run("FactorStore", func(t *testing.T) {
		storetest.RunFactorStore(t, func(*testing.T) authd.FactorStore { return newMemory() })
	})
	t.Run("ChallengeStore", func(t *testing.T) {
		storetest.RunChallengeStore(t, func(*testing.T) authd.ChallengeStore { return newMemory() })
	})
	t.Run("LinkStore", func(t *testing.T) {
		storetest.RunLinkStore(t, func(*testing.T) storetest.LinkBackend { return newMemory() })
	})
	t.Run("UserDirectory", func(t *testing.T) {
		storetest.RunUserDirectory(t, func(*testing.T) storetest.DirectoryBackend { return newMemory() })
	})
	t.Run("AuditReader", func(t *testing.T) {
		storetest.RunAuditReader(t, func(*testing.T) storetest.AuditBackend { return newMemory() })
	})
	t.Run("UpstreamStore", func(t *testing.T) {
		storetest.RunUpstreamStore(t, func(*testing.T) storetest.UpstreamBackend { return newMemory() })
	})
	t.Run("IdentityStore", func(t *testing.T) {
		storetest.RunIdentityStore(t, func(*testing.T) storetest.IdentityBackend { return newMemory() })
	})
	t.Run("ReplaySet", func(t *testing.T) {
		storetest.RunReplaySet(t, func(*testing.T) authd.ReplaySet { return newMemory() }, storetest.PrunesReplays)
	})
	t.Run("ReplaySet expiring by itself", func(t *testing.T) {
		storetest.RunReplaySet(t, func(*testing.T) authd.ReplaySet { return noPrune{newMemory()} }, storetest.ReplaysExpireByThemselves)
	})
}

// mutant is a store broken in one way, and the subtest that must catch it.
type mutant struct {
	name string
	run  func(t *testing.T)
	// fails is the name of the subtest that must fail, as go test prints
	// it (spaces become underscores).
	fails string
}

const mutantEnv = "STORETEST_MUTANT"

// TestSuiteCatchesBrokenStores runs the suite against each mutant in a child
// process and checks that the expected subtest fails: the suite's tests can
// fail, and fail where they should.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("spawns a child process per mutant")
	}
	for _, m := range mutants() {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m.name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed against mutant %q:\n%s", m.name, tail(out))
			}
			want := "--- FAIL: TestMutant/" + strings.ReplaceAll(m.fails, " ", "_")
			if !strings.Contains(string(out), want) {
				t.Fatalf("mutant %q: want a failure of %q, got:\n%s", m.name, want, tail(out))
			}
		})
	}
}

// TestMutant is run in a child process by TestSuiteCatchesBrokenStores.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	for _, m := range mutants() {
		if m.name == name {
			m.run(t)
			return
		}
	}
	t.Fatalf("unknown mutant %q", name)
}

func tail(out []byte) string {
	lines := strings.Split(string(out), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

func users(wrap func(*memory) authd.UserStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunUserStore(t, func(*testing.T) authd.UserStore { return wrap(newMemory()) })
	}
}

func sessions(wrap func(*memory) authd.SessionStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunSessionStore(t, func(*testing.T) authd.SessionStore { return wrap(newMemory()) })
	}
}

func refresh(wrap func(*memory) authd.RefreshStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunRefreshStore(t, func(*testing.T) authd.RefreshStore { return wrap(newMemory()) })
	}
}

func keys(wrap func(*memory) authd.KeyStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunKeyStore(t, func(*testing.T) authd.KeyStore { return wrap(newMemory()) })
	}
}

func revocations(wrap func(*memory) authd.RevocationList) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunRevocationList(t, func(*testing.T) authd.RevocationList { return wrap(newMemory()) })
	}
}

func limiter(wrap func(*memory) authd.Limiter) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunLimiter(t, func(*testing.T) authd.Limiter { return wrap(newMemory()) })
	}
}

func clients(wrap func(*memory) authd.ClientStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunClientStore(t, func(*testing.T) authd.ClientStore { return wrap(newMemory()) })
	}
}

func codes(wrap func(*memory) authd.CodeStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunCodeStore(t, func(*testing.T) authd.CodeStore { return wrap(newMemory()) })
	}
}

func consents(wrap func(*memory) authd.ConsentStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunConsentStore(t, func(*testing.T) authd.ConsentStore { return wrap(newMemory()) })
	}
}

func sessionClients(wrap func(*memory) authd.SessionClientStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunSessionClientStore(t, func(*testing.T) authd.SessionClientStore { return wrap(newMemory()) })
	}
}

func outbox(wrap func(*memory) authd.Outbox) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunOutbox(t, func(*testing.T) authd.Outbox { return wrap(newMemory()) })
	}
}

func factors(wrap func(*memory) authd.FactorStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunFactorStore(t, func(*testing.T) authd.FactorStore { return wrap(newMemory()) })
	}
}

func challenges(wrap func(*memory) authd.ChallengeStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunChallengeStore(t, func(*testing.T) authd.ChallengeStore { return wrap(newMemory()) })
	}
}

func replays(wrap func(*memory) authd.ReplaySet) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunReplaySet(t, func(*testing.T) authd.ReplaySet { return wrap(newMemory()) }, storetest.PrunesReplays)
	}
}

func linkStore(wrap func(*memory) storetest.LinkBackend) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunLinkStore(t, func(*testing.T) storetest.LinkBackend { return wrap(newMemory()) })
	}
}

func directory(wrap func(*memory) storetest.DirectoryBackend) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunUserDirectory(t, func(*testing.T) storetest.DirectoryBackend { return wrap(newMemory()) })
	}
}

func auditReader(wrap func(*memory) storetest.AuditBackend) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunAuditReader(t, func(*testing.T) storetest.AuditBackend { return wrap(newMemory()) })
	}
}

func upstreams(wrap func(*memory) storetest.UpstreamBackend) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunUpstreamStore(t, func(*testing.T) storetest.UpstreamBackend { return wrap(newMemory()) })
	}
}

func identities(wrap func(*memory) storetest.IdentityBackend) func(*testing.T) {
	return func(t *testing.T) {
		storetest.RunIdentityStore(t, func(*testing.T) storetest.IdentityBackend { return wrap(newMemory()) })
	}
}

func mutants() []mutant {
	return []mutant{
		{"upstream sorts scopes", upstreams(func(m *memory) storetest.UpstreamBackend { return sortScopes{m} }),
			"CreateUpstream keeps every field exactly as given, lists in their order"},
		{"upstream drops the secret", upstreams(func(m *memory) storetest.UpstreamBackend { return dropSecret{m} }),
			"CreateUpstream then UpstreamByID returns every field"},
		{"upstream create overwrites", upstreams(func(m *memory) storetest.UpstreamBackend { return overwriteUpstream{m} }),
			"CreateUpstream ErrConflict when u.ID exists"},
		{"upstream list in collation order", upstreams(func(m *memory) storetest.UpstreamBackend { return collatedUpstreams{m} }),
			"ListUpstreams returns every provider ordered by id in byte order"},
		{"upstream list nil", upstreams(func(m *memory) storetest.UpstreamBackend { return listUpstreamsNil{m} }),
			"ListUpstreams returns a non-nil empty slice when none"},
		{"delete upstream keeps identities", upstreams(func(m *memory) storetest.UpstreamBackend { return keepIdentities{m} }),
			"DeleteUpstream deletes the provider and every identity linked at it"},
		{"delete upstream in two steps", upstreams(func(m *memory) storetest.UpstreamBackend { return upstreamThenIdentities{m} }),
			"DeleteUpstream deletes the identities in the same transaction"},
		{"delete upstream of an unknown id deletes identities", upstreams(func(m *memory) storetest.UpstreamBackend { return deleteOrphanIdentities{m} }),
			"DeleteUpstream ErrNotFound when there is none, and deletes nothing"},
		{"identity link overwrites the subject", identities(func(m *memory) storetest.IdentityBackend { return overwriteSubject{m} }),
			"LinkIdentity ErrConflict when (UpstreamID, Subject) is linked already, and nothing written"},
		{"identity link two per user and upstream", identities(func(m *memory) storetest.IdentityBackend { return twoPerUpstream{m} }),
			"LinkIdentity ErrConflict when UserID has an identity at UpstreamID, and nothing written"},
		{"identity link not atomic (subject)", identities(func(m *memory) storetest.IdentityBackend { return racyLinkIdentity{m} }),
			"LinkIdentity of one (UpstreamID, Subject) by n concurrent calls: exactly one succeeds"},
		{"identity link not atomic (user)", identities(func(m *memory) storetest.IdentityBackend { return racyLinkIdentity{m} }),
			"LinkIdentity of one user at one upstream by n concurrent calls: exactly one succeeds"},
		{"identity create user not atomic", identities(func(m *memory) storetest.IdentityBackend { return userThenIdentity{m} }),
			"CreateUserWithIdentity ErrConflict when LinkIdentity would be, and nothing written"},
		{"identity subject case-insensitive", identities(func(m *memory) storetest.IdentityBackend { return foldSubject{m} }),
			"IdentityBySubject ErrNotFound when there is none"},
		{"identity list unordered", identities(func(m *memory) storetest.IdentityBackend { return reverseIdentities{m} }),
			"ListIdentities returns the user's identities ordered by upstream id"},
		{"identity list nil", identities(func(m *memory) storetest.IdentityBackend { return listIdentitiesNil{m} }),
			"ListIdentities returns a non-nil empty slice when none"},
		{"identity unlink of every user", identities(func(m *memory) storetest.IdentityBackend { return unlinkEveryone{m} }),
			"UnlinkIdentity deletes the user's identity at upstreamID and no other"},
		{"identity unlink silent", identities(func(m *memory) storetest.IdentityBackend { return silentUnlink{m} }),
			"UnlinkIdentity ErrNotFound when there is none"},
		{"delete user keeps identities", directory(func(m *memory) storetest.DirectoryBackend { return keepUserIdentities{m} }),
			"DeleteUser deletes the user and every record of theirs"},
		{"user drops EmailVerified", users(func(m *memory) authd.UserStore { return dropVerified{m} }),
			"CreateUser then UserByID returns every field"},
		{"link issue keeps older links", linkStore(func(m *memory) storetest.LinkBackend { return keepOldLinks{m} }),
			"IssueLink deletes every link of l.UserID with l.Purpose"},
		{"link issue deletes before the hash conflict", linkStore(func(m *memory) storetest.LinkBackend { return replaceOwnHash{m} }),
			"IssueLink ErrConflict when l.Hash exists, and nothing written"},
		{"link issue enqueues before the mail conflict", linkStore(func(m *memory) storetest.LinkBackend { return partialIssue{m} }),
			"IssueLink ErrConflict when a mail's ID exists, and nothing written"},
		{"link create user not atomic", linkStore(func(m *memory) storetest.LinkBackend { return userThenLink{m} }),
			"CreateUserWithLink ErrConflict as IssueLink, and no user created"},
		{"link take keeps it", linkStore(func(m *memory) storetest.LinkBackend { return peekLink{m} }),
			"TakeLink deletes the link: it is used once"},
		{"link take ignores purpose", linkStore(func(m *memory) storetest.LinkBackend { return anyPurpose{m} }),
			"TakeLink ErrNotFound and nothing changed when the Purpose is not one of purposes"},
		{"link take at expiry", linkStore(func(m *memory) storetest.LinkBackend { return takeAtExpiry{m} }),
			"TakeLink ErrNotFound and nothing changed when ExpiresAt is not after now"},
		{"link take not atomic", linkStore(func(m *memory) storetest.LinkBackend { return racyTakeLink{m} }),
			"TakeLink gives the link to at most one of n concurrent calls"},
		{"set email keeps verified", directory(func(m *memory) storetest.DirectoryBackend { return keepVerified{m} }),
			"SetEmail sets Email, EmailVerified and UpdatedAt only"},
		{"set email takes another's address", directory(func(m *memory) storetest.DirectoryBackend { return stealEmail{m} }),
			"SetEmail ErrConflict when another user has email"},
		{"list users positional cursor", directory(func(m *memory) storetest.DirectoryBackend { return &offsetUsers{memory: m} }),
			"ListUsers returns each user that exists for a whole paging exactly once, whatever is inserted or deleted"},
		{"list users LIKE wildcards", directory(func(m *memory) storetest.DirectoryBackend { return wildUsers{m} }),
			"ListUsers matches the LIKE wildcards %, _ and backslash in Query as themselves"},
		{"list users case-sensitive", directory(func(m *memory) storetest.DirectoryBackend { return caseUsers{m} }),
			"ListUsers keeps the users whose email contains Query, case-insensitively"},
		{"list users lax cursor", directory(func(m *memory) storetest.DirectoryBackend { return laxUserCursor{m} }),
			"ListUsers refuses a malformed cursor with *authd.InvalidError"},
		{"list users lax limit", directory(func(m *memory) storetest.DirectoryBackend { return laxUserLimit{m} }),
			"ListUsers refuses a Limit outside 1 to 1000 with *authd.InvalidError"},
		{"delete user keeps links", directory(func(m *memory) storetest.DirectoryBackend { return keepLinks{m} }),
			"DeleteUser deletes the user and every record of theirs"},
		{"delete user deletes every outbox message", directory(func(m *memory) storetest.DirectoryBackend { return dropOutbox{m} }),
			"DeleteUser keeps the audit events and the outbox messages of other kinds"},
		{"delete user of an unknown id", directory(func(m *memory) storetest.DirectoryBackend { return deleteOrphans{m} }),
			"DeleteUser ErrNotFound for an unknown id, and deletes nothing"},
		{"list events oldest first", auditReader(func(m *memory) storetest.AuditBackend { return eventsOldestFirst{m} }),
			"ListEvents returns the events newest first, in the order they were recorded, with every field"},
		{"list events by At", auditReader(func(m *memory) storetest.AuditBackend { return eventsByAt{m} }),
			"ListEvents returns the events newest first, in the order they were recorded, with every field"},
		{"list events Since exclusive", auditReader(func(m *memory) storetest.AuditBackend { return sinceExclusive{m} }),
			"ListEvents keeps the events of UserID, of Event and at or after Since"},
		{"list events positional cursor", auditReader(func(m *memory) storetest.AuditBackend { return &offsetEvents{memory: m} }),
			"ListEvents paging skips and repeats no earlier event and shows none recorded during it"},
		{"list events cursor on the last page", auditReader(func(m *memory) storetest.AuditBackend { return lateEventCursor{m} }),
			"ListEvents pages by Limit and the next cursor, empty on the last page"},
		{"user email case-insensitive", users(func(m *memory) authd.UserStore { return caseFoldEmail{m} }),
			"email is compared exactly"},
		{"user email not unique", users(func(m *memory) authd.UserStore { return dupEmail{m} }),
			"CreateUser ErrConflict when the email is taken"},
		{"user ignores ctx", users(func(m *memory) authd.UserStore { return ignoreCtxUser{m} }),
			"honours ctx cancellation"},
		{"session prefix match", sessions(func(m *memory) authd.SessionStore { return prefixSession{m} }),
			"SessionByHash ErrNotFound when there is none"},
		{"session list oldest first", sessions(func(m *memory) authd.SessionStore { return oldestFirst{m} }),
			"ListSessions returns the user's sessions whose ExpiresAt is after now, newest first"},
		{"session list includes now", sessions(func(m *memory) authd.SessionStore { return listAtNow{m} }),
			"ListSessions leaves out a session whose ExpiresAt is exactly now"},
		{"session list nil", sessions(func(m *memory) authd.SessionStore { return listNil{m} }),
			"ListSessions returns an empty slice when there are none"},
		{"session delete any user", sessions(func(m *memory) authd.SessionStore { return deleteAnyUser{m} }),
			"DeleteSession of another user's session is ErrNotFound and deletes nothing"},
		{"session delete ignores except", sessions(func(m *memory) authd.SessionStore { return ignoreExcept{m} }),
			"DeleteUserSessions deletes every session of the user but except and returns the deleted ids"},
		{"session delete not atomic", sessions(func(m *memory) authd.SessionStore { return nonAtomicDelete{m} }),
			"DeleteUserSessions is atomic under concurrent deletes and creates"},
		{"session drops AMR", sessions(func(m *memory) authd.SessionStore { return dropAMR{m} }),
			"CreateSession then SessionByHash returns every field"},
		{"session touch clears Pending", sessions(func(m *memory) authd.SessionStore { return touchClearsPending{m} }),
			"TouchSession sets LastSeenAt and ExpiresAt only"},
		{"session list drops Pending", sessions(func(m *memory) authd.SessionStore { return listDropsPending{m} }),
			"AMR and Pending read back exactly from SessionByHash and ListSessions, nil AMR as empty"},
		{"totp put keeps the first", factors(func(m *memory) authd.FactorStore { return keepFirstTOTP{m} }),
			"PutTOTP replaces the user's TOTP: a new enrolment starts over"},
		{"totp use ignores confirmation", factors(func(m *memory) authd.FactorStore { return unconfirmedUse{m} }),
			"UseTOTPStep changes nothing and reports false when the TOTP is not confirmed"},
		{"totp use accepts a step again", factors(func(m *memory) authd.FactorStore { return reuseStep{m} }),
			"UseTOTPStep changes nothing and reports false when LastStep is not below step"},
		{"totp use not atomic", factors(func(m *memory) authd.FactorStore { return racyUseStep{m} }),
			"UseTOTPStep gives true to at most one of n concurrent calls with one step"},
		{"recovery codes appended", factors(func(m *memory) authd.FactorStore { return appendCodes{m} }),
			"SetRecoveryCodes replaces the user's recovery codes with hashes"},
		{"recovery code use not atomic", factors(func(m *memory) authd.FactorStore { return racyUseCode{m} }),
			"UseRecoveryCode gives true to at most one of n concurrent calls"},
		{"recovery code of any user", factors(func(m *memory) authd.FactorStore { return anyUsersCode{m} }),
			"UseRecoveryCode deletes the user's code and reports whether it was there"},
		{"passkey counter may go backwards", factors(func(m *memory) authd.FactorStore { return backwardsCounter{m} }),
			"UsePasskey changes nothing and reports false when the counter did not go up"},
		{"passkey counter zero refused", factors(func(m *memory) authd.FactorStore { return strictCounter{m} }),
			"UsePasskey with count and SignCount both zero sets LastUsedAt and reports true"},
		{"passkey use not atomic", factors(func(m *memory) authd.FactorStore { return racyUsePasskey{m} }),
			"UsePasskey gives true to at most one of n concurrent calls with one count"},
		{"passkeys newest first", factors(func(m *memory) authd.FactorStore { return passkeysNewestFirst{m} }),
			"Passkeys returns the user's passkeys, oldest first"},
		{"passkey credential id not unique", factors(func(m *memory) authd.FactorStore { return dupCredential{m} }),
			"AddPasskey ErrConflict when p.CredentialID exists"},
		{"passkey rename of any user's", factors(func(m *memory) authd.FactorStore { return renameAnyUsers{m} }),
			"RenamePasskey ErrNotFound when no such passkey is the user's"},
		{"factors delete keeps passkeys", factors(func(m *memory) authd.FactorStore { return keepPasskeys{m} }),
			"DeleteFactors deletes every second factor of the user and is idempotent"},
		{"challenge take not atomic", challenges(func(m *memory) authd.ChallengeStore { return racyTakeChallenge{m} }),
			"TakeChallenge gives the data to exactly one of n concurrent calls"},
		{"challenge take keeps it", challenges(func(m *memory) authd.ChallengeStore { return peekChallenge{m} }),
			"TakeChallenge deletes the challenge: it is used once"},
		{"challenge take ignores expiry", challenges(func(m *memory) authd.ChallengeStore { return takeExpired{m} }),
			"TakeChallenge ErrNotFound when it expired before now"},
		{"challenge delete at t", challenges(func(m *memory) authd.ChallengeStore { return deleteAtT{m} }),
			"DeleteChallengesBefore deletes the challenges that expired before t and returns how many"},
		{"replay remember not atomic", replays(func(m *memory) authd.ReplaySet { return racyRemember{m} }),
			"Remember reports true to exactly one of n concurrent calls with one key"},
		{"replay revive not atomic", replays(func(m *memory) authd.ReplaySet { return racyRevive{m} }),
			"Remember reports true to exactly one of n concurrent calls with one expired key"},
		{"replay never expires", replays(func(m *memory) authd.ReplaySet { return neverExpires{m} }),
			"Remember reports true when the record expired before now, and records key until expiresAt"},
		{"replay expires at expiresAt", replays(func(m *memory) authd.ReplaySet { return expiresAtExpiry{m} }),
			"Remember reports false when key is recorded and alive: a replay"},
		{"replay extends the record", replays(func(m *memory) authd.ReplaySet { return replayExtends{m} }),
			"Remember changes nothing on a replay"},
		{"replay revives without recording", replays(func(m *memory) authd.ReplaySet { return reviveForgets{m} }),
			"Remember reports true when the record expired before now, and records key until expiresAt"},
		{"replay stores nothing expired", replays(func(m *memory) authd.ReplaySet { return expiredTrueBlind{m} }),
			"Remember of a record already expired at now reports true"},
		{"replay key as C string", replays(func(m *memory) authd.ReplaySet { return cStringKey{m} }),
			"Remember keeps keys apart"},
		{"replay prune does nothing", replays(func(m *memory) authd.ReplaySet { return noPrune{m} }),
			"PruneReplays deletes the records that expired before now"},
		{"replay prune at now", replays(func(m *memory) authd.ReplaySet { return pruneAtNow{m} }),
			"PruneReplays keeps the records alive at now"},
		{"replay ignores ctx", replays(func(m *memory) authd.ReplaySet { return ignoreCtxReplay{m} }),
			"honours ctx cancellation"},
		{"refresh unserialised", refresh(func(m *memory) authd.RefreshStore { return unlockedUpdate{m} }),
			"UpdateFamilyByToken serialises concurrent calls on one family"},
		{"refresh saves on error", refresh(func(m *memory) authd.RefreshStore { return saveOnError{m} }),
			"UpdateFamilyByToken saves nothing and returns fn's error when fn fails"},
		{"refresh saves every field", refresh(func(m *memory) authd.RefreshStore { return saveAll{m} }),
			"UpdateFamilyByToken saves no other field"},
		{"refresh successor overwrites", refresh(func(m *memory) authd.RefreshStore { return overwriteSuccessor{m} }),
			"UpdateFamilyByToken ErrConflict and nothing saved when the successor is another family's token"},
		{"refresh revoke overwrites", refresh(func(m *memory) authd.RefreshStore { return revokeOverwrites{m} }),
			"RevokeFamily is idempotent and keeps the first RevokedAt"},
		{"refresh revoke every user", refresh(func(m *memory) authd.RefreshStore { return revokeEveryone{m} }),
			"RevokeUserFamilies revokes only the user's live families and returns them"},
		{"refresh delete keeps hashes", refresh(func(m *memory) authd.RefreshStore { return keepHashes{m} }),
			"DeleteFamiliesBefore deletes families expired or revoked before t with their token hashes"},
		{"refresh drops scopes", refresh(func(m *memory) authd.RefreshStore { return dropScopes{m} }),
			"CreateFamily then FamilyByID returns every field"},
		{"refresh revoke every client", refresh(func(m *memory) authd.RefreshStore { return revokeEveryClient{m} }),
			"RevokeClientFamilies revokes only the user's live families of the client and returns them"},
		{"refresh drops JKT", refresh(func(m *memory) authd.RefreshStore { return dropJKT{m} }),
			"CreateFamily then FamilyByID returns every field"},
		{"refresh saves fn's JKT", refresh(func(m *memory) authd.RefreshStore { return saveJKT{m} }),
			"UpdateFamilyByToken keeps JKT whatever fn does"},
		{"refresh revoke returns no JKT", refresh(func(m *memory) authd.RefreshStore { return revokeNoJKT{m} }),
			"RevokeUserFamilies revokes only the user's live families and returns them"},
		{"keys racy ensure", keys(func(m *memory) authd.KeyStore { return racyEnsure{m} }),
			"EnsureKey from many goroutines ends with one current key"},
		{"keys rotate without retiring", keys(func(m *memory) authd.KeyStore { return noRetire{m} }),
			"RotateKey inserts k as current and retires the previous key at k.CreatedAt"},
		{"keys newest first only", keys(func(m *memory) authd.KeyStore { return newestOnly{m} }),
			"Keys returns the current key first, then newest first"},
		{"revoke keeps first expiry", revocations(func(m *memory) authd.RevocationList { return keepFirstExpiry{m} }),
			"Revoke of a listed id keeps the later ExpiresAt"},
		{"revoke lax cursor", revocations(func(m *memory) authd.RevocationList { return laxCursor{m} }),
			"RevokedSince refuses a malformed cursor with *authd.InvalidError"},
		{"revoke positional cursor", revocations(func(m *memory) authd.RevocationList { return &positionalCursor{memory: m} }),
			"PruneRevocations keeps cursors working"},
		{"revoke late cursor", revocations(func(m *memory) authd.RevocationList { return lateCursor{m} }),
			"entries revoked concurrently are never lost"},
		{"limiter not atomic", limiter(func(m *memory) authd.Limiter { return racyLimiter{m} }),
			"n concurrent AddFailure calls add exactly n"},
		{"limiter window never ends", limiter(func(m *memory) authd.Limiter { return endlessWindow{m} }),
			"the window ends at resetAt"},
		{"client overwrites", clients(func(m *memory) authd.ClientStore { return overwriteClient{m} }),
			"CreateClient ErrConflict when the id exists"},
		{"client trims strings", clients(func(m *memory) authd.ClientStore { return trimClient{m} }),
			"strings and lists are kept exactly as given"},
		{"client list in insertion order", clients(func(m *memory) authd.ClientStore { return &insertionOrder{memory: m} }),
			"ListClients returns every client ordered by id"},
		{"client list case-insensitive order", clients(func(m *memory) authd.ClientStore { return foldedOrder{m} }),
			"ListClients returns every client ordered by id"},
		{"client list nil", clients(func(m *memory) authd.ClientStore { return listClientsNil{m} }),
			"ListClients returns an empty slice when there are none"},
		{"client delete of an unknown id succeeds", clients(func(m *memory) authd.ClientStore { return silentDelete{m} }),
			"DeleteClient ErrNotFound when there is no such client"},
		{"client delete by prefix", clients(func(m *memory) authd.ClientStore { return prefixDelete{m} }),
			"DeleteClient ErrNotFound when there is no such client"},
		{"code redeem not atomic", codes(func(m *memory) authd.CodeStore { return racyRedeem{m} }),
			"RedeemCode gives first=true to exactly one of n concurrent calls"},
		{"code create keeps redemption", codes(func(m *memory) authd.CodeStore { return createAsGiven{m} }),
			"CreateCode stores the code unredeemed whatever c holds"},
		{"code redeem overwrites", codes(func(m *memory) authd.CodeStore { return redeemOverwrites{m} }),
			"RedeemCode of a redeemed code sets Reused and returns the first redemption with first=false"},
		{"consent put keeps the first", consents(func(m *memory) authd.ConsentStore { return keepFirstConsent{m} }),
			"PutConsent replaces the user's consent for the client"},
		{"consent list nil", consents(func(m *memory) authd.ConsentStore { return listConsentsNil{m} }),
			"ListConsents returns an empty slice when there are none"},
		{"session clients take not atomic", sessionClients(func(m *memory) authd.SessionClientStore { return racyTake{m} }),
			"TakeSessionClients gives each record to exactly one of concurrent calls"},
		{"session clients link overwrites expiry", sessionClients(func(m *memory) authd.SessionClientStore { return linkOverwrites{m} }),
			"LinkSessionClient is idempotent and keeps the later expiresAt"},
		{"outbox claim not atomic", outbox(func(m *memory) authd.Outbox { return racyClaim{m} }),
			"concurrent Claim calls never return one message twice within a lease"},
		{"outbox claim without lease", outbox(func(m *memory) authd.Outbox { return claimWithoutLease{m} }),
			"Claim moves NextAt to now+lease and adds one to Attempts: no other call claims them until the lease ends"},
		{"outbox claim newest first", outbox(func(m *memory) authd.Outbox { return claimNewestFirst{m} }),
			"Claim returns the messages of kind whose NextAt is not after now, oldest NextAt first"},
		{"audit merges duplicates", func(t *testing.T) {
			storetest.RunAuditLog(t, func(*testing.T) (authd.AuditLog, storetest.AuditTable) {
				m := newMemory()
				return dedupAudit{m}, m.AuditEvents
			})
		}, "RecordEvent appends in order and never merges"},
	}
}

// The mutants. Each embeds the reference store and breaks one method.

type caseFoldEmail struct{ *memory }

func (s caseFoldEmail) UserByEmail(ctx context.Context, email string) (*authd.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.Email, strings.TrimSpace(email)) {
			return &u, nil
		}
	}
	return nil, authd.ErrNotFound
}

type dupEmail struct{ *memory }

func (s dupEmail) CreateUser(ctx context.Context, u *authd.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return authd.ErrConflict
	}
	s.users[u.ID] = *u
	return nil
}

type ignoreCtxUser struct{ *memory }

func (s ignoreCtxUser) SetLocked(_ context.Context, id string, locked bool, at time.Time) error {
	return s.memory.SetLocked(context.Background(), id, locked, at)
}

type prefixSession struct{ *memory }

func (s prefixSession) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.sessions {
		if len(hash) > 0 && strings.HasPrefix(string(x.Hash), string(hash)) {
			return &x, nil
		}
	}
	return nil, authd.ErrNotFound
}

type oldestFirst struct{ *memory }

func (s oldestFirst) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	l, err := s.memory.ListSessions(ctx, userID, now)
	slices.Reverse(l)
	return l, err
}

type listAtNow struct{ *memory }

func (s listAtNow) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	return s.memory.ListSessions(ctx, userID, now.Add(-time.Microsecond))
}

type listNil struct{ *memory }

func (s listNil) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	l, err := s.memory.ListSessions(ctx, userID, now)
	if len(l) == 0 {
		return nil, err
	}
	return l, err
}

type deleteAnyUser struct{ *memory }

func (s deleteAnyUser) DeleteSession(ctx context.Context, userID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[id]; !ok {
		return authd.ErrNotFound
	}
	delete(s.sessions, id)
	return nil
}

type ignoreExcept struct{ *memory }

func (s ignoreExcept) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	return s.memory.DeleteUserSessions(ctx, userID, "")
}

// nonAtomicDelete lists, then deletes one by one, reporting what it listed.
type nonAtomicDelete struct{ *memory }

func (s nonAtomicDelete) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	s.mu.Lock()
	var ids []string
	for id, x := range s.sessions {
		if x.UserID == userID && id != except {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	time.Sleep(time.Millisecond)
	for _, id := range ids {
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
	}
	return ids, nil
}

// unlockedUpdate reads the family, runs fn unlocked, then writes it back.
type unlockedUpdate struct{ *memory }

func (s unlockedUpdate) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(*authd.RefreshFamily, int) ([]byte, error)) (*authd.RefreshFamily, error) {
	s.mu.Lock()
	tok, ok := s.tokens[string(tokenHash)]
	f := s.families[tok.family]
	s.mu.Unlock()
	if !ok {
		return nil, authd.ErrNotFound
	}
	succ, err := fn(&f, tok.generation)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.families[f.ID] = f
	if succ != nil {
		s.tokens[string(succ)] = token{f.ID, f.Generation}
	}
	return &f, nil
}

type saveOnError struct{ *memory }

func (s saveOnError) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(*authd.RefreshFamily, int) ([]byte, error)) (*authd.RefreshFamily, error) {
	var fnErr error
	f, err := s.memory.UpdateFamilyByToken(ctx, tokenHash, func(f *authd.RefreshFamily, g int) ([]byte, error) {
		succ, err := fn(f, g)
		fnErr = err
		return succ, nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	return f, err
}

type saveAll struct{ *memory }

func (s saveAll) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(*authd.RefreshFamily, int) ([]byte, error)) (*authd.RefreshFamily, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[string(tokenHash)]
	if !ok {
		return nil, authd.ErrNotFound
	}
	f := s.families[tok.family]
	succ, err := fn(&f, tok.generation)
	if err != nil {
		return nil, err
	}
	s.families[tok.family] = f
	if succ != nil {
		s.tokens[string(succ)] = token{f.ID, f.Generation}
	}
	return &f, nil
}

type overwriteSuccessor struct{ *memory }

func (s overwriteSuccessor) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(*authd.RefreshFamily, int) ([]byte, error)) (*authd.RefreshFamily, error) {
	var succ []byte
	f, err := s.memory.UpdateFamilyByToken(ctx, tokenHash, func(f *authd.RefreshFamily, g int) ([]byte, error) {
		var err error
		succ, err = fn(f, g)
		return nil, err
	})
	if err == nil && succ != nil {
		s.mu.Lock()
		s.tokens[string(succ)] = token{f.ID, f.Generation}
		s.mu.Unlock()
	}
	return f, err
}

type revokeOverwrites struct{ *memory }

func (s revokeOverwrites) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.families[id]
	if !ok {
		return authd.ErrNotFound
	}
	f.RevokedAt = at
	s.families[id] = f
	return nil
}

type revokeEveryone struct{ *memory }

func (s revokeEveryone) RevokeUserFamilies(ctx context.Context, userID string, at time.Time) ([]*authd.RefreshFamily, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*authd.RefreshFamily{}
	for id, f := range s.families {
		if f.RevokedAt.IsZero() {
			f.RevokedAt = at
			s.families[id] = f
			if f.UserID == userID {
				out = append(out, cloneFamily(f))
			}
		}
	}
	return out, nil
}

type keepHashes struct{ *memory }

func (s keepHashes) DeleteFamiliesBefore(ctx context.Context, t time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, f := range s.families {
		if f.ExpiresAt.Before(t) || (!f.RevokedAt.IsZero() && f.RevokedAt.Before(t)) {
			delete(s.families, id)
			n++
		}
	}
	return n, nil
}

// dropScopes forgets the scopes of the families it creates.
type dropScopes struct{ *memory }

func (s dropScopes) CreateFamily(ctx context.Context, f *authd.RefreshFamily, tokenHash []byte) error {
	x := *f
	x.Scopes = nil
	return s.memory.CreateFamily(ctx, &x, tokenHash)
}

// dropJKT forgets the DPoP binding of the families it creates.
type dropJKT struct{ *memory }

func (s dropJKT) CreateFamily(ctx context.Context, f *authd.RefreshFamily, tokenHash []byte) error {
	x := *f
	x.JKT = ""
	return s.memory.CreateFamily(ctx, &x, tokenHash)
}

// saveJKT saves the JKT fn sets along with the rotation fields.
type saveJKT struct{ *memory }

func (s saveJKT) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(*authd.RefreshFamily, int) ([]byte, error)) (*authd.RefreshFamily, error) {
	var jkt string
	f, err := s.memory.UpdateFamilyByToken(ctx, tokenHash, func(f *authd.RefreshFamily, g int) ([]byte, error) {
		succ, err := fn(f, g)
		jkt = f.JKT
		return succ, err
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.families[f.ID]
	x.JKT, f.JKT = jkt, jkt
	s.families[f.ID] = x
	return f, nil
}

// revokeNoJKT returns the families it revokes without their binding, as a
// RETURNING list missing the column would.
type revokeNoJKT struct{ *memory }

func (s revokeNoJKT) RevokeUserFamilies(ctx context.Context, userID string, at time.Time) ([]*authd.RefreshFamily, error) {
	fs, err := s.memory.RevokeUserFamilies(ctx, userID, at)
	for _, f := range fs {
		f.JKT = ""
	}
	return fs, err
}

// revokeEveryClient revokes the user's families of every client.
type revokeEveryClient struct{ *memory }

func (s revokeEveryClient) RevokeClientFamilies(ctx context.Context, userID, clientID string, at time.Time) ([]*authd.RefreshFamily, error) {
	return s.memory.RevokeUserFamilies(ctx, userID, at)
}

// racyEnsure checks for a current key, lets go, then inserts.
type racyEnsure struct{ *memory }

func (s racyEnsure) EnsureKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	ks, _ := s.memory.Keys(ctx, time.Now().Add(1000*time.Hour))
	if len(ks) > 0 {
		return ks[0], nil
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ID] = *k
	return k, nil
}

type noRetire struct{ *memory }

func (s noRetire) RotateKey(ctx context.Context, k *authd.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return authd.ErrConflict
	}
	s.keys[k.ID] = *k
	return nil
}

type newestOnly struct{ *memory }

func (s newestOnly) Keys(ctx context.Context, retiredAfter time.Time) ([]*authd.Key, error) {
	ks, err := s.memory.Keys(ctx, retiredAfter)
	slices.SortFunc(ks, func(a, b *authd.Key) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return ks, err
}

type keepFirstExpiry struct{ *memory }

func (s keepFirstExpiry) Revoke(ctx context.Context, r authd.Revocation) error {
	s.mu.Lock()
	for _, x := range s.revs {
		if x.r.Kind == r.Kind && x.r.ID == r.ID {
			s.mu.Unlock()
			return nil
		}
	}
	s.mu.Unlock()
	return s.memory.Revoke(ctx, r)
}

type laxCursor struct{ *memory }

func (s laxCursor) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	if _, err := parseCursor(cursor); err != nil {
		cursor = ""
	}
	return s.memory.RevokedSince(ctx, cursor, now)
}

// positionalCursor uses the index in the list as the cursor, which pruning
// shifts.
type positionalCursor struct{ *memory }

func (s *positionalCursor) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	from, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []authd.Revocation
	for i, x := range s.revs {
		if i >= from && x.r.ExpiresAt.After(now) {
			out = append(out, x.r)
		}
	}
	return out, "m" + strconv.Itoa(len(s.revs)), nil
}

// lateCursor reads the entries, then takes the cursor a moment later.
type lateCursor struct{ *memory }

func (s lateCursor) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	out, _, err := s.memory.RevokedSince(ctx, cursor, now)
	if err != nil {
		return nil, "", err
	}
	time.Sleep(200 * time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	return out, "m" + strconv.Itoa(s.seq), nil
}

type racyLimiter struct{ *memory }

func (s racyLimiter) AddFailure(ctx context.Context, key string, length time.Duration, now time.Time) (int, time.Time, error) {
	n, reset, _ := s.memory.Failures(ctx, key, now)
	time.Sleep(time.Millisecond)
	if n == 0 {
		reset = now.Add(length)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[key] = window{n + 1, reset}
	return n + 1, reset, nil
}

type endlessWindow struct{ *memory }

func (s endlessWindow) Failures(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.failures[key]
	return w.count, w.resetAt, nil
}

type overwriteClient struct{ *memory }

func (s overwriteClient) CreateClient(ctx context.Context, c *authd.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = *c
	return nil
}

// trimClient trims the strings it stores, as a form handler might.
type trimClient struct{ *memory }

func (s trimClient) CreateClient(ctx context.Context, c *authd.Client) error {
	x := *c
	x.Name = strings.TrimSpace(c.Name)
	x.BackchannelLogoutURI = strings.TrimSpace(c.BackchannelLogoutURI)
	return s.memory.CreateClient(ctx, &x)
}

// insertionOrder lists clients in the order they were created.
type insertionOrder struct {
	*memory
	order []string
}

func (s *insertionOrder) CreateClient(ctx context.Context, c *authd.Client) error {
	err := s.memory.CreateClient(ctx, c)
	if err == nil {
		s.order = append(s.order, c.ID)
	}
	return err
}

func (s *insertionOrder) ListClients(ctx context.Context) ([]*authd.Client, error) {
	out := []*authd.Client{}
	for _, id := range s.order {
		if c, err := s.ClientByID(ctx, id); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// foldedOrder sorts ids as a case-insensitive collation would.
type foldedOrder struct{ *memory }

func (s foldedOrder) ListClients(ctx context.Context) ([]*authd.Client, error) {
	l, err := s.memory.ListClients(ctx)
	slices.SortStableFunc(l, func(a, b *authd.Client) int {
		return strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID))
	})
	return l, err
}

type listClientsNil struct{ *memory }

func (s listClientsNil) ListClients(ctx context.Context) ([]*authd.Client, error) {
	l, err := s.memory.ListClients(ctx)
	if len(l) == 0 {
		return nil, err
	}
	return l, err
}

type silentDelete struct{ *memory }

func (s silentDelete) DeleteClient(ctx context.Context, id string) error {
	if err := s.memory.DeleteClient(ctx, id); err != nil && !errors.Is(err, authd.ErrNotFound) {
		return err
	}
	return nil
}

// prefixDelete deletes the first client whose id starts with id
// (a LIKE 'id%' in SQL).
type prefixDelete struct{ *memory }

func (s prefixDelete) DeleteClient(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(s.clients)) {
		if strings.HasPrefix(k, id) {
			delete(s.clients, k)
			return nil
		}
	}
	return authd.ErrNotFound
}

type dedupAudit struct{ *memory }

func (s dedupAudit) RecordEvent(ctx context.Context, e authd.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.events, e) {
		return nil
	}
	s.events = append(s.events, e)
	return nil
}

// racyRedeem reads the code, lets go, then writes the redemption.
type racyRedeem struct{ *memory }

func (s racyRedeem) RedeemCode(ctx context.Context, hash []byte, at time.Time, tokenID, familyID string) (*authd.AuthCode, bool, error) {
	s.mu.Lock()
	c, ok := s.codes[string(hash)]
	s.mu.Unlock()
	if !ok {
		return nil, false, authd.ErrNotFound
	}
	time.Sleep(time.Millisecond)
	first := c.UsedAt.IsZero()
	if first {
		c.UsedAt, c.TokenID, c.FamilyID = at, tokenID, familyID
	} else {
		c.Reused = true
	}
	s.mu.Lock()
	s.codes[string(hash)] = c
	s.mu.Unlock()
	return &c, first, nil
}

// createAsGiven stores the redemption fields c holds.
type createAsGiven struct{ *memory }

func (s createAsGiven) CreateCode(ctx context.Context, c *authd.AuthCode) error {
	if err := s.memory.CreateCode(ctx, c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[string(c.Hash)] = *c
	return nil
}

// redeemOverwrites records every redemption over the first.
type redeemOverwrites struct{ *memory }

func (s redeemOverwrites) RedeemCode(ctx context.Context, hash []byte, at time.Time, tokenID, familyID string) (*authd.AuthCode, bool, error) {
	c, first, err := s.memory.RedeemCode(ctx, hash, at, tokenID, familyID)
	if err != nil || first {
		return c, first, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.UsedAt, c.TokenID, c.FamilyID = at, tokenID, familyID
	s.codes[string(hash)] = *c
	return c, false, nil
}

// keepFirstConsent inserts but never replaces.
type keepFirstConsent struct{ *memory }

func (s keepFirstConsent) PutConsent(ctx context.Context, c *authd.Consent) error {
	if _, err := s.memory.ConsentFor(ctx, c.UserID, c.ClientID); err == nil {
		return nil
	}
	return s.memory.PutConsent(ctx, c)
}

type listConsentsNil struct{ *memory }

func (s listConsentsNil) ListConsents(ctx context.Context, userID string) ([]*authd.Consent, error) {
	l, err := s.memory.ListConsents(ctx, userID)
	if len(l) == 0 {
		return nil, err
	}
	return l, err
}

// racyTake lists the session's records, then deletes them one by one,
// reporting what it listed.
type racyTake struct{ *memory }

func (s racyTake) TakeSessionClients(ctx context.Context, sessionID string) ([]string, error) {
	s.mu.Lock()
	out := []string{}
	for k := range s.links {
		if k[0] == sessionID {
			out = append(out, k[1])
		}
	}
	s.mu.Unlock()
	time.Sleep(time.Millisecond)
	for _, c := range out {
		s.mu.Lock()
		delete(s.links, [2]string{sessionID, c})
		s.mu.Unlock()
	}
	slices.Sort(out)
	return out, nil
}

// linkOverwrites keeps the last expiresAt given, not the later.
type linkOverwrites struct{ *memory }

func (s linkOverwrites) LinkSessionClient(ctx context.Context, sessionID, clientID, userID string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.links[[2]string{sessionID, clientID}] = link{userID, expiresAt}
	return nil
}

// racyClaim picks the due messages, lets go, then takes their lease.
type racyClaim struct{ *memory }

func (s racyClaim) Claim(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*authd.OutboxMessage, error) {
	s.mu.Lock()
	var due []authd.OutboxMessage
	for _, x := range s.outbox {
		if x.Kind == kind && !x.NextAt.After(now) {
			due = append(due, x)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b authd.OutboxMessage) int { return a.NextAt.Compare(b.NextAt) })
	due = due[:min(len(due), limit)]
	time.Sleep(time.Millisecond)
	out := []*authd.OutboxMessage{}
	for _, x := range due {
		x.NextAt = now.Add(lease)
		x.Attempts++
		s.mu.Lock()
		s.outbox[x.ID] = x
		s.mu.Unlock()
		out = append(out, &x)
	}
	return out, nil
}

// claimWithoutLease returns the due messages without taking a lease.
type claimWithoutLease struct{ *memory }

func (s claimWithoutLease) Claim(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*authd.OutboxMessage, error) {
	return s.memory.Claim(ctx, kind, now, 0, limit)
}

// claimNewestFirst returns the due messages newest NextAt first.
type claimNewestFirst struct{ *memory }

func (s claimNewestFirst) Claim(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*authd.OutboxMessage, error) {
	out, err := s.memory.Claim(ctx, kind, now, lease, limit)
	slices.Reverse(out)
	return out, err
}

// dropAMR forgets the methods of the sessions it creates.
type dropAMR struct{ *memory }

func (s dropAMR) CreateSession(ctx context.Context, x *authd.Session) error {
	c := *x
	c.AMR = nil
	return s.memory.CreateSession(ctx, &c)
}

// touchClearsPending writes the whole session back without Pending, as a
// store that rebuilt its record from a partial read might.
type touchClearsPending struct{ *memory }

func (s touchClearsPending) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	if err := s.memory.TouchSession(ctx, id, lastSeen, expiresAt); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.sessions[id]
	x.Pending = false
	s.sessions[id] = x
	return nil
}

// listDropsPending lists sessions from a summary without Pending.
type listDropsPending struct{ *memory }

func (s listDropsPending) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	l, err := s.memory.ListSessions(ctx, userID, now)
	for _, x := range l {
		x.Pending = false
	}
	return l, err
}

// keepFirstTOTP inserts but never replaces.
type keepFirstTOTP struct{ *memory }

func (s keepFirstTOTP) PutTOTP(ctx context.Context, t *authd.TOTP) error {
	if _, err := s.memory.TOTPOf(ctx, t.UserID); err == nil {
		return nil
	}
	return s.memory.PutTOTP(ctx, t)
}

// unconfirmedUse accepts codes of an enrolment never confirmed.
type unconfirmedUse struct{ *memory }

func (s unconfirmedUse) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.totps[userID]
	if !ok {
		return false, authd.ErrNotFound
	}
	if t.LastStep >= step {
		return false, nil
	}
	t.LastStep = step
	s.totps[userID] = t
	return true, nil
}

// reuseStep accepts the last step again (<= instead of <).
type reuseStep struct{ *memory }

func (s reuseStep) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.totps[userID]
	if !ok {
		return false, authd.ErrNotFound
	}
	if !t.Confirmed || t.LastStep > step {
		return false, nil
	}
	t.LastStep = step
	s.totps[userID] = t
	return true, nil
}

// racyUseStep reads the TOTP, lets go, then writes the step.
type racyUseStep struct{ *memory }

func (s racyUseStep) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	t, err := s.memory.TOTPOf(ctx, userID)
	if err != nil {
		return false, err
	}
	if !t.Confirmed || t.LastStep >= step {
		return false, nil
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	t.LastStep = step
	s.totps[userID] = *t
	return true, nil
}

// appendCodes adds the new codes to the old ones.
type appendCodes struct{ *memory }

func (s appendCodes) SetRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hashes {
		s.recovery[[2]string{userID, string(h)}] = true
	}
	return nil
}

// racyUseCode checks the code, lets go, then deletes it.
type racyUseCode struct{ *memory }

func (s racyUseCode) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	s.mu.Lock()
	ok := s.recovery[[2]string{userID, string(hash)}]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recovery, [2]string{userID, string(hash)})
	return true, nil
}

// anyUsersCode accepts a code of any user (a lookup by hash only).
type anyUsersCode struct{ *memory }

func (s anyUsersCode) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.recovery {
		if k[1] == string(hash) {
			delete(s.recovery, k)
			return true, nil
		}
	}
	return false, nil
}

// backwardsCounter records every use, whatever the counter says.
type backwardsCounter struct{ *memory }

func (s backwardsCounter) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.passkeys[id]
	if !ok {
		return false, authd.ErrNotFound
	}
	p.SignCount, p.LastUsedAt = count, at
	s.passkeys[id] = p
	return true, nil
}

// strictCounter wants the counter to go up, even from zero to zero.
type strictCounter struct{ *memory }

func (s strictCounter) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.passkeys[id]
	if !ok {
		return false, authd.ErrNotFound
	}
	if count <= p.SignCount {
		return false, nil
	}
	p.SignCount, p.LastUsedAt = count, at
	s.passkeys[id] = p
	return true, nil
}

// racyUsePasskey checks the counter, lets go, then writes it.
type racyUsePasskey struct{ *memory }

func (s racyUsePasskey) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	s.mu.Lock()
	p, ok := s.passkeys[id]
	s.mu.Unlock()
	if !ok {
		return false, authd.ErrNotFound
	}
	if count <= p.SignCount && (count != 0 || p.SignCount != 0) {
		return false, nil
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	p.SignCount, p.LastUsedAt = count, at
	s.passkeys[id] = p
	return true, nil
}

type passkeysNewestFirst struct{ *memory }

func (s passkeysNewestFirst) Passkeys(ctx context.Context, userID string) ([]*authd.Passkey, error) {
	l, err := s.memory.Passkeys(ctx, userID)
	slices.Reverse(l)
	return l, err
}

// dupCredential checks the id only.
type dupCredential struct{ *memory }

func (s dupCredential) AddPasskey(ctx context.Context, p *authd.Passkey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.passkeys[p.ID]; ok {
		return authd.ErrConflict
	}
	s.passkeys[p.ID] = *clonePasskey(*p)
	return nil
}

// renameAnyUsers renames by id alone.
type renameAnyUsers struct{ *memory }

func (s renameAnyUsers) RenamePasskey(ctx context.Context, userID, id, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.passkeys[id]
	if !ok {
		return authd.ErrNotFound
	}
	p.Name = name
	s.passkeys[id] = p
	return nil
}

// keepPasskeys deletes the TOTP and the codes only.
type keepPasskeys struct{ *memory }

func (s keepPasskeys) DeleteFactors(ctx context.Context, userID string) error {
	s.memory.DeleteTOTP(ctx, userID)
	return s.memory.SetRecoveryCodes(ctx, userID, nil)
}

// racyTakeChallenge reads the challenge, lets go, then deletes it.
type racyTakeChallenge struct{ *memory }

func (s racyTakeChallenge) TakeChallenge(ctx context.Context, key string, now time.Time) ([]byte, error) {
	s.mu.Lock()
	c, ok := s.chals[key]
	s.mu.Unlock()
	if !ok || c.expiresAt.Before(now) {
		return nil, authd.ErrNotFound
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.chals, key)
	return c.data, nil
}

// peekChallenge returns the data but keeps the challenge.
type peekChallenge struct{ *memory }

func (s peekChallenge) TakeChallenge(ctx context.Context, key string, now time.Time) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chals[key]
	if !ok || c.expiresAt.Before(now) {
		return nil, authd.ErrNotFound
	}
	return c.data, nil
}

// takeExpired never looks at the expiry.
type takeExpired struct{ *memory }

func (s takeExpired) TakeChallenge(ctx context.Context, key string, now time.Time) ([]byte, error) {
	return s.memory.TakeChallenge(ctx, key, time.Time{})
}

// deleteAtT deletes the challenges expiring at t too.
type deleteAtT struct{ *memory }

func (s deleteAtT) DeleteChallengesBefore(ctx context.Context, t time.Time) (int, error) {
	return s.memory.DeleteChallengesBefore(ctx, t.Add(time.Microsecond))
}

// dropVerified stores every user unverified.
type dropVerified struct{ *memory }

func (s dropVerified) CreateUser(ctx context.Context, u *authd.User) error {
	c := *u
	c.EmailVerified = false
	return s.memory.CreateUser(ctx, &c)
}

// keepOldLinks adds the link without deleting the user's others.
type keepOldLinks struct{ *memory }

func (s keepOldLinks) IssueLink(ctx context.Context, l *authd.Link, mails []*authd.OutboxMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mails[string(l.Hash)]; ok {
		return authd.ErrConflict
	}
	s.mails[string(l.Hash)] = *l
	for _, x := range mails {
		s.outbox[x.ID] = *x
	}
	return nil
}

// replaceOwnHash deletes the user's links of the purpose before it looks
// for a conflict, so reissuing a link's own hash replaces it.
type replaceOwnHash struct{ *memory }

func (s replaceOwnHash) IssueLink(ctx context.Context, l *authd.Link, mails []*authd.OutboxMessage) error {
	s.mu.Lock()
	for h, x := range s.mails {
		if x.UserID == l.UserID && x.Purpose == l.Purpose {
			delete(s.mails, h)
		}
	}
	s.mu.Unlock()
	return s.memory.IssueLink(ctx, l, mails)
}

// partialIssue enqueues the mails one by one and stops at the first
// conflict, keeping the link and the mails before it.
type partialIssue struct{ *memory }

func (s partialIssue) IssueLink(ctx context.Context, l *authd.Link, mails []*authd.OutboxMessage) error {
	if err := s.memory.IssueLink(ctx, l, nil); err != nil {
		return err
	}
	for _, x := range mails {
		if err := s.memory.Enqueue(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// userThenLink creates the user, then issues the link, in two steps.
type userThenLink struct{ *memory }

func (s userThenLink) CreateUserWithLink(ctx context.Context, u *authd.User, l *authd.Link, mails []*authd.OutboxMessage) error {
	if err := s.memory.CreateUser(ctx, u); err != nil {
		return err
	}
	return s.memory.IssueLink(ctx, l, mails)
}

// peekLink returns the link but keeps it.
type peekLink struct{ *memory }

func (s peekLink) TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*authd.Link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.mails[string(hash)]
	if !ok || !slices.Contains(purposes, l.Purpose) || !l.ExpiresAt.After(now) {
		return nil, authd.ErrNotFound
	}
	return &l, nil
}

// anyPurpose takes a link whatever purposes say.
type anyPurpose struct{ *memory }

func (s anyPurpose) TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*authd.Link, error) {
	return s.memory.TakeLink(ctx, hash, []string{authd.LinkVerifyEmail, authd.LinkChangeEmail, authd.LinkRecover}, now)
}

// takeAtExpiry still takes a link at its ExpiresAt.
type takeAtExpiry struct{ *memory }

func (s takeAtExpiry) TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*authd.Link, error) {
	return s.memory.TakeLink(ctx, hash, purposes, now.Add(-time.Microsecond))
}

// racyTakeLink reads the link, lets go, then deletes it.
type racyTakeLink struct{ *memory }

func (s racyTakeLink) TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*authd.Link, error) {
	s.mu.Lock()
	l, ok := s.mails[string(hash)]
	s.mu.Unlock()
	if !ok || !slices.Contains(purposes, l.Purpose) || !l.ExpiresAt.After(now) {
		return nil, authd.ErrNotFound
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mails, string(hash))
	return &l, nil
}

// keepVerified changes the address but not EmailVerified.
type keepVerified struct{ *memory }

func (s keepVerified) SetEmail(ctx context.Context, id, email string, verified bool, at time.Time) error {
	u, err := s.memory.UserByID(ctx, id)
	if err != nil {
		return err
	}
	return s.memory.SetEmail(ctx, id, email, u.EmailVerified, at)
}

// stealEmail lets two users share an address.
type stealEmail struct{ *memory }

func (s stealEmail) SetEmail(ctx context.Context, id, email string, verified bool, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return authd.ErrNotFound
	}
	u.Email, u.EmailVerified, u.UpdatedAt = email, verified, at
	s.users[id] = u
	return nil
}

// offsetUsers pages by position in the sorted list: an insert or a delete
// before the cursor shifts users across pages.
type offsetUsers struct{ *memory }

func (s *offsetUsers) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	from := 0
	if q.Cursor != "" {
		from, _ = strconv.Atoi(q.Cursor)
	}
	all, _, err := s.memory.ListUsers(ctx, authd.UserQuery{Query: q.Query, Limit: 1000})
	if err != nil || from >= len(all) {
		return []*authd.User{}, "", err
	}
	end := min(len(all), from+q.Limit)
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[from:end], next, nil
}

// wildUsers passes Query to a LIKE without escaping its wildcards.
type wildUsers struct{ *memory }

func (s wildUsers) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	pattern := "(?i)" + strings.NewReplacer("%", ".*", "_", ".", `\`, `\\`, ".", `\.`).Replace(q.Query)
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, "", err
	}
	all, _, err := s.memory.ListUsers(ctx, authd.UserQuery{Limit: 1000})
	out := []*authd.User{}
	for _, u := range all {
		if re.MatchString(u.Email) {
			out = append(out, u)
		}
	}
	return out, "", err
}

// caseUsers compares Query with the email case-sensitively.
type caseUsers struct{ *memory }

func (s caseUsers) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	all, _, err := s.memory.ListUsers(ctx, authd.UserQuery{Limit: 1000})
	out := []*authd.User{}
	for _, u := range all {
		if strings.Contains(u.Email, q.Query) {
			out = append(out, u)
		}
	}
	return out, "", err
}

// laxUserCursor starts from the beginning on a cursor it cannot read.
type laxUserCursor struct{ *memory }

func (s laxUserCursor) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	us, next, err := s.memory.ListUsers(ctx, q)
	var inv *authd.InvalidError
	if errors.As(err, &inv) && inv.Field == "cursor" {
		q.Cursor = ""
		return s.memory.ListUsers(ctx, q)
	}
	return us, next, err
}

// laxUserLimit clamps the limit into range.
type laxUserLimit struct{ *memory }

func (s laxUserLimit) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	q.Limit = min(max(q.Limit, 1), 1000)
	return s.memory.ListUsers(ctx, q)
}

// keepLinks deletes the user and the rest, but not their mailed links.
type keepLinks struct{ *memory }

func (s keepLinks) DeleteUser(ctx context.Context, id string) error {
	s.mu.Lock()
	kept := maps.Clone(s.mails)
	s.mu.Unlock()
	err := s.memory.DeleteUser(ctx, id)
	s.mu.Lock()
	s.mails = kept
	s.mu.Unlock()
	return err
}

// dropOutbox deletes every outbox message of the user, of any kind.
type dropOutbox struct{ *memory }

func (s dropOutbox) DeleteUser(ctx context.Context, id string) error {
	if err := s.memory.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, x := range s.outbox {
		if x.UserID == id {
			delete(s.outbox, k)
		}
	}
	return nil
}

// deleteOrphans deletes the records of an unknown id before it finds the
// user missing.
type deleteOrphans struct{ *memory }

func (s deleteOrphans) DeleteUser(ctx context.Context, id string) error {
	s.mu.Lock()
	if _, ok := s.users[id]; !ok {
		s.users[id] = authd.User{ID: id}
	}
	s.mu.Unlock()
	s.memory.DeleteUser(ctx, id)
	return authd.ErrNotFound
}

// eventsOldestFirst returns each page oldest first.
type eventsOldestFirst struct{ *memory }

func (s eventsOldestFirst) ListEvents(ctx context.Context, q authd.AuditQuery) ([]authd.AuditEvent, string, error) {
	es, next, err := s.memory.ListEvents(ctx, q)
	slices.Reverse(es)
	return es, next, err
}

// eventsByAt orders each page by At, newest first, instead of by recording.
type eventsByAt struct{ *memory }

func (s eventsByAt) ListEvents(ctx context.Context, q authd.AuditQuery) ([]authd.AuditEvent, string, error) {
	es, next, err := s.memory.ListEvents(ctx, q)
	slices.SortStableFunc(es, func(a, b authd.AuditEvent) int { return b.At.Compare(a.At) })
	return es, next, err
}

// sinceExclusive leaves out the events at Since.
type sinceExclusive struct{ *memory }

func (s sinceExclusive) ListEvents(ctx context.Context, q authd.AuditQuery) ([]authd.AuditEvent, string, error) {
	if !q.Since.IsZero() {
		q.Since = q.Since.Add(time.Microsecond)
	}
	return s.memory.ListEvents(ctx, q)
}

// offsetEvents pages by position from the newest: every event recorded
// meanwhile pushes the older ones to later pages, where they repeat.
type offsetEvents struct{ *memory }

func (s *offsetEvents) ListEvents(ctx context.Context, q authd.AuditQuery) ([]authd.AuditEvent, string, error) {
	from := 0
	if q.Cursor != "" {
		from, _ = strconv.Atoi(q.Cursor)
	}
	all, _, err := s.memory.ListEvents(ctx, authd.AuditQuery{UserID: q.UserID, Event: q.Event, Since: q.Since, Limit: 1000})
	if err != nil || from >= len(all) {
		return []authd.AuditEvent{}, "", err
	}
	end := min(len(all), from+q.Limit)
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[from:end], next, nil
}

// lateEventCursor returns a next cursor on a full last page, and leaves
// the caller an empty page to find out.
type lateEventCursor struct{ *memory }

func (s lateEventCursor) ListEvents(ctx context.Context, q authd.AuditQuery) ([]authd.AuditEvent, string, error) {
	es, next, err := s.memory.ListEvents(ctx, q)
	if err == nil && next == "" && len(es) == q.Limit {
		next = "e1"
	}
	return es, next, err
}

// sortScopes stores the scopes sorted.
type sortScopes struct{ *memory }

func (s sortScopes) CreateUpstream(ctx context.Context, u *authd.Upstream) error {
	c := *u
	c.Scopes = slices.Sorted(slices.Values(u.Scopes))
	return s.memory.CreateUpstream(ctx, &c)
}

// dropSecret stores no secret.
type dropSecret struct{ *memory }

func (s dropSecret) CreateUpstream(ctx context.Context, u *authd.Upstream) error {
	c := *u
	c.SecretSealed = nil
	return s.memory.CreateUpstream(ctx, &c)
}

// overwriteUpstream replaces a provider of the same id.
type overwriteUpstream struct{ *memory }

func (s overwriteUpstream) CreateUpstream(ctx context.Context, u *authd.Upstream) error {
	s.mu.Lock()
	delete(s.ups, u.ID)
	s.mu.Unlock()
	return s.memory.CreateUpstream(ctx, u)
}

// collatedUpstreams orders the providers as a linguistic collation would:
// "-" ignored.
type collatedUpstreams struct{ *memory }

func (s collatedUpstreams) ListUpstreams(ctx context.Context) ([]*authd.Upstream, error) {
	l, err := s.memory.ListUpstreams(ctx)
	key := func(u *authd.Upstream) string { return strings.ReplaceAll(u.ID, "-", "") }
	slices.SortStableFunc(l, func(a, b *authd.Upstream) int { return strings.Compare(key(a), key(b)) })
	return l, err
}

// listUpstreamsNil returns nil when there are none.
type listUpstreamsNil struct{ *memory }

func (s listUpstreamsNil) ListUpstreams(ctx context.Context) ([]*authd.Upstream, error) {
	l, err := s.memory.ListUpstreams(ctx)
	if len(l) == 0 {
		return nil, err
	}
	return l, err
}

// keepIdentities deletes the provider only.
type keepIdentities struct{ *memory }

func (s keepIdentities) DeleteUpstream(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ups[id]; !ok {
		return authd.ErrNotFound
	}
	delete(s.ups, id)
	return nil
}

// upstreamThenIdentities deletes the provider, lets go, then deletes its
// identities.
type upstreamThenIdentities struct{ *memory }

func (s upstreamThenIdentities) DeleteUpstream(ctx context.Context, id string) error {
	s.mu.Lock()
	_, ok := s.ups[id]
	delete(s.ups, id)
	s.mu.Unlock()
	if !ok {
		return authd.ErrNotFound
	}
	time.Sleep(5 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.idents {
		if k[0] == id {
			delete(s.idents, k)
		}
	}
	return nil
}

// deleteOrphanIdentities deletes the identities at id before it finds
// the provider missing.
type deleteOrphanIdentities struct{ *memory }

func (s deleteOrphanIdentities) DeleteUpstream(ctx context.Context, id string) error {
	s.mu.Lock()
	for k := range s.idents {
		if k[0] == id {
			delete(s.idents, k)
		}
	}
	s.mu.Unlock()
	return s.memory.DeleteUpstream(ctx, id)
}

// overwriteSubject replaces the identity of the same pair.
type overwriteSubject struct{ *memory }

func (s overwriteSubject) LinkIdentity(ctx context.Context, i *authd.Identity) error {
	s.mu.Lock()
	delete(s.idents, [2]string{i.UpstreamID, i.Subject})
	s.mu.Unlock()
	return s.memory.LinkIdentity(ctx, i)
}

// twoPerUpstream checks the pair only.
type twoPerUpstream struct{ *memory }

func (s twoPerUpstream) LinkIdentity(ctx context.Context, i *authd.Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.idents[[2]string{i.UpstreamID, i.Subject}]; ok {
		return authd.ErrConflict
	}
	s.idents[[2]string{i.UpstreamID, i.Subject}] = *i
	return nil
}

// racyLinkIdentity checks both conflicts, lets go, then writes.
type racyLinkIdentity struct{ *memory }

func (s racyLinkIdentity) LinkIdentity(ctx context.Context, i *authd.Identity) error {
	s.mu.Lock()
	conflict := false
	for k, x := range s.idents {
		conflict = conflict || k == [2]string{i.UpstreamID, i.Subject} || (x.UserID == i.UserID && x.UpstreamID == i.UpstreamID)
	}
	s.mu.Unlock()
	if conflict {
		return authd.ErrConflict
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idents[[2]string{i.UpstreamID, i.Subject}] = *i
	return nil
}

// userThenIdentity creates the user, then links the identity, in two
// steps.
type userThenIdentity struct{ *memory }

func (s userThenIdentity) CreateUserWithIdentity(ctx context.Context, u *authd.User, i *authd.Identity) error {
	if err := s.memory.CreateUser(ctx, u); err != nil {
		return err
	}
	return s.memory.LinkIdentity(ctx, i)
}

// foldSubject finds subjects case-insensitively.
type foldSubject struct{ *memory }

func (s foldSubject) IdentityBySubject(ctx context.Context, upstreamID, subject string) (*authd.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, i := range s.idents {
		if k[0] == upstreamID && strings.EqualFold(k[1], subject) {
			return &i, nil
		}
	}
	return nil, authd.ErrNotFound
}

// reverseIdentities lists the identities in reverse order.
type reverseIdentities struct{ *memory }

func (s reverseIdentities) ListIdentities(ctx context.Context, userID string) ([]*authd.Identity, error) {
	l, err := s.memory.ListIdentities(ctx, userID)
	slices.Reverse(l)
	return l, err
}

// listIdentitiesNil returns nil when there are none.
type listIdentitiesNil struct{ *memory }

func (s listIdentitiesNil) ListIdentities(ctx context.Context, userID string) ([]*authd.Identity, error) {
	l, err := s.memory.ListIdentities(ctx, userID)
	if len(l) == 0 {
		return nil, err
	}
	return l, err
}

// unlinkEveryone deletes every identity at the upstream when the user
// has one there.
type unlinkEveryone struct{ *memory }

func (s unlinkEveryone) UnlinkIdentity(ctx context.Context, userID, upstreamID string) error {
	if err := s.memory.UnlinkIdentity(ctx, userID, upstreamID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.idents {
		if k[0] == upstreamID {
			delete(s.idents, k)
		}
	}
	return nil
}

// silentUnlink answers nil when there is nothing to unlink.
type silentUnlink struct{ *memory }

func (s silentUnlink) UnlinkIdentity(ctx context.Context, userID, upstreamID string) error {
	if err := s.memory.UnlinkIdentity(ctx, userID, upstreamID); err != nil && !errors.Is(err, authd.ErrNotFound) {
		return err
	}
	return nil
}

// keepUserIdentities deletes the user and the rest, but not their
// identities.
type keepUserIdentities struct{ *memory }

func (s keepUserIdentities) DeleteUser(ctx context.Context, id string) error {
	s.mu.Lock()
	kept := maps.Clone(s.idents)
	s.mu.Unlock()
	err := s.memory.DeleteUser(ctx, id)
	s.mu.Lock()
	s.idents = kept
	s.mu.Unlock()
	return err
}

// racyRemember looks the key up, lets go, then records it.
type racyRemember struct{ *memory }

func (s racyRemember) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	s.mu.Lock()
	exp, ok := s.replays[key]
	s.mu.Unlock()
	if ok && !exp.Before(now) {
		return false, nil
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replays[key] = expiresAt
	return true, nil
}

// racyRevive records a new key atomically but revives an expired one in
// two steps.
type racyRevive struct{ *memory }

func (s racyRevive) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	s.mu.Lock()
	exp, ok := s.replays[key]
	if !ok {
		s.replays[key] = expiresAt
		s.mu.Unlock()
		return true, nil
	}
	s.mu.Unlock()
	if !exp.Before(now) {
		return false, nil
	}
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replays[key] = expiresAt
	return true, nil
}

// neverExpires reports every recorded key as a replay.
type neverExpires struct{ *memory }

func (s neverExpires) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	return s.memory.Remember(ctx, key, expiresAt, time.Time{})
}

// expiresAtExpiry counts a record expired at exactly its expiresAt.
type expiresAtExpiry struct{ *memory }

func (s expiresAtExpiry) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	return s.memory.Remember(ctx, key, expiresAt, now.Add(time.Microsecond))
}

// replayExtends moves an alive record's expiry to the replay's expiresAt.
type replayExtends struct{ *memory }

func (s replayExtends) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	ok, err := s.memory.Remember(ctx, key, expiresAt, now)
	if err == nil && !ok {
		s.mu.Lock()
		s.replays[key] = expiresAt
		s.mu.Unlock()
	}
	return ok, err
}

// reviveForgets reports an expired record true but does not record the
// key again.
type reviveForgets struct{ *memory }

func (s reviveForgets) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.replays[key]
	if ok && !exp.Before(now) {
		return false, nil
	}
	if !ok {
		s.replays[key] = expiresAt
	} else {
		delete(s.replays, key)
	}
	return true, nil
}

// expiredTrueBlind reports true for an expiresAt before now without
// looking at the key's record.
type expiredTrueBlind struct{ *memory }

func (s expiredTrueBlind) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	if expiresAt.Before(now) {
		return true, nil
	}
	return s.memory.Remember(ctx, key, expiresAt, now)
}

// cStringKey ends keys at their first NUL byte.
type cStringKey struct{ *memory }

func (s cStringKey) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	if i := strings.IndexByte(key, 0); i >= 0 {
		key = key[:i]
	}
	return s.memory.Remember(ctx, key, expiresAt, now)
}

// noPrune never deletes anything, as a set with TTLs may.
type noPrune struct{ *memory }

func (s noPrune) PruneReplays(ctx context.Context, now time.Time) error {
	return ctx.Err()
}

// pruneAtNow deletes the records expiring at now too.
type pruneAtNow struct{ *memory }

func (s pruneAtNow) PruneReplays(ctx context.Context, now time.Time) error {
	return s.memory.PruneReplays(ctx, now.Add(time.Microsecond))
}

// ignoreCtxReplay runs every call with a live context.
type ignoreCtxReplay struct{ *memory }

func (s ignoreCtxReplay) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	return s.memory.Remember(context.Background(), key, expiresAt, now)
}

func (s ignoreCtxReplay) PruneReplays(ctx context.Context, now time.Time) error {
	return s.memory.PruneReplays(context.Background(), now)
}
