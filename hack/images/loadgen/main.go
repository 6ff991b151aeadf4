// loadgen: a closed-loop HTTPS load generator for the data-plane benchmark (test/bench/dataplane.ts).
// C workers each send one request at a time over kept-alive connections for D, after a warm-up, and
// one JSON line reports the successful requests per second and the latency percentiles.
//
//	loadgen -url https://shop.example/ -connect 10.97.0.5:443 -ca /ca/ca.crt -c 8 -d 10s
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

type report struct {
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	FirstError  string  `json:"firstError,omitempty"`
	Concurrency int     `json:"concurrency"`
}

func main() {
	url := flag.String("url", "", "URL to request (GET)")
	connect := flag.String("connect", "", "host:port to dial instead of the URL's (like curl --resolve)")
	caFile := flag.String("ca", "", "CA bundle that must verify the server")
	certFile := flag.String("cert", "", "client certificate (PEM)")
	keyFile := flag.String("key", "", "client key (PEM)")
	serverName := flag.String("servername", "", "name to verify the server certificate against (default: the URL's host)")
	workers := flag.Int("c", 8, "concurrent workers")
	duration := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up")
	flag.Parse()
	if *url == "" || *caFile == "" {
		fail("-url and -ca are required")
	}
	client := newClient(*connect, *caFile, *certFile, *keyFile, *serverName, *workers)
	measure(client, *url, *workers, *warmup) // warm-up: connections opened, caches filled; discarded
	fmt.Println(string(must(json.Marshal(measure(client, *url, *workers, *duration)))))
}

func newClient(connect, caFile, certFile, keyFile, serverName string, workers int) *http.Client {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(must(os.ReadFile(caFile))) {
		fail("no certificate in " + caFile)
	}
	config := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		config.Certificates = []tls.Certificate{must(tls.LoadX509KeyPair(certFile, keyFile))}
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		TLSClientConfig:     config,
		MaxIdleConnsPerHost: workers,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if connect != "" {
				addr = connect
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

// once sends one request and reads the whole body; only a 200 counts.
func once(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func measure(client *http.Client, url string, workers int, d time.Duration) report {
	var mu sync.Mutex
	var latencies []time.Duration
	errors, firstError := 0, ""
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t := time.Now()
				err := once(client, url)
				took := time.Since(t)
				mu.Lock()
				if err != nil {
					errors++
					if firstError == "" {
						firstError = err.Error()
					}
				} else {
					latencies = append(latencies, took)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return report{
		Requests:    len(latencies),
		Errors:      errors,
		Seconds:     elapsed,
		RPS:         float64(len(latencies)) / elapsed,
		P50Ms:       percentileMs(latencies, 0.50),
		P99Ms:       percentileMs(latencies, 0.99),
		FirstError:  firstError,
		Concurrency: workers,
	}
}

func percentileMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func must[T any](v T, err error) T {
	if err != nil {
		fail(err.Error())
	}
	return v
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "loadgen:", message)
	os.Exit(2)
}
