// Command mysqld-exporter-compat lets Debian's mysqld_exporter 0.14 (the one these machines have)
// take the command line of the upstream image the operator renders for (0.15 and later):
// --mysqld.address, --mysqld.username and the password in MYSQLD_EXPORTER_PASSWORD become the
// DATA_SOURCE_NAME that 0.14 reads; --tls.insecure-skip-verify becomes the DSN's tls=skip-verify.
// Every other flag is passed on unchanged.
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

const exporter = "/usr/bin/prometheus-mysqld-exporter"

func main() {
	address, user, tls := "127.0.0.1:3306", "", "false"
	args := []string{exporter}
	for _, arg := range os.Args[1:] {
		switch {
		case strings.HasPrefix(arg, "--mysqld.address="):
			address = strings.TrimPrefix(arg, "--mysqld.address=")
		case strings.HasPrefix(arg, "--mysqld.username="):
			user = strings.TrimPrefix(arg, "--mysqld.username=")
		case arg == "--tls.insecure-skip-verify":
			tls = "skip-verify"
		default:
			args = append(args, arg)
		}
	}
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/?tls=%s", user, os.Getenv("MYSQLD_EXPORTER_PASSWORD"), address, tls)
	env := append(os.Environ(), "DATA_SOURCE_NAME="+dsn)
	if err := syscall.Exec(exporter, args, env); err != nil {
		fmt.Fprintln(os.Stderr, "mysqld-exporter-compat:", err)
		os.Exit(1)
	}
}
