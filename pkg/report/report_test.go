package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	digestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./pkg/report -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func usage(name string, t workload.ContainerType, image string, policy corev1.PullPolicy, running ...imageref.RunningImage) workload.Usage {
	return workload.Usage{
		ContainerSpec: workload.ContainerSpec{Name: name, Type: t, Image: image, PullPolicy: policy},
		Running:       running,
	}
}

func runningManifest(repo, d string) imageref.RunningImage {
	return imageref.RunningImage{ImageID: repo + "@" + d, Digest: d, Kind: imageref.KindManifest}
}

// manifestType is what a registry says a single-platform image is.
const manifestType = "application/vnd.docker.distribution.manifest.v2+json"

// sampleReport is a small report that touches every column: init and
// ephemeral containers, mixed running digests, a config-only imageID, a
// clean pinned image, an invalid reference and an object without namespace.
func sampleReport(t *testing.T, online bool) audit.Report {
	t.Helper()
	workloads := []workload.Workload{
		{
			Object: workload.Object{Kind: "Pod", Name: "scratch"},
			Containers: []workload.Usage{
				usage("bad", workload.Container, "Registry.Example.com/UPPER:1", ""),
			},
		},
		{
			Object: workload.Object{Kind: "CronJob", Namespace: "ops", Name: "nightly"},
			Containers: []workload.Usage{
				usage("backup", workload.Container, "ghcr.io/acme/backup:2@"+digestA, ""),
			},
		},
		{
			Object: workload.Object{Kind: "Deployment", Namespace: "shop", Name: "web"},
			Pods:   3,
			Containers: []workload.Usage{
				usage("migrate", workload.InitContainer, "ghcr.io/acme/migrate:1.0", "",
					runningManifest("ghcr.io/acme/migrate", digestA)),
				usage("web", workload.Container, "nginx", "",
					runningManifest("docker.io/library/nginx", digestB),
					runningManifest("docker.io/library/nginx", digestA),
					imageref.RunningImage{ImageID: digestC, Digest: digestC, Kind: imageref.KindConfig}),
				usage("debugger", workload.EphemeralContainer, "busybox@"+digestA, corev1.PullIfNotPresent,
					runningManifest("docker.io/library/busybox", digestB)),
			},
		},
	}
	items := audit.Evaluate(workloads, audit.Options{})
	if online {
		for i := range items {
			switch items[i].Container {
			case "migrate":
				audit.ApplyResolution(&items[i], registry.Result{Digest: digestC, MediaType: manifestType, CredentialSource: "pod-secret shop/regcred"}, true)
			case "web":
				// A single manifest (no index): the mix is proven.
				audit.ApplyResolution(&items[i], registry.Result{Digest: digestA, MediaType: manifestType, CredentialSource: "anonymous"}, true)
			}
		}
	}
	var warnings []string
	if online {
		warnings = []string{`cannot list secrets in namespace "ops": forbidden by RBAC`}
	}
	return audit.NewReport(APIVersion, items, online, warnings)
}

// checkTableShape checks what every table must look like: uppercase
// headers, no borders, no trailing blanks, and each column starting at the
// same offset on every line (no cell here is empty).
func checkTableShape(t *testing.T, out string, headers []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("table does not end with a newline: %q", out)
	}
	header := lines[0]
	var starts []int
	from := 0
	for _, h := range headers {
		i := strings.Index(header[from:], strings.ToUpper(h))
		if i < 0 {
			t.Fatalf("header line %q lacks %q in order", header, strings.ToUpper(h))
		}
		starts = append(starts, from+i)
		from += i + len(h)
	}
	if starts[0] != 0 {
		t.Errorf("header line %q is indented", header)
	}
	for n, text := range lines {
		// Columns align on the screen: count characters, not bytes (an
		// abbreviated digest ends in "…").
		line := []rune(text)
		if strings.TrimRight(text, " \t") != text {
			t.Errorf("line %d has trailing blanks: %q", n, text)
		}
		if strings.ContainsAny(text, "|│─┼") || strings.HasPrefix(text, "+") {
			t.Errorf("line %d has border characters: %q", n, text)
		}
		for c, s := range starts[1:] {
			if len(line) <= s || line[s-1] != ' ' || line[s] == ' ' {
				t.Errorf("line %d: column %d (%s) does not start at offset %d: %q", n, c+1, headers[c+1], s, text)
			}
		}
	}
}

