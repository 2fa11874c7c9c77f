package rules

import (
	"os"

	"github.com/promoguard/promoguard/internal/yamlpos"
)

// Policy is how a channel stacks its active promotions into the effective
// price (DESIGN §3). Every policy is a total function of the active
// promotions in canonical order, so none depends on arrival order. The
// engine implements them (engine/stack.go); this package names them and
// reads the channels file.
type Policy uint8

// The stacking policies. The zero value is compound, today's model.
const (
	PolicyCompound       Policy = iota // priority order, percentages compound, exclusive and stop
	PolicyBestDeal                     // only the promotion giving the lowest price (Saleor, Spree)
	PolicySequentialStop               // priority order until a stop (Magento, commercetools)
	PolicyAdditive                     // percentages add up, then amounts, then fixed prices
	PolicyCombinable                   // the best combination allowed by combines_with (Shopify)
	numPolicies
)

var policyNames = [numPolicies]string{"compound", "best_deal", "sequential_stop", "additive", "combinable"}

func (p Policy) String() string {
	if p < numPolicies {
		return policyNames[p]
	}
	return "unknown"
}

// ParsePolicy returns the policy with the given name.
func ParsePolicy(s string) (Policy, bool) {
	for i, n := range policyNames {
		if n == s {
			return Policy(i), true
		}
	}
	return 0, false
}

// PolicyNames lists the policies' names, compound first.
func PolicyNames() []string { return append([]string(nil), policyNames[:]...) }

// Channels is the stacking policy of each configured channel; a channel
// not in it stacks compound. A nil Channels is every channel compound.
type Channels map[string]Policy

// Policy is the policy of channel.
func (c Channels) Policy(channel string) Policy { return c[channel] }

// CodeUnknownPolicy is a channels file naming a policy that does not exist.
const CodeUnknownPolicy Code = "unknown_policy"

// LoadChannels reads a channels file:
//
//	channels:
//	  web:    {policy: compound}
//	  amazon: {policy: best_deal}
//
// Every problem comes back, positioned, as Errors.
func LoadChannels(path string) (Channels, error) {
	fail := func(msg string) error { return Errors{{Pos: Pos{File: path}, Code: CodeReadFile, Message: msg}} }
	// a device or a pipe (/dev/zero, a FIFO) is refused before it is read:
	// the daemon's configuration checks the file at start-up
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, fail(err.Error())
	case !st.Mode().IsRegular():
		return nil, fail("not a regular file")
	case st.Size() > maxChannelsFile:
		return nil, fail("larger than 1 MiB")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(err.Error())
	}
	return ParseChannels(path, data)
}

// maxChannelsFile bounds a channels file: a policy per channel is a line.
const maxChannelsFile = 1 << 20

// ParseChannels parses the text of a channels file named name.
func ParseChannels(name string, data []byte) (Channels, error) {
	docs, soft, hard := yamlpos.Parse(name, data)
	if hard != nil {
		return nil, withSnippets(name, data, YAMLErrors(hard))
	}
	var c errs
	c.list = YAMLErrors(soft...)
	var out Channels
	if len(docs) > 0 {
		root := docs[0]
		if root.Kind != yamlpos.Map {
			c.add(root.Pos, "", "", CodeSchema, "a channels file is a mapping with a channels key, not a %s", root.Describe())
		} else {
			out = channelsNode(root, &c)
		}
	}
	if len(c.list) > 0 {
		return nil, withSnippets(name, data, c.list)
	}
	return out, nil
}

// channelsNode reads the channels section of a mapping (a channels file, a
// rule test file, the daemon's configuration); other keys are the caller's.
func channelsNode(root *yamlpos.Node, c *errs) Channels {
	n := root.Get("channels")
	if n == nil || n.Kind == yamlpos.Null {
		return nil
	}
	if n.Kind != yamlpos.Map {
		c.add(n.Pos, "", "", CodeSchema, "channels is a mapping of channel to {policy: ...}, not a %s", n.Describe())
		return nil
	}
	out := make(Channels, len(n.Keys))
	for i, k := range n.Keys {
		v := n.Vals[i]
		if v.Kind != yamlpos.Map {
			c.add(v.Pos, "", "", CodeSchema, "channel %s: expected a mapping {policy: ...}, not a %s", k.Value, v.Describe())
			continue
		}
		for j, f := range v.Keys {
			if f.Value != "policy" {
				c.add(f.Pos, "", "", CodeUnknownField, "channel %s: unknown field %q (policy)%s", k.Value, f.Value, yamlpos.DidYouMean(f.Value, []string{"policy"}))
				continue
			}
			pv := v.Vals[j]
			if pv.Kind != yamlpos.Scalar || pv.Tag != "str" {
				c.add(pv.Pos, "", "", CodeSchema, "channel %s: policy is a string, not a %s", k.Value, pv.Describe())
				continue
			}
			p, ok := ParsePolicy(pv.Value)
			if !ok {
				c.add(pv.Pos, "", "", CodeUnknownPolicy, "channel %s: unknown policy %q (compound, best_deal, sequential_stop, additive or combinable)%s",
					k.Value, pv.Value, yamlpos.DidYouMean(pv.Value, policyNames[:]))
				continue
			}
			out[k.Value] = p
		}
		if v.Get("policy") == nil {
			c.add(v.Pos, "", "", CodeMissingField, "channel %s: policy is required", k.Value)
		}
	}
	return out
}

// ChannelsSection reads the channels section of an already parsed mapping,
// returning its problems as Errors (nil when none).
func ChannelsSection(root *yamlpos.Node) (Channels, Errors) {
	var c errs
	ch := channelsNode(root, &c)
	if len(c.list) > 0 {
		c.list.Sort()
		return nil, c.list
	}
	return ch, nil
}

func withSnippets(name string, data []byte, es Errors) Errors {
	src := yamlpos.NewSource(name, data)
	for _, e := range es {
		if e.Line > 0 {
			e.Snippet = src.Snippet(e.Pos)
		}
	}
	es.Sort()
	return es
}
