// Command acmesolver answers one ACME HTTP-01 challenge: the program cert-manager starts in its
// solver pods (image webstack.local/acmesolver), on cert-manager's public solver package. Like
// ../main.go it is our own small entry point, since cert-manager's cmd/acmesolver module is not
// served by the Go module proxy; it takes the arguments cert-manager gives its solver pods.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

func main() {
	s := &solver.HTTP01Solver{}
	flag.IntVar(&s.ListenPort, "listen-port", 8089, "port to serve the challenge on")
	flag.StringVar(&s.Domain, "domain", "", "the DNS name being validated")
	flag.StringVar(&s.Token, "token", "", "the challenge token")
	flag.StringVar(&s.Key, "key", "", "the key authorization to answer with")
	flag.Parse()

	logf.InitLogs()
	defer logf.FlushLogs()
	if err := s.Listen(logf.Log.WithName("acmesolver")); err != nil {
		fmt.Fprintln(os.Stderr, "acmesolver:", err)
		os.Exit(1)
	}
}
