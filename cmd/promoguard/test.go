package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"

	"github.com/promoguard/promoguard/connectors/file"
	"github.com/promoguard/promoguard/rules"
	"github.com/promoguard/promoguard/rules/testspec"
	"github.com/promoguard/promoguard/ruletest"
)

type testCmd struct {
	Match    string   `name:"run" placeholder:"REGEX" help:"Run only the test cases whose name matches REGEX (Go regexp syntax)."`
	Format   string   `enum:"text,json" default:"text" help:"Result format on stdout: text, or json (one document, for CI)."`
	JUnit    string   `name:"junit" placeholder:"FILE" help:"Also write the results as JUnit XML to FILE."`
	Verbose  bool     `short:"v" help:"List every test case, passing ones too, the rules each fired, and every rule's coverage."`
	NoColor  bool     `name:"no-color" help:"No colours, even on a terminal (colours are also off when NO_COLOR is set)."`
	Channels string   `placeholder:"FILE" help:"Channels file: the stacking policy of each channel; a test file's own channels section overrides it channel by channel. Default: every channel compound."`
	Paths    []string `arg:"" name:"path" help:"Test files, or directories searched recursively for *_test.yaml files."`
}

// Help is the detail under the command's usage.
func (c *testCmd) Help() string {
	return `Each test case loads its rule files, feeds its events through the engine replay
and run use, in event time, and compares the alerts and corrections emitted
with its expectations (README.md, "Rule unit tests"). A failing case is shown
with what was missing, unexpected or different; the coverage line names the
loaded rules that no test made fire.

Exit status: 0 when every test passed, 1 when a test failed or none ran
(--run matched no test case), 2 when a test
or rule file could not be loaded (every problem is printed with
file:line:col) or the flags are wrong.`
}

func (c *testCmd) Run(e env) (err error) {
	var opts ruletest.Options
	if c.Match != "" {
		re, err := regexp.Compile(c.Match)
		if err != nil {
			return fmt.Errorf("--run: %v", err)
		}
		opts.Match = re.MatchString
	}
	if opts.Channels, err = loadChannels(e, c.Channels, c.Format == "json"); err != nil {
		return err
	}
	runner, err := ruletest.New(opts)
	if err != nil {
		return err
	}
	defer runner.Close()
	files, err := testspec.LoadPaths(c.Paths, nil)
	if err != nil {
		// the files that did load may have problems of their own: report
		// them too, all at once
		var list rules.Errors
		if errors.As(err, &list) {
			var more rules.Errors
			if errors.As(runner.Check(files), &more) {
				list = append(list, more...)
				list.Sort()
			}
			err = list
		}
		return c.loadErrors(e, err)
	}
	rep, err := runner.Run(files)
	if err != nil {
		return c.loadErrors(e, err)
	}
	if c.JUnit != "" {
		f, err := os.Create(c.JUnit)
		if err != nil {
			return fmt.Errorf("--junit: %v", file.PathErr(err))
		}
		werr := ruletest.WriteJUnit(f, rep)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("--junit %s: %v", c.JUnit, file.PathErr(werr))
		}
	}
	if c.Format == "json" {
		err = ruletest.WriteJSON(e.stdout, rep)
	} else if len(rep.Cases) > 0 { // with none, the "PASS: 0 passed" line would read as a pass
		color := !c.NoColor && os.Getenv("NO_COLOR") == "" && file.IsTerminal(e.stdout)
		err = ruletest.WriteText(e.stdout, rep, ruletest.TextOptions{Color: color, Verbose: c.Verbose})
	}
	if err != nil {
		return err
	}
	if len(rep.Cases) == 0 {
		// a typo in a CI filter must not pass by running nothing
		if c.Match != "" {
			fmt.Fprintf(e.stderr, "promoguard: no test case matches --run %q: nothing was tested\n", c.Match)
		} else {
			fmt.Fprintln(e.stderr, "promoguard: no test case found: nothing was tested")
		}
		return exitError{1}
	}
	if rep.Failed > 0 {
		return exitError{1}
	}
	return nil
}

// loadErrors prints the positioned errors of files that do not load and
// ends with exit status 2.
func (c *testCmd) loadErrors(e env, err error) error {
	var list rules.Errors
	if !errors.As(err, &list) {
		return err
	}
	w := e.stderr
	if c.Format == "json" {
		w = e.stdout
	}
	writeLoadErrors(w, list, c.Format == "json")
	return exitError{2}
}
