// Package browsertest starts headless Chromium for the tests that drive
// authd's pages in a real browser (chromedp): it installs Chromium once
// when it is missing, and skips the test — fails it under CI=true — when
// it cannot.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authd/authd/internal/testenv"
)

// Path is where Debian's chromium package puts the browser.
const Path = "/usr/bin/chromium"

var (
	once       sync.Once
	installErr error
)

// Need makes sure Chromium is there, running scripts/install-chromium once
// per test binary when it is not; it skips t (fails it under CI=true) when
// Chromium cannot be had, and under -short.
func Need(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped under -short")
	}
	once.Do(func() { installErr = install() })
	if installErr != nil {
		testenv.SkipOrFail(t, "browser test: Chromium is missing and could not be installed (run scripts/install-chromium as root): %v", installErr)
	}
}

func install() error {
	if _, err := os.Stat(Path); err == nil {
		return nil
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "install-chromium")).CombinedOutput()
	if err != nil {
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		return fmt.Errorf("scripts/install-chromium: %v\n%s", err, out)
	}
	if _, err := os.Stat(Path); err != nil {
		return fmt.Errorf("scripts/install-chromium ran, but %s is still missing", Path)
	}
	return nil
}

// repoRoot is the nearest directory above the test's working directory
// (its package) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Start starts a headless Chromium (after Need) with a user-data dir of
// its own — its own cookies, so two of them are two devices — and a window
// of width×height, and returns its chromedp context. The browser is
// stopped when t ends.
func Start(t *testing.T, width, height int) context.Context {
	t.Helper()
	Need(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	// Not under t.Context(): it ends before the cleanups, and the browser
	// must outlive it until the cleanup below has stopped it (its
	// user-data dir is removed after that).
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		_ = chromedp.Cancel(cctx)
		ccancel()
		cancel()
		cancelAlloc()
	})
	// NOTE: the start is not under a deadline of its own, which would end
	// the browser with it; a hung start is caught here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not start within 60s")
	}
	return ctx
}
