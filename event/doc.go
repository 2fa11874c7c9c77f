// Package event is promoguard's wire format (DESIGN §2 and §6): the input
// events (price, stock, promo) and their strict one-pass decoder with typed
// reason codes for every kind of bad input, and the output records (alerts,
// corrections, dead letters) with their JSON encoder and the typed states
// and reasons consumers switch on.
//
// It is a leaf: it must never import another package of promoguard, a Kafka
// client, a logging backend or net/http, and it never reads the clock (the
// decoder's future-ts check takes "now" as an option). The engine, the
// connectors and the commands all speak it; TestPurity in package rules
// enforces the imports.
package event
