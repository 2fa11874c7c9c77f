package demo

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/connectors/embedded"
)

// StartBroker starts the embedded broker and logs how to write events to
// it (to the prices topic) and read alerts from it (the alerts topic).
func StartBroker(opts embedded.Options, prices, alerts string, log zerolog.Logger) (*embedded.Broker, error) {
	opts.AutoCreateTopics = true
	opts.Log = func(level, msg string) {
		log.Warn().Str("component", "embedded-broker").Str("level", level).Msg(msg)
	}
	b, err := embedded.Start(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	log.Info().Str("addr", b.Addr()).
		Str("produce", fmt.Sprintf("promoguard produce --brokers %s EVENTS.ndjson", b.Addr())).
		Str("kcat", fmt.Sprintf("kcat -b %s -P -t %s -K '|' -X topic.partitioner=murmur2_random", b.Addr(), prices)).
		Str("consume", fmt.Sprintf("kcat -b %s -C -t %s -f '%%k %%s\\n'", b.Addr(), alerts)).
		Msg("embedded broker started: for trying promoguard out, not for production")
	return b, nil
}
