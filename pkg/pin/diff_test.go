package pin

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"two hunks and a missing final newline",
			"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n",
			"a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\nm\nn",
			`--- old
+++ new
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -9,5 +9,6 @@
 i
 j
 k
-l
+L
 m
+n
\ No newline at end of file
`},
		{"from empty", "", "x\n", "--- old\n+++ new\n@@ -0,0 +1 @@\n+x\n"},
		{"to empty", "x\n", "", "--- old\n+++ new\n@@ -1 +0,0 @@\n-x\n"},
		{"insertion in the middle", "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n4.5\n5\n6\n7\n8\n",
			"--- old\n+++ new\n@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+4.5\n 5\n 6\n 7\n"},
		{"changes 6 lines apart share a hunk", "a\n1\n2\n3\n4\n5\n6\nb\n", "A\n1\n2\n3\n4\n5\n6\nB\n",
			"--- old\n+++ new\n@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n"},
		{"final newline added", "x", "x\n", "--- old\n+++ new\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnifiedDiff("old", "new", tt.a, tt.b); got != tt.want {
				t.Errorf("UnifiedDiff():\n got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestUnifiedDiffRoundTrip applies random diffs back and checks that they
// are minimal against a dynamic-programming LCS.
func TestUnifiedDiffRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	text := func() string {
		n := r.Intn(30)
		lines := make([]string, n)
		for i := range lines {
			lines[i] = strconv.Itoa(r.Intn(5)) + "\n"
		}
		s := strings.Join(lines, "")
		if n > 0 && r.Intn(4) == 0 {
			s = strings.TrimSuffix(s, "\n")
		}
		return s
	}
	for i := 0; i < 2000; i++ {
		a, b := text(), text()
		d := UnifiedDiff("a", "b", a, b)
		got, err := applyUnified(a, d)
		if err != nil || got != b {
			t.Fatalf("case %d: applying the diff gave %q, %v; want %q\na=%q\ndiff:\n%s", i, got, err, b, a, d)
		}
		x, y := splitLines(a), splitLines(b)
		edits := 0
		for _, op := range diffLines(x, y) {
			if op.kind != ' ' {
				edits++
			}
		}
		if want := len(x) + len(y) - 2*lcs(x, y); edits != want {
			t.Fatalf("case %d: %d edits, want the minimum %d\na=%q\nb=%q", i, edits, want, a, b)
		}
	}
}

func TestUnifiedDiffLargeFallback(t *testing.T) {
	// Entirely different large texts exceed the trace budget and are
	// reported as replaced, which must still apply.
	var a, b strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := UnifiedDiff("a", "b", a.String(), b.String())
	if got, err := applyUnified(a.String(), d); err != nil || got != b.String() {
		t.Fatalf("applying the large diff failed: %v", err)
	}
}

func lcs(x, y []string) int {
	dp := make([][]int, len(x)+1)
	for i := range dp {
		dp[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// applyUnified is a strict patch(1) for the tests: hunks must match exactly
// at the line numbers their headers give.
func applyUnified(a, diff string) (string, error) {
	if diff == "" {
		return a, nil
	}
	src := splitLines(a)
	lines := splitLines(diff)
	var out []string
	at := 0 // next source line
	for i := 2; i < len(lines); {
		oldStart, oldLen, err := oldRange(lines[i])
		if err != nil {
			return "", err
		}
		i++
		from := oldStart - 1
		if oldLen == 0 {
			from = oldStart // the range names the line before
		}
		if from < at || from > len(src) {
			return "", fmt.Errorf("hunk at line %d is out of order", oldStart)
		}
		out = append(out, src[at:from]...)
		at = from
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "@@"); i++ {
			kind, text := lines[i][0], lines[i][1:]
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], `\ No newline`) {
				text = strings.TrimSuffix(text, "\n")
				i++
			}
			switch kind {
			case ' ', '-':
				if at >= len(src) || src[at] != text {
					return "", fmt.Errorf("source line %d does not match %q", at+1, text)
				}
				if kind == ' ' {
					out = append(out, text)
				}
				at++
			case '+':
				out = append(out, text)
			default:
				return "", fmt.Errorf("bad diff line %q", lines[i])
			}
		}
	}
	out = append(out, src[at:]...)
	return strings.Join(out, ""), nil
}

// oldRange reads "-start[,count]" from a hunk header.
func oldRange(header string) (start, count int, err error) {
	fields := strings.Fields(header)
	if len(fields) < 4 || fields[0] != "@@" || !strings.HasPrefix(fields[1], "-") {
		return 0, 0, fmt.Errorf("bad hunk header %q", header)
	}
	startStr, countStr, hasCount := strings.Cut(fields[1][1:], ",")
	if start, err = strconv.Atoi(startStr); err != nil {
		return 0, 0, err
	}
	count = 1
	if hasCount {
		count, err = strconv.Atoi(countStr)
	}
	return start, count, err
}
