// Package reload reloads a running daemon's rules: on demand (SIGHUP, the
// admin endpoint) and when a rule file changes, one reload at a time, and
// only when the rule set's version changed. A failed load keeps the
// previous rules running.
//
// It owns the signal and file watching of the daemon; it must never import
// cmd, and it changes rules only through the Target it is given.
package reload
