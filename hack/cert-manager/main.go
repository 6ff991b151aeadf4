// Command cert-manager-controller runs cert-manager's own certificate controllers (issuing, key and
// request management, readiness, the CA, self-signed and ACME issuers, approval) from its
// released Go module, for the e2e tests on the real nodes: certificates issued by the real
// cert-manager code, not by hack/fake-cloud.ts. cert-manager's cmd/controller module is not served
// by the Go module proxy, so this is our own small entry point on its public pkg/controller API;
// there is no leader election, metrics or webhook (one process per test run, on this host).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	// Each package registers its controller (or issuer type) with pkg/controller in init.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster (default: in-cluster or $KUBECONFIG)")
	namespace := flag.String("namespace", "", "only this namespace's Issuers and Certificates (default: all namespaces)")
	clusterResources := flag.String("cluster-resource-namespace", "cert-manager", "where ClusterIssuers keep their Secrets")
	workers := flag.Int("workers", 5, "workers per controller")
	var acme controller.ACMEOptions
	flag.StringVar(&acme.HTTP01SolverImage, "acme-http01-solver-image", "webstack.local/acmesolver:1.0", "image of the ACME HTTP-01 solver pods (hack/cert-manager/acmesolver)")
	nameservers := flag.String("acme-http01-solver-nameservers", "", "host:port of the DNS server for the HTTP-01 self check, comma separated (default: the system's)")
	klog.InitFlags(flag.CommandLine) // --v, --logtostderr: cert-manager logs through klog
	flag.Parse()

	logf.InitLogs()
	defer logf.FlushLogs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")

	if *nameservers != "" {
		acme.HTTP01SolverNameservers = strings.Split(*nameservers, ",")
	}
	// cert-manager's own defaults for the solver pods; its solver image runs as a non-root user.
	acme.HTTP01SolverResourceRequestCPU = resource.MustParse("10m")
	acme.HTTP01SolverResourceRequestMemory = resource.MustParse("64Mi")
	acme.HTTP01SolverResourceLimitsCPU = resource.MustParse("100m")
	acme.HTTP01SolverResourceLimitsMemory = resource.MustParse("64Mi")
	acme.ACMEHTTP01SolverRunAsNonRoot = true
	if err := run(ctx, *kubeconfig, *namespace, *clusterResources, *workers, acme); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, namespace, clusterResources string, workers int, acme controller.ACMEOptions) error {
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         kubeconfig,
		Namespace:          namespace,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: clusterResources},
		SchedulerOptions:   controller.SchedulerOptions{MaxConcurrentChallenges: 60},
		ACMEOptions:        acme,
	})
	if err != nil {
		return err
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}

	names := make([]string, 0, len(controller.Known()))
	for name := range controller.Known() {
		// A namespaced controller cannot watch ClusterIssuers (a cluster-scoped kind).
		if namespace != "" && strings.HasPrefix(name, "clusterissuers") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	logf.Log.Info("starting", "controllers", names, "namespace", namespace)

	// Controllers register their informers when built, so every one is built before the shared
	// informer factories start.
	var running sync.WaitGroup
	errs := make(chan error, len(names))
	for _, name := range names {
		c, err := controller.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("building controller %s: %w", name, err)
		}
		running.Add(1)
		go func() {
			defer running.Done()
			if err := c.Run(workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", name, err)
			}
		}()
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	select {
	case <-ctx.Done():
		running.Wait()
		return nil
	case err := <-errs:
		return err
	}
}
