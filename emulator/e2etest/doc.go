// Package e2etest drives the real mcs-emulator binary over real SSH on
// loopback: restarts, kill -9, the OpenSSH client, both client styles of
// mcs-cli.md §12, fault injection through the control API, and the SSH
// latency/memory benchmarks. It has no non-test code.
package e2etest