func TestTable(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		rows    [][]string
		want    string
	}{
		{
			name:    "headers uppercased, columns three blanks apart",
			headers: []string{"name", "image"},
			rows:    [][]string{{"web", "nginx:1.27"}, {"database-primary", "postgres:16"}},
			want: "NAME               IMAGE\n" +
				"web                nginx:1.27\n" +
				"database-primary   postgres:16\n",
		},
		{
			name:    "empty last cell leaves no trailing blanks",
			headers: []string{"a", "b", "c"},
			rows:    [][]string{{"1", "2", ""}, {"10", "", "30"}},
			want: "A    B   C\n" +
				"1    2\n" +
				"10       30\n",
		},
		{
			name:    "headers only",
			headers: []string{"namespace", "workload"},
			want:    "NAMESPACE   WORKLOAD\n",
		},
		{
			name:    "long cells are not wrapped",
			headers: []string{"image"},
			rows:    [][]string{{strings.Repeat("x", 50) + "/" + strings.Repeat("y", 60) + ":tag@" + digestA}},
			want:    "IMAGE\n" + strings.Repeat("x", 50) + "/" + strings.Repeat("y", 60) + ":tag@" + digestA + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Table(&b, tt.headers, tt.rows); err != nil {
				t.Fatalf("Table() err = %v", err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("Table() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestAuditTable(t *testing.T) {
	tests := []struct {
		golden  string
		online  bool
		wide    bool
		headers []string
	}{
		{"audit_table.golden", false, false, []string{"namespace", "workload", "container", "image", "pinning", "findings"}},
		{"audit_table_wide.golden", false, true, []string{"namespace", "workload", "container", "image", "pinning", "findings", "registry", "pods", "running"}},
		{"audit_table_wide_online.golden", true, true, []string{"namespace", "workload", "container", "image", "pinning", "findings", "registry", "pods", "running", "resolved", "credentials"}},
		// Without -o wide the online columns stay hidden.
		{"audit_table_online.golden", true, false, []string{"namespace", "workload", "container", "image", "pinning", "findings"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := AuditTable(&b, sampleReport(t, tt.online), tt.wide); err != nil {
				t.Fatalf("AuditTable() err = %v", err)
			}
			out := b.String()
			checkTableShape(t, out, tt.headers)
			if got, want := strings.Count(out, "\n"), 1+5; got != want {
				t.Errorf("AuditTable() printed %d lines, want %d (header + one per item)", got, want)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}

func TestAuditTableCells(t *testing.T) {
	var b bytes.Buffer
	if err := AuditTable(&b, sampleReport(t, true), true); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n")[1:] {
		f := strings.Fields(line)
		rows[f[2]] = f
	}
	tests := []struct {
		container string
		col       int
		want      string
	}{
		{"init:migrate", 0, "shop"},
		{"init:migrate", 1, "deployment/web"},
		{"init:migrate", 10, "pod-secret"}, // "pod-secret shop/regcred" is two words
		{"ephemeral:debugger", 4, "digest"},
		{"ephemeral:debugger", 9, "-"}, // a digest is not resolved
		// The tag resolves to a digest one pod runs: no tag-moved.
		{"web", 5, "implicit-latest,implicit-registry,mixed-running-digests"},
		{"init:migrate", 5, "mutable-tag,pull-policy-stale-risk,tag-moved"},
		{"web", 6, "index.docker.io"},
		{"web", 7, "3"},
		{"web", 8, "sha256:aaaaaaaaaaaa,sha256:bbbbbbbbbbbb,id:sha256:cccccccccccc"},
		{"web", 9, "sha256:aaaaaaaaaaaa"},
		{"backup", 5, "-"},
		{"backup", 8, "-"},
		{"bad", 0, "-"},
		{"bad", 4, "invalid"},
		{"bad", 6, "-"},
	}
	for _, tt := range tests {
		row, ok := rows[tt.container]
		if !ok {
			t.Errorf("no row for container %q in\n%s", tt.container, b.String())
			continue
		}
		if tt.col >= len(row) || row[tt.col] != tt.want {
			t.Errorf("container %s column %d = %q, want %q (row %q)", tt.container, tt.col, at(row, tt.col), tt.want, row)
		}
	}
}

func at(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return "(missing)"
}

func TestAuditSummary(t *testing.T) {
	for _, online := range []bool{false, true} {
		name := "audit_summary_offline.golden"
		if online {
			name = "audit_summary_online.golden"
		}
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			r := sampleReport(t, online)
			AuditSummary(&b, r)
			out := b.String()
			// One fix line per finding ID, worst first.
			for _, id := range r.FindingIDs() {
				if !strings.Contains(out, "  "+id+" ") {
					t.Errorf("summary lacks a line for %s:\n%s", id, out)
				}
			}
			for n, line := range strings.Split(out, "\n") {
				if strings.TrimRight(line, " ") != line {
					t.Errorf("summary line %d has trailing blanks: %q", n, line)
				}
			}
			golden(t, name, b.Bytes())
		})
	}
}

func TestValidateFormat(t *testing.T) {
	allowed := []string{FormatTable, FormatWide, FormatJSON, FormatYAML}
	tests := []struct {
		format  string
		wantErr string
	}{
		{"", ""}, {"wide", ""}, {"json", ""}, {"yaml", ""},
		{"xml", `--output "xml" is not supported: use wide, json, yaml (or leave it out for a table)`},
		{"JSON", `--output "JSON" is not supported`},
	}
	for _, tt := range tests {
		err := ValidateFormat(tt.format, allowed...)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateFormat(%q) = %v, want nil", tt.format, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateFormat(%q) = %v, want an error containing %q", tt.format, err, tt.wantErr)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatYAML} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Encode(&b, format, sampleReport(t, true)); err != nil {
				t.Fatalf("Encode(%s) err = %v", format, err)
			}
			golden(t, "audit_report."+format+".golden", b.Bytes())
		})
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestEncodeFieldNames pins the field names scripts read, in both formats,
// and checks the output decodes back into the same report.
func TestEncodeFieldNames(t *testing.T) {
	report := sampleReport(t, false)
	want, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatJSON, FormatYAML} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Encode(&b, format, report); err != nil {
				t.Fatalf("Encode(%s) err = %v", format, err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil { // YAML is a superset of JSON
				t.Fatalf("decoding %s: %v\n%s", format, err, b.String())
			}
			if got, want := keys(doc), []string{"apiVersion", "items", "kind", "summary"}; !reflect.DeepEqual(got, want) {
				t.Errorf("top-level keys = %q, want %q", got, want)
			}
			if doc["apiVersion"] != "imgtrust.dev/v1alpha1" || doc["kind"] != "AuditReport" {
				t.Errorf("apiVersion, kind = %v, %v; want imgtrust.dev/v1alpha1, AuditReport", doc["apiVersion"], doc["kind"])
			}
			summary := doc["summary"].(map[string]any)
			for _, k := range []string{"images", "workloads", "usages", "findings", "byID", "registry"} {
				if _, ok := summary[k]; !ok {
					t.Errorf("summary lacks %q: %v", k, keys(summary))
				}
			}
			items := doc["items"].([]any)
			if len(items) != 5 {
				t.Fatalf("items = %d, want 5", len(items))
			}
			itemKeys := []string{"namespace", "kind", "name", "container", "containerType", "image", "pods", "runningDigests", "findings"}
			var sawInvalid, sawReference bool
			for _, raw := range items {
				item := raw.(map[string]any)
				for _, k := range itemKeys {
					if _, ok := item[k]; !ok {
						t.Errorf("item %v lacks %q (has %q)", item["container"], k, keys(item))
					}
				}
				if _, ok := item["runningDigests"].([]any); !ok {
					t.Errorf("item %v runningDigests = %#v, want a list (never null)", item["container"], item["runningDigests"])
				}
				findings, ok := item["findings"].([]any)
				if !ok {
					t.Errorf("item %v findings = %#v, want a list (never null)", item["container"], item["findings"])
				}
				for _, f := range findings {
					if got, want := keys(f.(map[string]any)), []string{"fix", "id", "message", "severity"}; !reflect.DeepEqual(got, want) {
						t.Errorf("finding keys = %q, want %q", got, want)
					}
				}
				ref, hasRef := item["reference"]
				if item["pinning"] == string(imageref.PinInvalid) {
					sawInvalid = true
					if hasRef {
						t.Errorf("invalid reference %v has a reference key: %v", item["image"], ref)
					}
					continue
				}
				if !hasRef {
					t.Errorf("item %v lacks \"reference\"", item["container"])
					continue
				}
				sawReference = true
				r := ref.(map[string]any)
				for _, k := range []string{"registry", "repository"} {
					if _, ok := r[k]; !ok {
						t.Errorf("reference of %v lacks %q: %v", item["image"], k, r)
					}
				}
				if item["container"] == "backup" {
					if got, want := keys(r), []string{"digest", "registry", "repository", "tag"}; !reflect.DeepEqual(got, want) {
						t.Errorf("reference keys of a tag@digest image = %q, want %q", got, want)
					}
				}
			}
			if !sawInvalid || !sawReference {
				t.Errorf("sample lacks an invalid (%v) or a valid (%v) reference", sawInvalid, sawReference)
			}
			if got := doc["items"].([]any)[4].(map[string]any)["containerType"]; got != "ephemeralContainer" {
				t.Errorf("last item containerType = %v, want ephemeralContainer", got)
			}

			// Round trip: decoding into the typed report and encoding again
			// gives the same document.
			var back audit.Report
			if err := yaml.Unmarshal(b.Bytes(), &back); err != nil {
				t.Fatalf("decoding %s into audit.Report: %v", format, err)
			}
			got, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s round trip changed the report:\ngot  %s\nwant %s", format, got, want)
			}
		})
	}
}

