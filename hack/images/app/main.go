// The e2e suite's stand-in for a user's application: plain HTTP, one row written and read per
// request, the database reached over TLS with the settings the operator injects.
//
//	GET /healthz  the process answers (liveness: no dependency)
//	GET /readyz   the database answers (readiness)
//	GET /         inserts a row through DB_WRITE_HOST, reads the count back, answers JSON
//
// Environment: PORT (8080), DB_WRITE_HOST, DB_READ_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD,
// DB_SSL_MODE (VERIFY_IDENTITY, VERIFY_CA, REQUIRED or DISABLED; default VERIFY_IDENTITY) and
// DB_SSL_CA (a PEM file). Bind address: BIND (default all interfaces).
//
// WRITE_INTERVAL (e.g. 200ms) makes it also the drills' pooled writer: every interval it inserts
// the next of rows 1, 2, ... into table WRITE_TABLE (default pooled) through the same pool, and
// prints "ack N T" for each committed row and "err T message" for each error its pool returned,
// T in seconds on the machine's boot clock (/proc/uptime, the same in every pod and on the host).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

func env(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// tlsConfig maps DB_SSL_MODE to the driver's TLS settings; VERIFY_IDENTITY checks the name too.
func tlsConfig(host string) (string, error) {
	mode := env("DB_SSL_MODE", "VERIFY_IDENTITY")
	if mode == "DISABLED" {
		return "false", nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	switch mode {
	case "REQUIRED":
		cfg.InsecureSkipVerify = true
	case "VERIFY_CA", "VERIFY_IDENTITY":
		pem, err := os.ReadFile(env("DB_SSL_CA", "/etc/webstack/db-ca/ca.crt"))
		if err != nil {
			return "", fmt.Errorf("DB_SSL_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return "", fmt.Errorf("DB_SSL_CA holds no certificate")
		}
		cfg.RootCAs = pool
		if mode == "VERIFY_CA" {
			// Chain checked, name not: the driver's VERIFY_CA.
			cfg.InsecureSkipVerify = true
			cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
				leaf, err := x509.ParseCertificate(raw[0])
				if err != nil {
					return err
				}
				_, err = leaf.Verify(x509.VerifyOptions{Roots: pool})
				return err
			}
		}
	default:
		return "", fmt.Errorf("DB_SSL_MODE %q: want VERIFY_IDENTITY, VERIFY_CA, REQUIRED or DISABLED", mode)
	}
	name := "webstack-" + host
	if err := mysql.RegisterTLSConfig(name, cfg); err != nil {
		return "", err
	}
	return name, nil
}

func open(host string) (*sql.DB, error) {
	tlsName, err := tlsConfig(host)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = os.Getenv("DB_USER")
	cfg.Passwd = os.Getenv("DB_PASSWORD")
	cfg.Net = "tcp"
	cfg.Addr = host + ":" + env("DB_PORT", "3306")
	cfg.DBName = env("DB_NAME", "app")
	cfg.TLSConfig = tlsName
	cfg.Timeout = 3 * time.Second
	cfg.ReadTimeout = 10 * time.Second
	cfg.WriteTimeout = 10 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxLifetime(time.Minute)
	return db, nil
}

// uptime is the boot clock, in seconds.
func uptime() string {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "0"
	}
	fields := strings.Fields(string(raw))
	if len(fields) == 0 {
		return "0"
	}
	return fields[0]
}

// writeLoop inserts rows 1, 2, ... through the pool, one every `every`, as an application would:
// a connection that returns an error is kept unless the driver finds it broken.
func writeLoop(db *sql.DB, table string, every time.Duration) {
	create := "CREATE TABLE IF NOT EXISTS " + table + " (id BIGINT PRIMARY KEY)"
	for {
		if _, err := db.Exec(create); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	fmt.Println("ready")
	for i := 1; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_, err := db.ExecContext(ctx, "INSERT INTO "+table+" (id) VALUES (?)", i)
		cancel()
		if err != nil {
			fmt.Printf("err %s %s\n", uptime(), strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Printf("ack %d %s\n", i, uptime())
		}
		time.Sleep(every)
	}
}

func main() {
	writer, err := open(env("DB_WRITE_HOST", "127.0.0.1"))
	if err != nil {
		log.Fatal(err)
	}
	if every := os.Getenv("WRITE_INTERVAL"); every != "" {
		interval, err := time.ParseDuration(every)
		if err != nil {
			log.Fatalf("WRITE_INTERVAL: %v", err)
		}
		go writeLoop(writer, env("WRITE_TABLE", "pooled"), interval)
	}
	hostname, _ := os.Hostname()
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := writer.PingContext(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if _, err := writer.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS visits (id BIGINT AUTO_INCREMENT PRIMARY KEY, pod VARCHAR(253) NOT NULL, at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))"); err != nil {
			http.Error(w, "create: "+err.Error(), http.StatusBadGateway)
			return
		}
		res, err := writer.ExecContext(ctx, "INSERT INTO visits (pod) VALUES (?)", hostname)
		if err != nil {
			http.Error(w, "insert: "+err.Error(), http.StatusBadGateway)
			return
		}
		id, _ := res.LastInsertId()
		var count int64
		var server, cipher string
		if err := writer.QueryRowContext(ctx, "SELECT COUNT(*), @@hostname FROM visits").Scan(&count, &server); err != nil {
			http.Error(w, "select: "+err.Error(), http.StatusBadGateway)
			return
		}
		var variable string
		_ = writer.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&variable, &cipher)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"pod": hostname, "wrote": id, "visits": count, "database": server, "dbTLSCipher": cipher})
	})
	addr := env("BIND", "") + ":" + env("PORT", "8080")
	log.Printf("listening on %s", addr)
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
