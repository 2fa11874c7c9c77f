package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/promoguard/promoguard/rules"
)

type checkCmd struct {
	Paths  []string `arg:"" name:"path" help:"Rule files, or directories of *.yaml and *.yml rule files."`
	Format string   `enum:"text,json" default:"text" help:"Output format: text or json."`
}

// groupSummary is what check says of a valid group.
type groupSummary struct {
	Name   string         `json:"name"`
	File   string         `json:"file"`
	Rules  int            `json:"rules"`
	Scopes map[string]int `json:"scopes"`
	Reads  []string       `json:"reads"` // facts read by conditions, bounds and messages
}

type checkReport struct {
	Valid        bool           `json:"valid"`
	RulesVersion string         `json:"rules_version,omitempty"`
	Files        []string       `json:"files,omitempty"`
	Groups       []groupSummary `json:"groups,omitempty"`
	Errors       rules.Errors   `json:"errors"`
}

func (c *checkCmd) Run(e env) error {
	rs, err := rules.Load(c.Paths, nil)
	rep := checkReport{Valid: err == nil}
	if err != nil {
		var list rules.Errors
		if !errors.As(err, &list) {
			return err
		}
		rep.Errors = list
	} else {
		rep.RulesVersion, rep.Files = rs.Version, rs.Files
		for _, g := range rs.Groups {
			rep.Groups = append(rep.Groups, summarize(g))
		}
	}
	if c.Format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		c.text(e, rep)
	}
	if !rep.Valid {
		return exitError{1}
	}
	return nil
}

func (c *checkCmd) text(e env, rep checkReport) {
	if !rep.Valid {
		fmt.Fprint(e.stderr, rep.Errors.Pretty())
		fmt.Fprintf(e.stderr, "%d error%s\n", len(rep.Errors), plural(len(rep.Errors)))
		return
	}
	nrules := 0
	for _, g := range rep.Groups {
		nrules += g.Rules
		var scopes []string
		for _, s := range []string{"calendar", "now", "promo"} {
			if n := g.Scopes[s]; n > 0 {
				scopes = append(scopes, fmt.Sprintf("%s %d", s, n))
			}
		}
		fmt.Fprintf(e.stdout, "%s: group %s: %d rule%s (%s); reads %s\n",
			g.File, g.Name, g.Rules, plural(g.Rules), strings.Join(scopes, ", "), strings.Join(g.Reads, ", "))
	}
	fmt.Fprintf(e.stdout, "ok: %d group%s, %d rule%s in %d file%s (rules_version %s)\n",
		len(rep.Groups), plural(len(rep.Groups)), nrules, plural(nrules), len(rep.Files), plural(len(rep.Files)), rep.RulesVersion)
}

func summarize(g *rules.Group) groupSummary {
	s := groupSummary{Name: g.Name, File: g.File, Rules: len(g.Rules), Scopes: map[string]int{}}
	reads := map[string]bool{}
	for _, r := range g.Rules {
		s.Scopes[r.Scope.String()]++
		for _, e := range []*rules.Expr{r.If, r.Floor, r.Ceiling} {
			if e != nil {
				for _, p := range e.Paths {
					reads[p] = true
				}
			}
		}
		if r.Message != nil {
			for _, p := range r.Message.Paths {
				reads[p] = true
			}
		}
	}
	for p := range reads {
		s.Reads = append(s.Reads, p)
	}
	sort.Strings(s.Reads)
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
