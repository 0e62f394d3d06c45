package sqlite

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
)

// fileEvents returns a channel that receives (coalesced: a buffer of one)
// when the database file at path or its -wal file is written, created or
// renamed into place, by any process, and stop, which ends it. The channel
// is closed when watching fails after the start.
//
// NOTE: on Linux, inotify on the file's directory: a commit in WAL mode
// appends to the -wal file with write(2), which inotify reports; a
// checkpoint writes the file itself. Watching the directory, not the
// files, survives their being removed and made again. Reads go through
// the runtime's poller: no thread waits on them.
func fileEvents(path string) (events <-chan struct{}, stop func() error, err error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, nil, os.NewSyscallError("inotify_init1", err)
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MODIFY|syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return nil, nil, os.NewSyscallError("inotify_add_watch", err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		buf := make([]byte, 64*(syscall.SizeofInotifyEvent+syscall.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			hit := false
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				mask := binary.NativeEndian.Uint32(buf[off+4:])
				l := int(binary.NativeEndian.Uint32(buf[off+12:]))
				name := buf[off+syscall.SizeofInotifyEvent : min(n, off+syscall.SizeofInotifyEvent+l)]
				for len(name) > 0 && name[len(name)-1] == 0 {
					name = name[:len(name)-1]
				}
				if s := string(name); s == base || s == base+"-wal" || mask&syscall.IN_Q_OVERFLOW != 0 {
					hit = true
				}
				off += syscall.SizeofInotifyEvent + l
			}
			if hit {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, f.Close, nil
}
