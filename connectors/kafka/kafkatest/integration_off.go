//go:build !integration

package kafkatest

// integrationBuild is false without the integration build tag: tests that
// need a broker skip when PROMOGUARD_TEST_BROKERS is not set.
const integrationBuild = false
