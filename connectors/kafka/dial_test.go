package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func sec(mod func(*Security)) Security {
	var s Security
	if mod != nil {
		mod(&s)
	}
	return s
}

func TestSecurityValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Security
		errs []string // substrings, each expected; none: valid
	}{
		{"plaintext", Security{}, nil},
		{"tls", sec(func(s *Security) { s.TLS.Enable = true }), nil},
		{"tls client auth", sec(func(s *Security) {
			s.TLS.Enable, s.TLS.CertFile, s.TLS.KeyFile = true, "c.pem", "k.pem"
		}), nil},
		{"sasl plain", sec(func(s *Security) {
			s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = "PLAIN", "u", "p"
		}), nil},
		{"mechanism case-insensitive", sec(func(s *Security) {
			s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = "scram-sha-512", "u", "p"
		}), nil},
		{"tls files without enable", sec(func(s *Security) {
			s.TLS.CAFile, s.TLS.ServerName = "ca.pem", "kafka"
		}), []string{"tls.ca_file is set but tls.enable is false", "tls.server_name is set but tls.enable is false"}},
		{"cert without key", sec(func(s *Security) { s.TLS.Enable, s.TLS.CertFile = true, "c.pem" }),
			[]string{"tls.cert_file and tls.key_file go together"}},
		{"unknown mechanism", sec(func(s *Security) {
			s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = "GSSAPI", "u", "p"
		}), []string{`sasl.mechanism "GSSAPI" is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`}},
		{"mechanism without credentials", sec(func(s *Security) { s.SASL.Mechanism = "SCRAM-SHA-256" }),
			[]string{"sasl.username is empty", "sasl.password is empty"}},
		{"credentials without mechanism", sec(func(s *Security) { s.SASL.Username = "u" }),
			[]string{"sasl.mechanism is empty"}},
		{"all at once", sec(func(s *Security) {
			s.TLS.KeyFile, s.SASL.Mechanism = "k.pem", "OAUTHBEARER"
		}), []string{"tls.key_file is set but tls.enable is false", "go together", `"OAUTHBEARER" is not supported`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.errs)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tc.errs) {
				t.Errorf("Validate() gave %d errors, want %d:\n%v", n, len(tc.errs), err)
			}
			if _, err := tc.s.Dialer(); err == nil {
				t.Error("Dialer() accepted an invalid Security")
			}
			if _, err := tc.s.Transport(); err == nil {
				t.Error("Transport() accepted an invalid Security")
			}
		})
	}
}

func TestSecurityWarnings(t *testing.T) {
	s := sec(func(s *Security) { s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = "plain", "u", "p" })
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "clear text") {
		t.Errorf("PLAIN without TLS: warnings %q", w)
	}
	s.TLS.Enable = true
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("PLAIN over TLS: warnings %q", w)
	}
	s.TLS.InsecureSkipVerify = true
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "not verified") {
		t.Errorf("insecure: warnings %q", w)
	}
}

// pki is a CA and a server certificate for 127.0.0.1 signed by it, as PEM
// files in a temporary directory.
type pki struct {
	caFile, certFile, keyFile string
	server                    *tls.Config
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "promoguard test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kafka"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"kafka.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := pki{
		caFile:   write("ca.pem", "CERTIFICATE", caDER),
		certFile: write("cert.pem", "CERTIFICATE", der),
		keyFile:  write("key.pem", "EC PRIVATE KEY", keyDER),
	}
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	p.server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return p
}

func TestSecurityTLSFiles(t *testing.T) {
	p := newPKI(t)
	s := sec(func(s *Security) {
		s.TLS.Enable, s.TLS.CAFile, s.TLS.CertFile, s.TLS.KeyFile, s.TLS.ServerName = true, p.caFile, p.certFile, p.keyFile, "kafka.test"
	})
	d, err := s.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	if d.TLS == nil || d.TLS.RootCAs == nil || len(d.TLS.Certificates) != 1 || d.TLS.ServerName != "kafka.test" || d.TLS.MinVersion != tls.VersionTLS12 {
		t.Fatalf("dialer TLS config %+v", d.TLS)
	}
	if d.ClientID != ClientID || d.SASLMechanism != nil {
		t.Fatalf("dialer %+v", d)
	}

	for _, tc := range []struct {
		name string
		mod  func(*Security)
		want string
	}{
		{"missing CA", func(s *Security) { s.TLS.CAFile = filepath.Join(t.TempDir(), "nope.pem") }, "tls.ca_file: open"},
		{"CA not PEM", func(s *Security) { s.TLS.CAFile = p.keyFile }, "no PEM certificate found"},
		{"key does not match", func(s *Security) { s.TLS.KeyFile = p.caFile }, "tls.cert_file / tls.key_file"},
	} {
		bad := s
		tc.mod(&bad)
		if _, err := bad.Transport(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Transport() error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestSecurityAgainstBroker connects through Transport (Client) and Dialer
// (Conn) to a kfake broker that requires SASL over TLS, with each
// mechanism, and checks that wrong credentials and plaintext are refused.
func TestSecurityAgainstBroker(t *testing.T) {
	p := newPKI(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(p.server), kfake.EnableSASL(),
		kfake.Superuser(SASLPlain, "pat", "plain-pw"),
		kfake.Superuser(SASLScramSHA256, "sam", "scram256-pw"),
		kfake.Superuser(SASLScramSHA512, "sue", "scram512-pw"),
		kfake.SeedTopics(2, "secured"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]

	base := func(mech, user, pw string) Security {
		var s Security
		s.TLS.Enable, s.TLS.CAFile = true, p.caFile
		s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = mech, user, pw
		return s
	}
	try := func(s Security) (viaTransport, viaDialer error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := Partitions(ctx, []string{addr}, s, "secured")
		if err == nil && n != 2 {
			err = &MissingTopicsError{Topics: []string{"secured: wrong count"}}
		}
		viaTransport = err
		d, err := s.Dialer()
		if err != nil {
			return viaTransport, err
		}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_, err = conn.ReadPartitions("secured")
			conn.Close()
		}
		return viaTransport, err
	}
	for _, tc := range []struct {
		name string
		s    Security
		ok   bool
	}{
		{"PLAIN", base("PLAIN", "pat", "plain-pw"), true},
		{"SCRAM-SHA-256", base("scram-sha-256", "sam", "scram256-pw"), true},
		{"SCRAM-SHA-512", base("SCRAM-SHA-512", "sue", "scram512-pw"), true},
		{"wrong password", base("SCRAM-SHA-512", "sue", "nope"), false},
		{"wrong mechanism for user", base("SCRAM-SHA-256", "sue", "scram512-pw"), false},
		{"no SASL", base("", "", ""), false},
		{"no TLS", sec(func(s *Security) { s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = "PLAIN", "pat", "plain-pw" }), false},
		{"wrong CA", func() Security { s := base("PLAIN", "pat", "plain-pw"); s.TLS.CAFile = newPKI(t).caFile; return s }(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e1, e2 := try(tc.s)
			if tc.ok && (e1 != nil || e2 != nil) {
				t.Fatalf("transport: %v; dialer: %v", e1, e2)
			}
			t.Logf("transport: %v; dialer: %v", e1, e2)
			if !tc.ok && (e1 == nil || e2 == nil) {
				t.Fatalf("connected: transport error %v, dialer error %v", e1, e2)
			}
		})
	}
}
