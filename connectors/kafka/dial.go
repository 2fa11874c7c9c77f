package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// ClientID is the client id promoguard's connections give the brokers, so
// that broker logs and quotas can tell them apart.
const ClientID = "promoguard"

// dialTimeout bounds connecting to a broker, TLS and SASL included.
const dialTimeout = 10 * time.Second

// Security is how promoguard connects to Kafka: plaintext (the zero
// value), TLS, SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) or SASL over TLS.
//
// Its yaml keys are tls.enable, tls.ca_file, ..., sasl.mechanism, and its
// kong flags --tls-enable, --tls-ca-file, ..., --sasl-mechanism. The env
// tags are relative (TLS_CA_FILE): embed it with an envprefix such as
// "PROMOGUARD_" (`embed:"" envprefix:"PROMOGUARD_"`), never without one.
type Security struct {
	TLS struct {
		Enable             bool   `name:"enable" env:"ENABLE" yaml:"enable" help:"Connect to the brokers over TLS."`
		CAFile             string `name:"ca-file" env:"CA_FILE" yaml:"ca_file" placeholder:"FILE" help:"PEM file of the CA certificates that sign the brokers' certificates (default: the system's)."`
		CertFile           string `name:"cert-file" env:"CERT_FILE" yaml:"cert_file" placeholder:"FILE" help:"PEM client certificate, for brokers that require TLS client authentication (with --tls-key-file)."`
		KeyFile            string `name:"key-file" env:"KEY_FILE" yaml:"key_file" placeholder:"FILE" help:"PEM private key of the client certificate."`
		InsecureSkipVerify bool   `name:"insecure-skip-verify" env:"INSECURE_SKIP_VERIFY" yaml:"insecure_skip_verify" help:"Do not verify the brokers' certificates (testing only)."`
		ServerName         string `name:"server-name" env:"SERVER_NAME" yaml:"server_name" placeholder:"NAME" help:"Host name to verify the brokers' certificates against (default: the host dialled)."`
	} `embed:"" prefix:"tls-" envprefix:"TLS_" yaml:"tls"`
	SASL struct {
		Mechanism string `name:"mechanism" env:"MECHANISM" yaml:"mechanism" placeholder:"MECH" help:"SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: no SASL)."`
		Username  string `name:"username" env:"USERNAME" yaml:"username" placeholder:"USER" help:"SASL user name."`
		Password  string `name:"password" env:"PASSWORD" yaml:"password" placeholder:"PASS" help:"SASL password; prefer the environment variable to a flag, which other users of the machine can see."`
	} `embed:"" prefix:"sasl-" envprefix:"SASL_" yaml:"sasl"`
}

// Validate checks the settings without reading any file, and returns every
// problem at once, each naming its config key.
func (s Security) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	t := s.TLS
	if !t.Enable {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"tls.ca_file", t.CAFile != ""}, {"tls.cert_file", t.CertFile != ""}, {"tls.key_file", t.KeyFile != ""},
			{"tls.insecure_skip_verify", t.InsecureSkipVerify}, {"tls.server_name", t.ServerName != ""},
		} {
			if f.set {
				bad("%s is set but tls.enable is false: enable TLS, or remove %s", f.key, f.key)
			}
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		bad("tls.cert_file and tls.key_file go together: set both for TLS client authentication, or neither")
	}
	mech, err := normalizeMechanism(s.SASL.Mechanism)
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case err != nil:
	case mech == "" && (s.SASL.Username != "" || s.SASL.Password != ""):
		bad("sasl.username or sasl.password is set but sasl.mechanism is empty: set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	case mech != "":
		if s.SASL.Username == "" {
			bad("sasl.mechanism is %s but sasl.username is empty", mech)
		}
		if s.SASL.Password == "" {
			bad("sasl.mechanism is %s but sasl.password is empty", mech)
		}
	}
	return errors.Join(errs...)
}

// Warnings are settings that work but that an operator should know about.
func (s Security) Warnings() []string {
	var w []string
	if s.TLS.Enable && s.TLS.InsecureSkipVerify {
		w = append(w, "tls.insecure_skip_verify is set: the brokers' certificates are not verified")
	}
	if mech, _ := normalizeMechanism(s.SASL.Mechanism); mech == SASLPlain && !s.TLS.Enable {
		w = append(w, "sasl.mechanism PLAIN without TLS sends the password in clear text")
	}
	return w
}

// Enabled says whether anything but plaintext is configured.
func (s Security) Enabled() bool { return s.TLS.Enable || s.SASL.Mechanism != "" }

func normalizeMechanism(m string) (string, error) {
	switch u := strings.ToUpper(strings.TrimSpace(m)); u {
	case "":
		return "", nil
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		return u, nil
	default:
		return "", fmt.Errorf("sasl.mechanism %q is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", m)
	}
}

// tlsConfig builds the TLS configuration; nil when TLS is off.
func (s Security) tlsConfig() (*tls.Config, error) {
	t := s.TLS
	if !t.Enable {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an explicit, documented opt-in
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file / tls.key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// mechanism builds the SASL mechanism; nil when SASL is off.
func (s Security) mechanism() (sasl.Mechanism, error) {
	mech, err := normalizeMechanism(s.SASL.Mechanism)
	if err != nil || mech == "" {
		return nil, err
	}
	switch mech {
	case SASLPlain:
		return plain.Mechanism{Username: s.SASL.Username, Password: s.SASL.Password}, nil
	case SASLScramSHA256:
		m, err := scram.Mechanism(scram.SHA256, s.SASL.Username, s.SASL.Password)
		if err != nil {
			return nil, fmt.Errorf("sasl: %w", err)
		}
		return m, nil
	default:
		m, err := scram.Mechanism(scram.SHA512, s.SASL.Username, s.SASL.Password)
		if err != nil {
			return nil, fmt.Errorf("sasl: %w", err)
		}
		return m, nil
	}
}

// build validates and returns the TLS config and SASL mechanism.
func (s Security) build() (*tls.Config, sasl.Mechanism, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	tc, err := s.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	m, err := s.mechanism()
	if err != nil {
		return nil, nil, err
	}
	return tc, m, nil
}

// Dialer returns a kafka-go Dialer for connections made by Conn, Reader
// and ConsumerGroup. It reads the TLS files now, so a missing or bad file
// is reported at start rather than at the first connection.
func (s Security) Dialer() (*kafka.Dialer, error) {
	tc, m, err := s.build()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		ClientID:      ClientID,
		Timeout:       dialTimeout,
		DualStack:     true,
		TLS:           tc,
		SASLMechanism: m,
	}, nil
}

// Transport returns a kafka-go Transport for Writer and Client. Each call
// returns a new one with its own connection pool and metadata cache; call
// CloseIdleConnections when done with it.
func (s Security) Transport() (*kafka.Transport, error) {
	tc, m, err := s.build()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		ClientID:    ClientID,
		DialTimeout: dialTimeout,
		TLS:         tc,
		SASL:        m,
	}, nil
}
