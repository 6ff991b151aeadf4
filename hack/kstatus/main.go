// Command kstatus prints what sigs.k8s.io/cli-utils/pkg/kstatus (the library Flux and kpt use to
// wait for resources) computes for one object read from stdin, as JSON or YAML:
//
//	{"status":"Failed","message":"..."}
//
// The unit tests feed it the WebStack status the operator computes, so "kstatus says Failed" is
// checked against the library itself rather than a reading of its rules.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	// YAMLToJSON passes JSON through unchanged (JSON is YAML).
	doc, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return fmt.Errorf("parsing the object: %w", err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(doc); err != nil {
		return fmt.Errorf("reading the object: %w", err)
	}
	res, err := status.Compute(obj)
	if err != nil {
		return fmt.Errorf("computing the status: %w", err)
	}
	return json.NewEncoder(out).Encode(result{Status: res.Status.String(), Message: res.Message})
}