func TestEncodeUnknownFormat(t *testing.T) {
	var b bytes.Buffer
	err := Encode(&b, "table", audit.NewReport(APIVersion, nil, false, nil))
	if err == nil || !strings.Contains(err.Error(), `unknown machine format "table"`) {
		t.Errorf("Encode(table) err = %v, want unknown machine format", err)
	}
	if b.Len() != 0 {
		t.Errorf("Encode(table) wrote %q, want nothing", b.String())
	}
}

func TestEncodeEmptyReport(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, FormatJSON, audit.NewReport(APIVersion, nil, false, nil)); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if items, ok := doc["items"].([]any); !ok || len(items) != 0 {
		t.Errorf("items of an empty report = %#v, want []", doc["items"])
	}
	if !slices.Contains(keys(doc), "summary") {
		t.Errorf("empty report lacks a summary: %s", b.String())
	}
}

func TestNoHeadersAndShortImage(t *testing.T) {
	var b strings.Builder
	if err := Table(NoHeaders(&b), []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "1   2\n3   4\n" {
		t.Errorf("--no-headers: %q", b.String())
	}
	d := "sha256:46512d65" + strings.Repeat("0", 56)
	for in, want := range map[string]string{
		"nginx:1.27@" + d:     "nginx:1.27@sha256:46512d65…",
		"nginx:1.27":          "nginx:1.27",
		"nginx@sha256:short":  "nginx@sha256:short",
		"r.io/a/b:1@" + d[:9]: "r.io/a/b:1@" + d[:9],
	} {
		if got := ShortImage(in); got != want {
			t.Errorf("ShortImage(%q) = %q, want %q", in, got, want)
		}
	}
}

// -o wide's SIGNED BY names a keyless signer by its certificate's subject.
func TestSignedByKeyless(t *testing.T) {
	it := audit.Item{Signature: &signature.Result{Status: signature.StatusVerified, VerifiedBy: []signature.Signer{
		{Kind: "keyless", Subject: "https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com"},
	}}}
	if got := signedBy(it); got != "https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main" {
		t.Errorf("signedBy() = %q, want the certificate's subject", got)
	}
}

// An image volume is no container: the CONTAINER column says volume/NAME.
func TestAuditTableImageVolume(t *testing.T) {
	w := workload.Workload{
		Object:     workload.Object{Kind: "Deployment", Namespace: "shop", Name: "web"},
		Containers: []workload.Usage{usage("data", workload.ImageVolume, "ghcr.io/acme/data:1", "")},
	}
	var b bytes.Buffer
	if err := AuditTable(&b, audit.NewReport("imgtrust.dev/v1alpha1", audit.Evaluate([]workload.Workload{w}, audit.Options{}), false, nil), true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || strings.Fields(lines[1])[2] != "volume/data" {
		t.Errorf("table:\n%s\nwant one row for volume/data", b.String())
	}
}
