// Package file is the edge between promoguard and files: it reads NDJSON
// event files as an engine.Source (bounded lines, an oversize line as a
// dead letter, a byte order mark and blank or # comment lines skipped, each
// record named file:line), writes output records as NDJSON or as an
// aligned table, and renders what replay says when it is done (the
// summary, as text or JSON, and the first rule errors) and the progress
// bar it shows meanwhile.
//
// It owns no evaluation: the engine's Driver runs the loop. It must never
// import cmd or a Kafka client; flags and exit codes belong to cmd.
package file
