// Package config is the configuration of the daemon (`promoguard run`): its
// schema, its defaults, the YAML config file with positions, the layering of
// flags, environment, file and defaults, and validation that reports every
// problem with where its value came from.
//
// Every setting is declared once, in Daemon: its yaml tag is the config
// file key, and its kong tags derive the flag and PROMOGUARD_* variable from
// that key. The defaults are those of the libraries that use the settings
// (connectors/kafka above all), handed to kong as variables by Vars, so
// that --help shows the values the daemon really uses.
//
// It must never parse os.Args, read the environment (kong does, in cmd)
// or start anything: cmd/promoguard embeds Daemon in its run command and
// does that wiring. It imports connectors/kafka and connectors/embedded for
// their defaults and types, and never cmd.
package config
