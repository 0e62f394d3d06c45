//go:build !unix

package redisproc

import "errors"

// Pause is not supported on this platform.
func (s *Server) Pause() error { return errors.New("redisproc: Pause needs a unix system") }

// Resume is not supported on this platform.
func (s *Server) Resume() error { return errors.New("redisproc: Resume needs a unix system") }
