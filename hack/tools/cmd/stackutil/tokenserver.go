package main

// stackutil tokenserver: the token service of the stack's token-auth
// registry, as Docker Hub, ghcr, quay, Harbor and ECR work: the registry
// answers 401 with a Bearer challenge, the client asks here for a token
// (basic credentials, checked once per token, not once per request), and
// presents the JWT to the registry, which verifies it against the signing
// certificate (distribution's auth: token, rootcertbundle).
//
//	stackutil tokenserver ADDR HTPASSWD KEY CERT TLSCERT TLSKEY ISSUER SERVICE ACCESSLOG
//
// The protocol is distribution's token spec: GET /token?service=…&scope=
// repository:NAME:pull,push (scope repeated); the answer is {token,
// access_token, expires_in, issued_at}. A known user gets every action asked
// for on every repository; an anonymous request gets a token granting
// nothing; a wrong password gets 401.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"
)

const tokenLifetime = 5 * time.Minute

type tokenServer struct {
	users   map[string][]byte // user → bcrypt hash
	signer  jose.Signer
	issuer  string
	service string
	logMu   sync.Mutex
	log     *os.File
}

type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func runTokenServer(args []string) error {
	if len(args) != 9 {
		return errors.New("usage: stackutil tokenserver ADDR HTPASSWD KEY CERT TLSCERT TLSKEY ISSUER SERVICE ACCESSLOG")
	}
	addr, htpasswd, keyFile, certFile, tlsCert, tlsKey, issuer, service, accessLog := args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8]
	users, err := readHtpasswd(htpasswd)
	if err != nil {
		return err
	}
	key, err := readECKey(keyFile)
	if err != nil {
		return err
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return fmt.Errorf("%s: no PEM certificate", certFile)
	}
	// x5c names the signing certificate; the registry checks it against
	// its rootcertbundle.
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(block.Bytes)})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(accessLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	ts := &tokenServer{users: users, signer: signer, issuer: issuer, service: service, log: logFile}
	cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr: addr, Handler: ts, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	return srv.ListenAndServeTLS("", "")
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	subject := ""
	if user, pass, ok := r.BasicAuth(); ok {
		hash, known := ts.users[user]
		if !known || bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
			ts.record(r, user, http.StatusUnauthorized)
			w.Header().Set("WWW-Authenticate", `Basic realm="imgtrust-token"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
			return
		}
		subject = user
	}
	access := []resourceActions{}
	if subject != "" {
		for _, scope := range q["scope"] {
			// repository:NAME:ACTIONS, where NAME may hold a port-free path.
			typ, rest, ok := strings.Cut(scope, ":")
			i := strings.LastIndex(rest, ":")
			if !ok || i < 0 || typ != "repository" {
				continue
			}
			access = append(access, resourceActions{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")})
		}
	}
	now := time.Now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := map[string]any{
		"iss": ts.issuer, "sub": subject, "aud": q.Get("service"),
		"exp": now.Add(tokenLifetime).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": hex.EncodeToString(jti), "access": access,
	}
	payload, _ := json.Marshal(claims)
	sig, err := ts.signer.Sign(payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	token, err := sig.CompactSerialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ts.record(r, subject, http.StatusOK)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token": token, "access_token": token,
		"expires_in": int(tokenLifetime.Seconds()), "issued_at": now.UTC().Format(time.RFC3339),
	})
}

// record writes one line per token request: what the tests and the bench
// count (never the password).
func (ts *tokenServer) record(r *http.Request, user string, status int) {
	ts.logMu.Lock()
	defer ts.logMu.Unlock()
	fmt.Fprintf(ts.log, "%s token user=%q status=%d scope=%q\n", time.Now().UTC().Format(time.RFC3339Nano), user, status, strings.Join(r.URL.Query()["scope"], " "))
}

func readHtpasswd(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if user, hash, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			users[user] = []byte(hash)
		}
	}
	return users, sc.Err()
}

func readECKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an EC key", path)
	}
	return ec, nil
}
