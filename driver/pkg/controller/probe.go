package controller

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// probeTimeout bounds one array check; Probe runs often (liveness).
const probeTimeout = 10 * time.Second

// Probe reports whether every configured array answers lssystem.
func (s *Server) Probe(ctx context.Context) error {
	var errs []error
	for _, name := range s.storageNames() {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := s.arrays[name].Client.LsSystem(pctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("storage %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
