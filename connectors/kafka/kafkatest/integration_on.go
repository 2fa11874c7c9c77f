//go:build integration

package kafkatest

// integrationBuild is true under the integration build tag: a missing
// PROMOGUARD_TEST_BROKERS is then a failure, not a skip.
const integrationBuild = true
