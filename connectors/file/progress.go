package file

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// IsTerminal says whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// NewBar returns a progress bar of the bytes read, out of the total size
// of the files when every size is known; nil when the files are empty.
func NewBar(w io.Writer, files []*Input) *progressbar.ProgressBar {
	var total int64
	for _, f := range files {
		if f.Size < 0 {
			total = -1
			break
		}
		total += f.Size
	}
	if total == 0 {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("replay"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// countingReader moves the progress bar by the bytes read.
type countingReader struct {
	r   io.Reader
	bar *progressbar.ProgressBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bar.Add64(int64(n))
	return n, err
}

// PhaseBar shows one progress bar per phase of a long job, counting
// events (a bench.Progress).
type PhaseBar struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

// NewPhaseBar returns a PhaseBar writing to w.
func NewPhaseBar(w io.Writer) *PhaseBar { return &PhaseBar{w: w} }

// Phase ends the bar of the previous phase and starts one of total events.
func (p *PhaseBar) Phase(name string, total int64) {
	p.Finish()
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-12s", name)),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// Done moves the bar to n events done.
func (p *PhaseBar) Done(n int64) {
	if p.bar != nil {
		p.bar.Set64(n)
	}
}

// Finish clears the bar.
func (p *PhaseBar) Finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}
