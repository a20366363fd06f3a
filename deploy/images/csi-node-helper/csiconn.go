package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// dialCSI opens a lazy gRPC client to the driver's unix socket. It uses grpc
// directly rather than csi-lib-utils/connection, which would pull
// component-base and OpenTelemetry into the module for two Identity calls.
func dialCSI(address string) (*grpc.ClientConn, error) {
	target := address
	if !strings.HasPrefix(target, "unix:") {
		target = "unix://" + address
	}
	// The driver's socket appears (and reappears after a restart) on its own
	// schedule; grpc's default reconnect backoff grows to 2 minutes, which would
	// leave registration and health checks failing long after the driver is back.
	return grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}))
}

// driverName is GetPluginInfo's name; empty is an error (the CSI spec requires one).
func driverName(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	rsp, err := csi.NewIdentityClient(conn).GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil {
		return "", err
	}
	if rsp.GetName() == "" {
		return "", errors.New("driver returned an empty name from GetPluginInfo")
	}
	return rsp.GetName(), nil
}

// probe is CSI Probe: an unset ready field means ready (CSI spec, Probe).
func probe(ctx context.Context, conn *grpc.ClientConn) (bool, error) {
	rsp, err := csi.NewIdentityClient(conn).Probe(ctx, &csi.ProbeRequest{})
	if err != nil {
		return false, fmt.Errorf("probe: %w", err)
	}
	if rsp.GetReady() == nil {
		return true, nil
	}
	return rsp.GetReady().GetValue(), nil
}
