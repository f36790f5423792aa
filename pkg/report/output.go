package report

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// APIVersion is the version of every report object.
const APIVersion = "imgtrust.dev/v1alpha1"

// Formats for -o: the table and its wide form, and the machine formats.
const (
	FormatTable = ""
	FormatWide  = "wide"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
	// FormatSARIF is SARIF 2.1.0, for code scanning (audit).
	FormatSARIF = "sarif"
	// FormatOpenReports prints the openreports.io Reports audit
	// --write-reports would write.
	FormatOpenReports = "openreports"
)

// ValidateFormat checks an -o value against the formats a command offers.
func ValidateFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	names := ""
	for _, a := range allowed {
		if a == "" {
			continue
		}
		if names != "" {
			names += ", "
		}
		names += a
	}
	return fmt.Errorf("--output %q is not supported: use %s (or leave it out for a table)", format, names)
}

// Encode writes a report object as indented JSON or as YAML.
func Encode(w io.Writer, format string, obj any) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // "helm template X > y" stays readable
		return enc.Encode(obj)
	case FormatYAML:
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("unknown machine format %q", format)
}

// Objects writes Kubernetes objects for kubectl apply -f: YAML documents,
// or with format json one List.
func Objects(w io.Writer, format string, objects []map[string]any) error {
	if format == FormatJSON {
		return Encode(w, FormatJSON, map[string]any{"apiVersion": "v1", "kind": "List", "items": objects})
	}
	for i, obj := range objects {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
