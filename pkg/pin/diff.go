package pin

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines around each hunk, as diff -u.
const diffContext = 3

// maxDiffTrace bounds the memory of the Myers search; past it the middle of
// the texts is reported as replaced wholesale, still a correct diff.
const maxDiffTrace = 1 << 22

// UnifiedDiff returns the unified diff (diff -u format) turning a into b,
// with oldName and newName in the --- and +++ headers, or "" when the texts
// are equal.
func UnifiedDiff(oldName, newName, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	ops := diffLines(x, y)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range hunks(ops) {
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(h.x0, h.x1), hunkRange(h.y0, h.y1))
		for _, op := range ops[h.first:h.last] {
			switch op.kind {
			case ' ':
				writeLine(&out, ' ', x[op.x])
			case '-':
				writeLine(&out, '-', x[op.x])
			case '+':
				writeLine(&out, '+', y[op.y])
			}
		}
	}
	return out.String()
}

// splitLines splits s after each "\n"; a last line without one keeps none,
// so that adding a final newline shows in the diff.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeLine(out *strings.Builder, prefix byte, line string) {
	out.WriteByte(prefix)
	out.WriteString(line)
	if !strings.HasSuffix(line, "\n") {
		out.WriteString("\n\\ No newline at end of file\n")
	}
}

// diffOp is one line of an edit script: ' ' keeps x[x] (= y[y]), '-'
// deletes x[x], '+' inserts y[y].
type diffOp struct {
	kind byte
	x, y int
}

// diffLines returns a shortest edit script from x to y (Myers, 1986), with
// the common prefix and suffix trimmed first since edits are usually few.
func diffLines(x, y []string) []diffOp {
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	var ops []diffOp
	for i := 0; i < pre; i++ {
		ops = append(ops, diffOp{' ', i, i})
	}
	for _, op := range myers(x[pre:len(x)-suf], y[pre:len(y)-suf]) {
		ops = append(ops, diffOp{op.kind, op.x + pre, op.y + pre})
	}
	for i := suf; i > 0; i-- {
		ops = append(ops, diffOp{' ', len(x) - i, len(y) - i})
	}
	return ops
}

// myers finds a shortest edit script with the greedy forward search, keeping
// each round's furthest-reaching points to walk the path back.
func myers(x, y []string) []diffOp {
	n, m := len(x), len(y)
	limit := n + m
	offset := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int
	traced := 0
	for d := 0; d <= limit; d++ {
		snapshot := make([]int, len(v))
		copy(snapshot, v)
		trace = append(trace, snapshot)
		traced += len(v)
		if traced > maxDiffTrace {
			return replaceAll(n, m)
		}
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				i = v[offset+k+1] // down: insert
			} else {
				i = v[offset+k-1] + 1 // right: delete
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i, j = i+1, j+1
			}
			v[offset+k] = i
			if i >= n && j >= m {
				return backtrack(trace, offset, d, n, m)
			}
		}
	}
	return replaceAll(n, m)
}

// backtrack walks the trace from (n, m) back to (0, 0).
func backtrack(trace [][]int, offset, d, n, m int) []diffOp {
	var rev []diffOp
	i, j := n, m
	for ; d > 0; d-- {
		v := trace[d]
		k := i - j
		var prevK int
		if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevI := v[offset+prevK]
		prevJ := prevI - prevK
		for i > prevI && j > prevJ {
			i, j = i-1, j-1
			rev = append(rev, diffOp{' ', i, j})
		}
		if prevK == k+1 {
			j--
			rev = append(rev, diffOp{'+', i, j})
		} else {
			i--
			rev = append(rev, diffOp{'-', i, j})
		}
	}
	for i > 0 && j > 0 {
		i, j = i-1, j-1
		rev = append(rev, diffOp{' ', i, j})
	}
	ops := make([]diffOp, len(rev))
	for a := range rev {
		ops[a] = rev[len(rev)-1-a]
	}
	return ops
}

// replaceAll deletes all of x and inserts all of y.
func replaceAll(n, m int) []diffOp {
	ops := make([]diffOp, 0, n+m)
	for i := 0; i < n; i++ {
		ops = append(ops, diffOp{'-', i, 0})
	}
	for j := 0; j < m; j++ {
		ops = append(ops, diffOp{'+', 0, j})
	}
	return ops
}

// hunk is a run of ops[first:last] covering x[x0:x1] and y[y0:y1].
type hunk struct {
	first, last    int
	x0, x1, y0, y1 int
}

// hunks groups changes with diffContext lines around them, merging groups
// whose context would touch or overlap.
func hunks(ops []diffOp) []hunk {
	var out []hunk
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		first := max(0, i-diffContext) // hunks are more than 2*diffContext apart
		// Extend over changes separated by at most 2*diffContext kept lines.
		last := i
		for last < len(ops) {
			for last < len(ops) && ops[last].kind != ' ' {
				last++
			}
			run := 0
			for last+run < len(ops) && ops[last+run].kind == ' ' {
				run++
			}
			if last+run == len(ops) || run > 2*diffContext {
				last += min(run, diffContext)
				break
			}
			last += run
		}
		out = append(out, hunkOf(ops, first, last))
		i = last
	}
	return out
}

// hunkOf computes the line ranges a run of ops covers.
func hunkOf(ops []diffOp, first, last int) hunk {
	h := hunk{first: first, last: last}
	// Ranges start where the first op sits in each text.
	h.x0, h.y0 = startOf(ops, first)
	h.x1, h.y1 = h.x0, h.y0
	for _, op := range ops[first:last] {
		switch op.kind {
		case ' ':
			h.x1++
			h.y1++
		case '-':
			h.x1++
		case '+':
			h.y1++
		}
	}
	return h
}

// startOf is the position in x and y before ops[i] applies.
func startOf(ops []diffOp, i int) (x, y int) {
	for _, op := range ops[:i] {
		switch op.kind {
		case ' ':
			x++
			y++
		case '-':
			x++
		case '+':
			y++
		}
	}
	return x, y
}

// hunkRange formats a range as diff -u does: "start,count" with 1-based
// start, "start" alone for one line, and the line before for none.
func hunkRange(from, to int) string {
	switch count := to - from; count {
	case 0:
		return fmt.Sprintf("%d,0", from)
	case 1:
		return fmt.Sprintf("%d", from+1)
	default:
		return fmt.Sprintf("%d,%d", from+1, count)
	}
}
