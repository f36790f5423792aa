//go:build unix

package manifest

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives the new file the old one's owner and group; without the
// right to (not root, another owner), the new file keeps ours.
func keepOwner(f *os.File, old fs.FileInfo) {
	if st, ok := old.Sys().(*syscall.Stat_t); ok {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}
