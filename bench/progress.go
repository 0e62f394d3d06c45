package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress shows how far a run is and when it should end: a redrawn bar
// with an ETA on a terminal, plain lines otherwise (CI logs).
//
// The plan is a total of estimated seconds; each step adds its estimate
// when it ends, and the bar creeps through the running step by the time it
// has taken. The ETA scales what is left by how the estimates have fared.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time

	mu        sync.Mutex
	total     float64 // estimated seconds of the whole plan
	done      float64 // estimated seconds of the finished steps
	label     string
	stepEst   float64
	stepStart time.Time
	stop      chan struct{}
	stopped   chan struct{}
	lastLen   int
}

func newProgress(w io.Writer, total float64) *progress {
	p := &progress{w: w, total: total, start: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		go p.redraw()
	} else {
		close(p.stopped)
	}
	return p
}

// step starts a step of est estimated seconds, ending the previous one.
func (p *progress) step(label string, est float64) {
	p.mu.Lock()
	p.endLocked()
	p.label, p.stepEst, p.stepStart = label, est, time.Now()
	line := p.lineLocked()
	p.mu.Unlock()
	if !p.tty {
		fmt.Fprintln(p.w, line)
	}
}

// note prints a line of its own (above the bar on a terminal).
func (p *progress) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\r%s\n", strings.Repeat(" ", p.lastLen), msg)
		p.lastLen = 0
		return
	}
	fmt.Fprintln(p.w, msg)
}

func (p *progress) endLocked() {
	if p.label != "" {
		p.done += p.stepEst
	}
	p.label, p.stepEst = "", 0
}

// finish ends the last step and stops redrawing.
func (p *progress) finish() {
	p.mu.Lock()
	p.endLocked()
	p.mu.Unlock()
	if p.tty {
		close(p.stop)
		<-p.stopped
		p.mu.Lock()
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.lastLen))
		p.mu.Unlock()
	}
	fmt.Fprintf(p.w, "done in %s\n", time.Since(p.start).Round(time.Second))
}

func (p *progress) redraw() {
	defer close(p.stopped)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		line := p.lineLocked()
		pad := max(0, p.lastLen-len([]rune(line)))
		fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
		p.lastLen = len([]rune(line))
		p.mu.Unlock()
	}
}

// lineLocked is the progress line: bar, percentage, elapsed, ETA, step.
func (p *progress) lineLocked() string {
	frac := 0.0
	if p.total > 0 {
		cur := 0.0
		if p.label != "" {
			cur = min(time.Since(p.stepStart).Seconds(), 0.95*p.stepEst)
		}
		frac = min(1, (p.done+cur)/p.total)
	}
	elapsed := time.Since(p.start)
	eta := "?"
	if frac > 0.02 {
		eta = (time.Duration(elapsed.Seconds()*(1-frac)/frac) * time.Second).Round(time.Second).String()
	}
	const width = 24
	filled := int(frac * width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	label := p.label
	if len(label) > 60 {
		label = label[:60]
	}
	if !p.tty {
		return fmt.Sprintf("[%3.0f%%] %s  (elapsed %s, ETA %s)", 100*frac, label, elapsed.Round(time.Second), eta)
	}
	return fmt.Sprintf("%s %3.0f%%  %s elapsed, ETA %s  %s", bar, 100*frac, elapsed.Round(time.Second), eta, label)
}
