//go:build !linux

package sqlite

import "errors"

// fileEvents is not available on this system: watchers poll at their fast
// interval (with PRAGMA data_version, see ChangeProbe).
func fileEvents(string) (<-chan struct{}, func() error, error) {
	return nil, nil, errors.New("sqlite: no file change events on this system")
}
