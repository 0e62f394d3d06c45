package bench

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd"
)

// The users run (issue #19, item 1, its other half): how the cost of a
// login and of a refresh grows with the number of users and refresh
// families in the store. For each SQL store, one fresh store is filled to
// each size in turn through the store package (CreateUser, CreateFamily;
// never HTTP, never SQL of the bench's own), and at each size one node
// serves POST /v1/login over users picked at random from the whole
// population, then POST /oauth2/token grant_type=refresh_token over
// families picked at random from the whole population. Beside the logins,
// the in-process argon2id rate of the same moment: a login is one argon2id
// verification plus two lookups, so logins per hash is what shows whether
// the table's size reaches the request.
//
// Redis and Redis Cluster keep sessions, the revocation list and the
// limiter's counters only: users and refresh families stay in SQLite or
// PostgreSQL (--db) whatever --redis says, so the users run measures those
// two stores.

// UsersVersion is the version of the scale-users.json schema.
const UsersVersion = 1

// UsersReport is scale-users.json.
type UsersReport struct {
	Version    int       `json:"version"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Command    string    `json:"command"`
	Machine    Machine   `json:"machine"`
	Settings   Settings  `json:"settings"`
	Sizes      []int     `json:"sizes"`
	// FillerHash says how the filler users' password hash was made: one
	// argon2id hash at serve's parameters, with its own salt, shared by
	// every filler user (1 M hashes would take hours; a login reads the
	// hash it finds and costs the same whichever it is).
	FillerHash string       `json:"filler_hash"`
	Stores     []UsersStore `json:"stores"`
}

// UsersStore is one store filled to each size and measured at each.
type UsersStore struct {
	Store  string      `json:"store"`
	Status string      `json:"status"`
	Reason string      `json:"reason,omitempty"`
	Steps  []UsersStep `json:"steps,omitempty"`
	// Growth is the figures at the largest size over the smallest's.
	Growth *UsersGrowth `json:"growth,omitempty"`
}

// UsersStep is the store filled to Users users, each with one refresh
// family, and the node's figures there.
type UsersStep struct {
	Users int `json:"users"`
	// UsersSeconds and FamiliesSeconds are the fill of this step (the
	// users and families added since the previous size), in parallel
	// through the store package; PerSecond their rates.
	Inserted          int     `json:"inserted"`
	UsersSeconds      float64 `json:"users_seconds"`
	UsersPerSecond    float64 `json:"users_per_second"`
	FamiliesSeconds   float64 `json:"families_seconds"`
	FamiliesPerSecond float64 `json:"families_per_second"`
	// StoreBytes is the SQLite file and its WAL after the fill; zero
	// where not measured (PostgreSQL).
	StoreBytes int64 `json:"store_bytes,omitempty"`
	// StartMs is the node's start on the filled store, to its "authd
	// listening on" line.
	StartMs float64 `json:"start_ms"`
	// LoadAvg is the machine's 1, 5 and 15-minute load average (from
	// /proc/loadavg) as the measurement of this step began.
	LoadAvg []float64 `json:"load_avg,omitempty"`
	// Argon2 is the in-process argon2id rate over windows interleaved
	// with those of Logins (see usersMeasure).
	Argon2 Argon2 `json:"argon2"`
	// Logins is POST /v1/login by the run's clients, each login as a
	// filler user picked uniformly at random; LoginsPerHash is Logins.RPS
	// over Argon2.PerSecond.
	Logins        Stats   `json:"logins"`
	LoginsPerHash float64 `json:"logins_per_hash"`
	// Refreshes is POST /oauth2/token grant_type=refresh_token, each a
	// rotation of a filler family picked uniformly at random (each client
	// draws from its own share of the families, so that no two clients
	// ever present one family's token: that would be reuse).
	Refreshes Stats `json:"refreshes"`
}

// UsersGrowth compares the largest size with the smallest: CPU per
// request and p99 to ÷ from, rate from ÷ to (> 1 is slower).
type UsersGrowth struct {
	From          int     `json:"from"`
	To            int     `json:"to"`
	LoginCPU      float64 `json:"login_cpu_us"`
	LoginP99      float64 `json:"login_p99_ms"`
	LoginRate     float64 `json:"login_rps"`
	LoginsPerHash float64 `json:"logins_per_hash"` // to's logins per hash ÷ from's: 1 is "size does not matter"
	RefreshCPU    float64 `json:"refresh_cpu_us"`
	RefreshP99    float64 `json:"refresh_p99_ms"`
	RefreshRate   float64 `json:"refresh_rps"`
	// MeetsGoal: CPU per login and per refresh both ≤ ScaleGoal.
	MeetsGoal bool `json:"meets_goal"`
}

// usersStores are the stores that keep users and refresh families.
var usersStores = []string{"sqlite", "postgres"}

// fillerPassword is every filler user's password.
const fillerPassword = "authd-bench filler password"

// RunUsers runs the users measurement on the stores of cfg.Modes (matched
// against users/sqlite and users/postgres; both when empty) at cfg.Users
// users, and writes scale-users.json, .csv, .md and .svg into cfg.Out.
func RunUsers(ctx context.Context, cfg Config) (*UsersReport, error) {
	cfg.Defaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	sizes := slices.Clone(cfg.Users)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	if len(sizes) == 0 || sizes[0] < cfg.Concurrency {
		return nil, fmt.Errorf("--users: want sizes of at least --concurrency (%d): each client rotates its own share of the families", cfg.Concurrency)
	}
	stores := usersStoresOf(cfg.Modes)
	if len(stores) == 0 {
		return nil, fmt.Errorf("--modes %s matches no users mode; the users run measures users/sqlite and users/postgres", strings.Join(cfg.Modes, ","))
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	var modes []Mode
	for _, st := range stores {
		modes = append(modes, Mode{Store: st})
	}
	r.checkStores(ctx, modes)
	rep := &UsersReport{Version: UsersVersion, StartedAt: time.Now().UTC(), Command: redactCommand(cfg.Command),
		Machine: readMachine(), Sizes: sizes, Settings: Settings{Concurrency: cfg.Concurrency, PhaseSeconds: cfg.Phase.Seconds(),
			WarmupSeconds: cfg.Warmup.Seconds(), Nodes: 1}}
	total := 1.0
	for _, st := range stores {
		if r.skipReason(Mode{Store: st}) == "" {
			total += float64(len(sizes))*(argonEstimate(cfg)+2*r.phaseSeconds()+1) + usersFillEstimate(sizes[len(sizes)-1])
		}
	}
	r.prog = newProgress(cfg.Progress, total)

	r.prog.step("hashing the filler users' password once (argon2id, serve's parameters)", 0.1)
	h := newServeHasher()
	hash, err := h.Hash(ctx, fillerPassword)
	if err != nil {
		return nil, fmt.Errorf("hashing the filler password: %v", err)
	}
	p := h.Params()
	rep.FillerHash = fmt.Sprintf("one argon2id hash (m=%d KiB, t=%d, p=%d, its own random salt) shared by every filler user", p.Memory, p.Time, p.Threads)

	for _, st := range stores {
		rep.Stores = append(rep.Stores, r.usersStore(ctx, st, sizes, hash))
	}
	r.prog.finish()
	rep.FinishedAt = time.Now().UTC()
	if err := writeUsers(cfg.Out, rep); err != nil {
		return rep, err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return rep, fmt.Errorf("the run did not finish within --timeout %s; partial results are in %s", cfg.Timeout, cfg.Out)
	}
	return rep, ctx.Err()
}

// usersStoresOf keeps the stores of usersStores that filters select (all
// of them when there is no filter).
func usersStoresOf(filters []string) []string {
	if len(filters) == 0 {
		return slices.Clone(usersStores)
	}
	var out []string
	for _, st := range usersStores {
		for _, f := range filters {
			if f = strings.TrimSpace(f); f != "" && strings.Contains("users/"+st, f) {
				out = append(out, st)
				break
			}
		}
	}
	return out
}

// usersFillEstimate is the estimated seconds of filling a store to n
// users and n families, for the progress: SQLite's pace, the slowest.
func usersFillEstimate(n int) float64 { return float64(n)/20000 + float64(n)/10000 }

// usersStore fills one fresh store of kind st to each size and measures
// logins and refreshes at each.
func (r *runner) usersStore(ctx context.Context, st string, sizes []int, hash string) UsersStore {
	out := UsersStore{Store: st, Status: StatusOK}
	fail := func(status, why string) UsersStore {
		out.Status, out.Reason = status, oneLine(why)
		r.prog.note("users %s: %s: %s", st, status, out.Reason)
		out.Growth = usersGrowth(out.Steps)
		return out
	}
	m := Mode{Name: "users/" + st, Model: "session", Store: st, Cache: true}
	if why := r.skipReason(m); why != "" {
		return fail(StatusSkipped, why)
	}
	slug := "users_" + st
	dir := filepath.Join(r.tmp, slug)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(StatusFailed, err.Error())
	}
	storeArgs, cleanup, err := r.freshStore(ctx, m, dir)
	if err != nil {
		return fail(StatusFailed, err.Error())
	}
	defer cleanup()
	// Opening the store migrates it, as a node's start would.
	store, size, closeStore, err := openSQLStore(ctx, st, storeArgs)
	if err != nil {
		return fail(StatusFailed, err.Error())
	}
	defer closeStore()
	args := append(append(nodeArgs(m, nodeSettings{}), "--encryption-key-file", filepath.Join(dir, "authd.key")), storeArgs...)

	// live[w] holds the current token of each family that client w has
	// rotated, across the sizes: a family rotated at a smaller size no
	// longer answers to its first token (presenting it would be reuse).
	live := make([]map[int]string, r.cfg.Concurrency)
	for w := range live {
		live[w] = map[int]string{}
	}
	have := 0
	for _, n := range sizes {
		r.prog.step(fmt.Sprintf("users %s: filling to %d users and %d refresh families", st, n, n), usersFillEstimate(n-have))
		step, err := fillUsers(ctx, store, have, n, st, hash)
		if err != nil {
			return fail(StatusFailed, err.Error())
		}
		step.StoreBytes = size(ctx)
		r.prog.note("users %s: %d users in %.1f s (%.0f/s), %d refresh families in %.1f s (%.0f/s)", st, step.Inserted,
			step.UsersSeconds, step.UsersPerSecond, step.Inserted, step.FamiliesSeconds, step.FamiliesPerSecond)
		have = n
		if err := r.usersMeasure(ctx, &step, slug, args, live); err != nil {
			return fail(StatusFailed, err.Error())
		}
		out.Steps = append(out.Steps, step)
	}
	out.Growth = usersGrowth(out.Steps)
	return out
}

// usersMeasure starts a node on the filled store and measures argon2id,
// logins and refreshes into step. live holds the tokens of the families
// rotated so far, one map per client (see below).
func (r *runner) usersMeasure(ctx context.Context, step *UsersStep, slug string, args []string, live []map[int]string) error {
	n := step.Users
	cl := &cluster{}
	if err := r.startNodes(ctx, cl, fmt.Sprintf("%s_%d", slug, n), args, 1); err != nil {
		r.stopCluster(cl)
		return err
	}
	defer r.stopCluster(cl)
	nd := cl.nodes[0]
	step.StartMs = ms(nd.started)
	step.LoadAvg = loadAvg()

	conc := r.cfg.Concurrency
	rngs := make([]*rand.Rand, conc)
	for w := range rngs {
		rngs[w] = rand.New(rand.NewPCG(uint64(n), uint64(w)))
	}
	login := func(ctx context.Context, w int) (bool, int) {
		_, st, err := r.api.login(ctx, nd.base, fillerEmail(rngs[w].IntN(n)), fillerPassword)
		return err == nil, st
	}
	// Client w rotates the families i ≡ w (mod conc) only; live[w] holds
	// the current token of each family it has rotated (the others still
	// hold their first, fillerToken(i)); a family whose rotation failed
	// is left alone (""), its token's state unknown.
	refresh := func(ctx context.Context, w int) (bool, int) {
		share := (n - w + conc - 1) / conc
		i := w + conc*rngs[w].IntN(share)
		tok, ok := live[w][i]
		if !ok {
			tok = fillerToken(i)
		}
		if tok == "" {
			return false, 0 // a family spoiled by an earlier failure
		}
		p, st, err := r.api.refresh(ctx, nd.base, tok)
		if err != nil || p.Refresh == "" {
			live[w][i] = ""
			return false, st
		}
		live[w][i] = p.Refresh
		return true, st
	}

	// The three measurements run in rounds of short windows (argon2id and
	// logins in alternating order), each adding up to --phase: the machine
	// is shared and its speed drifts, and logins per hash is only worth
	// reading when both rates saw the same machine.
	rounds := r.rounds()
	warm := max(r.cfg.Warmup/time.Duration(rounds), 50*time.Millisecond)
	win := r.cfg.Phase / time.Duration(rounds)
	var logins, refreshes phaseData
	var argon Argon2
	for k := range rounds {
		r.prog.step(fmt.Sprintf("users at %d: argon2id, logins over random users, refreshes over random families (round %d of %d)", n, k+1, rounds),
			(2*r.phaseSeconds()+argonEstimate(r.cfg))/float64(rounds))
		measureLogins := func() { logins.add(closedLoopRaw(ctx, conc, warm, win, cl.nodes, login)) }
		measureArgon := func() { argon = addArgon2(argon, argon2Rate(ctx, max(win, 500*time.Millisecond))) }
		if k%2 == 0 {
			measureArgon()
			measureLogins()
		} else {
			measureLogins()
			measureArgon()
		}
		refreshes.add(closedLoopRaw(ctx, conc, warm, win, cl.nodes, refresh))
	}
	step.Argon2, step.Logins, step.Refreshes = argon, logins.stats(), refreshes.stats()
	if step.Argon2.PerSecond > 0 {
		step.LoginsPerHash = round3(step.Logins.RPS / step.Argon2.PerSecond)
	}
	r.prog.note("users at %d: %.1f logins/s (argon2id %.1f/s in process), %.0f refreshes/s, load average %v", n,
		step.Logins.RPS, step.Argon2.PerSecond, step.Refreshes.RPS, step.LoadAvg)
	if nd.exited() {
		return fmt.Errorf("%s died during the run: %s", nd.name, lastLine(nd.log))
	}
	return ctx.Err()
}

// addArgon2 is the rate of two windows together.
func addArgon2(a, b Argon2) Argon2 {
	if a.Workers == 0 {
		return b
	}
	a.Hashes += b.Hashes
	a.Seconds = round3(a.Seconds + b.Seconds)
	a.PerSecond = 0
	if a.Seconds > 0 {
		a.PerSecond = round1(float64(a.Hashes) / a.Seconds)
	}
	return a
}

// fillUsers inserts the filler users numbered from to to-1, then a refresh
// family for each, through the store package.
func fillUsers(ctx context.Context, store sqlStore, from, to int, st, hash string) (UsersStep, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	step := UsersStep{Users: to, Inserted: to - from}
	sec, err := fillRange(ctx, from, to, fillWorkers(st), func(i int) error {
		if err := store.CreateUser(ctx, fillerUser(i, hash, now)); err != nil {
			return fmt.Errorf("inserting user %d: %w", i, err)
		}
		return nil
	})
	if err != nil {
		return step, err
	}
	step.UsersSeconds, step.UsersPerSecond = round3(sec), round1(float64(to-from)/sec)
	sec, err = fillRange(ctx, from, to, fillWorkers(st), func(i int) error {
		f, tokHash := fillerFamily(i, now)
		if err := store.CreateFamily(ctx, f, tokHash); err != nil {
			return fmt.Errorf("inserting refresh family %d: %w", i, err)
		}
		return nil
	})
	if err != nil {
		return step, err
	}
	step.FamiliesSeconds, step.FamiliesPerSecond = round3(sec), round1(float64(to-from)/sec)
	return step, nil
}

// fillerEmail is the i-th filler user's address (normalised: lower case).
func fillerEmail(i int) string { return fmt.Sprintf("u%d@users.authd-bench.test", i) }

func fillerUserID(i int) string { return fmt.Sprintf("bu%010d", i) }

// fillerUser is the i-th filler user: verified, unlocked, no roles, the
// shared password hash.
func fillerUser(i int, hash string, now time.Time) *authd.User {
	return &authd.User{ID: fillerUserID(i), Email: fillerEmail(i), PasswordHash: hash, Roles: []string{},
		EmailVerified: true, CreatedAt: now, UpdatedAt: now}
}

// fillerToken is the first refresh token of the i-th filler family: 32
// bytes derived from i, base64url as authd makes them, so that the bench
// knows it while the store keeps only its hash.
func fillerToken(i int) string {
	h := sha256.Sum256([]byte("authd-bench-users:token:" + strconv.Itoa(i)))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// fillerFamily is the i-th filler family, of the i-th filler user, as the
// password grant starts one (token.Service.IssuePair): generation 1, the
// nodes' default audience, 14 days to live, and the SHA-256 of its first
// token (what token.hashRefresh stores).
func fillerFamily(i int, now time.Time) (*authd.RefreshFamily, []byte) {
	secret := sha256.Sum256([]byte("authd-bench-users:secret:" + strconv.Itoa(i)))
	f := &authd.RefreshFamily{ID: fmt.Sprintf("bf%010d", i), UserID: fillerUserID(i), Audience: []string{"authd"},
		Secret: secret[:], Generation: 1, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(14 * 24 * time.Hour)}
	h := sha256.Sum256([]byte(fillerToken(i)))
	return f, h[:]
}

// loadAvg is the 1, 5 and 15-minute load average, nil where
// /proc/loadavg is not readable.
func loadAvg() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil
	}
	out := make([]float64, 3)
	for i := range out {
		if out[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return nil
		}
	}
	return out
}

// usersGrowth compares the last step with the first.
func usersGrowth(steps []UsersStep) *UsersGrowth {
	if len(steps) < 2 {
		return nil
	}
	a, b := steps[0], steps[len(steps)-1]
	g := &UsersGrowth{From: a.Users, To: b.Users}
	ratio := func(x, y float64) float64 {
		if y <= 0 || x <= 0 {
			return 0
		}
		return round3(x / y)
	}
	cpuRatio := func(x, y Stats) float64 {
		if x.CPUPerReqUs == nil || y.CPUPerReqUs == nil {
			return 0
		}
		return ratio(*x.CPUPerReqUs, *y.CPUPerReqUs)
	}
	g.LoginCPU, g.LoginP99, g.LoginRate = cpuRatio(b.Logins, a.Logins), ratio(b.Logins.P99Ms, a.Logins.P99Ms), ratio(a.Logins.RPS, b.Logins.RPS)
	g.LoginsPerHash = ratio(b.LoginsPerHash, a.LoginsPerHash)
	g.RefreshCPU, g.RefreshP99, g.RefreshRate = cpuRatio(b.Refreshes, a.Refreshes), ratio(b.Refreshes.P99Ms, a.Refreshes.P99Ms), ratio(a.Refreshes.RPS, b.Refreshes.RPS)
	g.MeetsGoal = g.LoginCPU > 0 && g.LoginCPU <= ScaleGoal && g.RefreshCPU > 0 && g.RefreshCPU <= ScaleGoal
	return g
}
