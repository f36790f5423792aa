// Command proxy puts a loopback HTTPS proxy with a fixed per-request latency
// in front of one registry of the local stack and counts the requests it
// forwards (see package proxy). The bench points image references at it, so
// every registry request of the measured tools crosses it.
//
//	proxy -upstream https://localhost:5000 -listen 127.0.0.1:0 -latency 20ms \
//	      -cert pki/serving.crt -key pki/serving.key -ca pki/ca.crt -addr-file addr
//
// The counts are served at /_stats (JSON; ?reset=1 zeroes them) and printed as
// JSON to stdout on SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/hack/bench/proxy/proxy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

func run() error {
	upstream := flag.String("upstream", "", "registry to forward to, e.g. https://localhost:5000")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	latency := flag.Duration("latency", 20*time.Millisecond, "delay added to every request")
	certFile := flag.String("cert", "", "serving certificate (PEM); the stack's pki/serving.crt covers localhost and 127.0.0.1")
	keyFile := flag.String("key", "", "serving key (PEM)")
	caFile := flag.String("ca", "", "CA (PEM) to verify the upstream with")
	addrFile := flag.String("addr-file", "", "write the listening host:port here once serving (for -listen with port 0)")
	tokenUpstream := flag.String("token-upstream", "", "the registry's token service (its realm's scheme://host), proxied and counted too, e.g. https://localhost:5001")
	alt := flag.String("alt-upstream", "", "a second registry with the same images, used instead of -upstream (and the token service) after GET /_upstream?use=alt, until ?use=main")
	logFile := flag.String("log", "", "append one line per forwarded request to this file (arrival and answer in Unix µs, method, kind, status); also $BENCH_PROXY_LOG_DIR/<port>.log")
	flag.Parse()
	if *upstream == "" || *certFile == "" || *keyFile == "" || *caFile == "" {
		return errors.New("-upstream, -cert, -key and -ca are required")
	}
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-upstream %q: want https://host:port", *upstream)
	}
	transport, err := upstreamTransport(*caFile)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("loading -cert/-key: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	p := proxy.New(u, *latency, transport)
	if *tokenUpstream != "" {
		tu, err := url.Parse(*tokenUpstream)
		if err != nil || tu.Host == "" {
			return fmt.Errorf("-token-upstream %q: want scheme://host:port", *tokenUpstream)
		}
		p.TokenUpstream = tu
	}
	if *alt != "" {
		au, err := url.Parse(*alt)
		if err != nil || au.Host == "" {
			return fmt.Errorf("-alt-upstream %q: want https://host:port", *alt)
		}
		p.Alt = au
	}
	// localhost:PORT, the name the stack's certificate and the pull secrets use.
	addr := fmt.Sprintf("localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	if *logFile == "" && os.Getenv("BENCH_PROXY_LOG_DIR") != "" {
		*logFile = fmt.Sprintf("%s/%d.log", os.Getenv("BENCH_PROXY_LOG_DIR"), ln.Addr().(*net.TCPAddr).Port)
	}
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		p.Log = f
	}
	srv := &http.Server{
		Handler:           p,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(addr+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "proxy: %s -> %s, latency %s\n", addr, u, *latency)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(p.Snapshot(false))
}

// upstreamTransport trusts the stack's CA and keeps enough idle connections
// that the proxy itself adds no handshakes under the tools' concurrency.
func upstreamTransport(caFile string) (http.RoundTripper, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
	return t, nil
}
