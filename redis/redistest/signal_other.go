//go:build !unix

package redistest

import "errors"

// Pause is not supported on this platform.
func (s *Server) Pause() error { return errors.New("redistest: Pause needs a unix system") }

// Resume is not supported on this platform.
func (s *Server) Resume() error { return errors.New("redistest: Resume needs a unix system") }
